"""拨打记录: list in scope, dispositions (不要再打 → DNC), recordings (permission-checked, audited), DNC list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from litestar.exceptions import NotFoundException

from core import do_not_contact
from core.audit.log import record
from core.customers.phones import InvalidPhone, normalise
from core.db import write_tx
from core.perms.actor import Actor
from core.perms.scope import scope_where, where_all
from plugins.dialer import files
from plugins.dialer.errors import DialerInputError
from plugins.dialer.followups import followup_for_call
from plugins.dialer.schemas import CallOut, DispositionIn
from plugins.dialer.tables import Call, Dnc

READ = "dialer:read"
LISTEN = "dialer:listen"
DISPOSITIONS = ("意向", "无意向", "不要再打", "空号", "回拨", "已成交", "其他")
DO_NOT_CALL = "不要再打"


def out_of(r: dict[str, Any]) -> CallOut:
    return CallOut(
        id=r["id"], kind=r["kind"], call_type=r["call_type"], campaign_id=r["campaign"], user_id=r["user"],
        customer_id=r["customer"], contact_id=r["contact"], number=r["number"], caller_number=r["caller_number"],
        device_name=r["device_name"], slot=r["slot"], iccid=r["iccid"],
        state="已接" if r["answered"] else ("未接" if r["end_at"] else "通话中"), answered=r["answered"],
        cause=r["cause"], dial_at=r["dial_at"], answer_at=r["answer_at"], end_at=r["end_at"], ring_s=r["ring_s"],
        talk_s=r["talk_s"], total_s=r["total_s"], listened_s=r["listened_s"], taken_over=r["taken_over"],
        abandoned=r["abandoned"], effective=r["effective"], disposition=r["disposition"], note=r["note"],
        next_contact=r["next_contact"], has_recording=bool(r["recording_file"]), followup_id=r["followup"])


async def where(actor: Actor, permission: str = READ) -> Any:
    return await scope_where(actor, permission, owner=Call.user, department=Call.department)


async def list_calls(actor: Actor, *, campaign_id: int | None = None, customer_id: int | None = None,
                     number: str = "", answered: bool | None = None, limit: int = 100,
                     before_id: int | None = None) -> list[CallOut]:
    clauses = [await where(actor)]
    if campaign_id is not None:
        clauses.append(Call.campaign == campaign_id)
    if customer_id is not None:
        clauses.append(Call.customer == customer_id)
    if number:
        try:
            clauses.append(Call.number == normalise(number))
        except InvalidPhone as exc:
            raise DialerInputError("号码无效", str(exc)) from exc
    if answered is not None:
        clauses.append(Call.answered == answered)
    if before_id is not None:
        clauses.append(Call.id < before_id)
    clause = where_all(*clauses)
    q = Call.select().order_by(Call.id, ascending=False).limit(min(max(limit, 1), 500))
    return [out_of(r) for r in await (q.where(clause) if clause is not None else q)]


async def get_row(actor: Actor, call_id: int, permission: str = READ) -> dict[str, Any]:
    row = await Call.select().where(where_all(Call.id == call_id, await where(actor, permission))).first()
    if row is None:
        raise NotFoundException("拨打记录不存在 / call record not found")
    return row


async def add_dnc(actor: Actor | None, e164s: list[str], source: str, reason: str = "") -> int:
    added: list[str] = []
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        for e164 in dict.fromkeys(e164s):
            if await Dnc.exists().where(Dnc.e164 == e164):
                continue
            await Dnc.insert(Dnc(e164=e164, source=source, reason=reason[:500],
                                 added_by=actor.user_id if actor else None, created_at=now))
            added.append(e164)
        if added:
            await record(actor, "create", "dialer_dnc", "", meta={"count": len(added), "source": source})
    await do_not_contact.announce(added, f"dialer:{source}")
    return len(added)


def normalise_all(raw: list[str]) -> list[str]:
    out, bad = [], []
    for r in raw:
        try:
            out.append(normalise(r))
        except InvalidPhone:
            bad.append(r)
    if bad:
        raise DialerInputError(f"无效号码：{', '.join(bad[:5])}", f"invalid numbers: {', '.join(bad[:5])}")
    return out


async def dispose(actor: Actor, call_id: int, data: DispositionIn) -> CallOut:
    row = await get_row(actor, call_id)
    if data.disposition not in DISPOSITIONS:
        raise DialerInputError(f"处理结果须为 {'、'.join(DISPOSITIONS)} 之一",
                               f"disposition must be one of {', '.join(DISPOSITIONS)}")
    async with write_tx():
        await Call.update({Call.disposition: data.disposition, Call.note: data.note,
                           Call.next_contact: data.next_contact}).where(Call.id == call_id)
        await record(actor, "dispose", "dialer_call", call_id,
                     diff={"disposition": [row["disposition"], data.disposition]})
        if data.disposition == DO_NOT_CALL:
            await add_dnc(actor, [row["number"]], "disposition", f"call {call_id}: {data.note}")
    if row["followup"] is None and row["answered"]:
        path = files.calls_dir() / row["recording_file"] if row["recording_file"] else None
        await followup_for_call(call_id, recording=path)
    return out_of(await get_row(actor, call_id))


async def recording_file(actor: Actor, call_id: int, *, download: bool) -> tuple[Path, dict[str, Any]]:
    row = await get_row(actor, call_id, LISTEN)
    if not row["recording_file"]:
        raise NotFoundException("该通话没有录音 / this call has no recording")
    path = files.calls_dir() / row["recording_file"]
    await record(actor, "download" if download else "listen", "dialer_call_recording", call_id,
                 meta={"number": row["number"]})
    return path, row
