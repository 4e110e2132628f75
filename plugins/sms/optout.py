"""退订名单: the numbers never texted again. A reply of TD/退订 puts the sender here.

This list is SMS's own; it answers core's `do_not_contact` hook, so the dialer never calls these numbers
either, and SMS never texts a number on the dialer's 谢绝来电 list.
"""

from __future__ import annotations

import datetime as dt
import re

from core import do_not_contact
from core.audit.log import record
from core.db import write_tx
from core.perms.actor import Actor
from plugins.sms.errors import sms_error
from plugins.sms.numbers import try_any
from plugins.sms.schemas import OptOutOut
from plugins.sms.tables import SmsOptOut

OPT_OUT_WORDS = {"TD", "T", "退订", "STOP", "UNSUBSCRIBE", "取消订阅", "退定"}
_PUNCT = re.compile(r"[\s\.,!！。，、;；:：\"'“”‘’()（）\[\]【】]+")
CHUNK = 500


def is_opt_out_reply(text: str) -> bool:
    """TD, 退订, "td。", "退订 谢谢" — the first word decides."""
    cleaned = _PUNCT.sub(" ", text).strip().upper()
    if not cleaned:
        return False
    return cleaned in OPT_OUT_WORDS or cleaned.split(" ")[0] in OPT_OUT_WORDS


async def opted_out(numbers: list[str]) -> set[str]:
    out: set[str] = set()
    unique = sorted(set(numbers))
    for i in range(0, len(unique), CHUNK):
        rows = await SmsOptOut.select(SmsOptOut.number).where(SmsOptOut.number.is_in(unique[i : i + CHUNK]))
        out.update(r["number"] for r in rows)
    return out


async def add(number: str, *, source: str, actor: Actor | None, note: str = "") -> bool:
    """Put a number on the list; False when it was there already."""
    e164 = try_any(number)
    if not e164:
        raise sms_error("号码为空", "the number is empty")
    async with write_tx():
        if await SmsOptOut.exists().where(SmsOptOut.number == e164):
            return False
        await SmsOptOut.insert(SmsOptOut(number=e164, source=source, note=note,
                                         created_by=actor.user_id if actor else None,
                                         created_at=dt.datetime.now(dt.UTC)))
        await record(actor, "create", "sms_optout", e164, meta={"source": source})
    await do_not_contact.announce([e164], f"sms:{source}")
    return True


async def remove(number: str, actor: Actor) -> bool:
    e164 = try_any(number)
    async with write_tx():
        gone = await SmsOptOut.delete().where(SmsOptOut.number == e164).returning(SmsOptOut.id)
        if gone:
            await record(actor, "delete", "sms_optout", e164)
    return bool(gone)


async def listing(q: str = "", limit: int = 500) -> list[OptOutOut]:
    query = SmsOptOut.select().order_by(SmsOptOut.created_at, ascending=False).limit(limit)
    if q.strip():
        query = query.where(SmsOptOut.number.like(f"%{re.sub(r'[^0-9+]', '', q)}%"))
    return [OptOutOut(number=r["number"], source=r["source"], note=r["note"], created_at=r["created_at"])
            for r in await query]
