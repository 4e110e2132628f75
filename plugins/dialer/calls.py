"""拨打记录: list in scope, dispositions (不要再打 → DNC), recordings (permission-checked, audited), DNC list."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog
from litestar.exceptions import HTTPException, NotFoundException

from core import do_not_contact
from core.audit.log import record
from core.customers.phones import InvalidPhone, normalise
from core.db import write_tx
from core.perms.actor import Actor
from core.perms.scope import scope_where, where_all
from plugins.dialer import recording_store
from plugins.dialer.errors import DialerInputError
from plugins.dialer.followups import followup_for_call
from plugins.dialer.schemas import CallOut, DispositionIn
from plugins.dialer.tables import Call, Dnc

log = structlog.get_logger("dialer.calls")
READ = "dialer:read"
STORE_DOWN = "录音存储暂时无法访问，请稍后再试 / the recording store is unreachable, try again later"
LISTEN = "dialer:listen"
DISPOSITIONS = ("意向", "无意向", "不要再打", "空号", "回拨", "已成交", "其他")
DO_NOT_CALL = "不要再打"
# why an unanswered call ended, as the pages say it (zh-CN msgids; the API keeps the codes)
CAUSES = {"busy": "占线", "no_answer": "无人接听", "rejected": "拒接", "unreachable": "无法接通",
          "network_failure": "网络故障", "box_disconnected": "设备断开", "failed": "呼叫失败",
          "interrupted": "呼叫中断", "unknown": "原因不明", "normal": "正常挂断"}


def out_of(r: dict[str, Any]) -> CallOut:
    return CallOut(
        id=r["id"], kind=r["kind"], call_type=r["call_type"], campaign_id=r["campaign"], user_id=r["user"],
        customer_id=r["customer"], contact_id=r["contact"], number=r["number"], caller_number=r["caller_number"],
        device_name=r["device_name"], slot=r["slot"], iccid=r["iccid"],
        state="已接" if r["answered"] else ("未接" if r["end_at"] else "通话中"), answered=r["answered"],
        cause=r["cause"], dial_at=r["dial_at"], answer_at=r["answer_at"], end_at=r["end_at"], ring_s=r["ring_s"],
        talk_s=r["talk_s"], total_s=r["total_s"], listened_s=r["listened_s"], taken_over=r["taken_over"],
        abandoned=r["abandoned"], effective=r["effective"], disposition=r["disposition"], note=r["note"],
        next_contact=r["next_contact"], followup_id=r["followup"],
        has_recording=bool(r["recording_file"]) and r["recording_purged_at"] is None,
        recording_purged_at=r["recording_purged_at"])


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
        await followup_for_call(call_id)
    return out_of(await get_row(actor, call_id))


class RecordingGone(HTTPException):
    status_code = 410


def purged_text(at: dt.datetime) -> str:
    day = at.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    return f"录音已按保留期限删除（{day}）/ recording deleted under the retention setting ({day})"


@dataclass
class Playback:
    """A permission-checked, audited view of one call's recording: the whole file or one byte range."""

    store: recording_store.RecordingStore
    name: str
    size: int
    first: int
    last: int
    partial: bool
    row: dict[str, Any]

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def chunks(self) -> AsyncIterator[bytes]:
        return self.store.stream(self.name, self.first, self.last)


async def open_recording(actor: Actor, call_id: int, *, download: bool, range_header: str | None = None) -> Playback:
    """Check `dialer:listen` in scope (404 outside it), find the recording in the backend that holds it,
    answer a Range, and audit the access (one row per request that is served)."""
    row = await get_row(actor, call_id, LISTEN)
    if row["recording_purged_at"] is not None:
        raise RecordingGone(purged_text(row["recording_purged_at"]))
    if not row["recording_file"]:
        raise NotFoundException("该通话没有录音 / this call has no recording")
    store = await recording_store.store_for(row["recording_store"], row["recording_location"])
    try:
        size = await store.size(row["recording_file"])
    except recording_store.NotStored as exc:
        raise NotFoundException("录音文件不存在（已被移走或删除）/ the recording file is missing") from exc
    except recording_store.StoreUnavailable:
        log.warning("recording_store_unreachable", call=call_id, store=row["recording_store"])
        raise
    wanted = recording_store.parse_range(range_header, size) if size else None
    first, last = wanted if wanted is not None else (0, size - 1)
    meta: dict[str, Any] = {"number": row["number"], "store": row["recording_store"]}
    if wanted is not None:
        meta["range"] = f"{first}-{last}"
    await record(actor, "download" if download else "listen", "dialer_call_recording", call_id, meta=meta)
    return Playback(store=store, name=row["recording_file"], size=size, first=first, last=last,
                    partial=wanted is not None, row=row)
