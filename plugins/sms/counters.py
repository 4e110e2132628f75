"""Daily counters per user and per SIM (`sms_counters`), joined to the caller's write transaction."""

from __future__ import annotations

import datetime as dt

from core.db import write_tx
from core.host import SHANGHAI
from plugins.sms.tables import SmsCounter


def local_day(now: dt.datetime) -> dt.date:
    return now.astimezone(SHANGHAI).date()


def _slot_key(kind: str, key: str, day: dt.date) -> str:
    return f"{kind}:{key}:{day.isoformat()}"


async def bump(kind: str, key: str, day: dt.date, n: int = 1) -> None:
    if n <= 0:
        return
    slot = _slot_key(kind, key, day)
    async with write_tx():
        done = await SmsCounter.update({SmsCounter.total: SmsCounter.total + n}).where(
            SmsCounter.slot_key == slot).returning(SmsCounter.id)
        if not done:
            await SmsCounter.insert(SmsCounter(slot_key=slot, kind=kind, key=key, day=day, total=n))


async def day_total(kind: str, key: str, day: dt.date) -> int:
    row = await SmsCounter.select(SmsCounter.total).where(SmsCounter.slot_key == _slot_key(kind, key, day)).first()
    return row["total"] if row else 0


async def month_total(kind: str, key: str, day: dt.date) -> int:
    first = day.replace(day=1)
    rows = await SmsCounter.select(SmsCounter.total).where(
        (SmsCounter.kind == kind) & (SmsCounter.key == key) & (SmsCounter.day >= first) & (SmsCounter.day <= day))
    return sum(r["total"] for r in rows)
