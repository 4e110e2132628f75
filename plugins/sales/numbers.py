"""Opportunity numbers: XS + the local day (YYYYMMDD) + a 5-digit sequence of that day, e.g. XS2021051300010.

The day counter is bumped with one upsert inside the caller's write transaction, so two writers
never get the same number (SQLite: the app write lock; PostgreSQL: the row lock of the upsert).
"""

from __future__ import annotations

import datetime as dt

from plugins.sales.tables import DayCounter

PREFIX = "XS"
UPSERT = (
    "INSERT INTO sales_day_counters (day, last) VALUES ({}, 1) "
    "ON CONFLICT (day) DO UPDATE SET last = sales_day_counters.last + 1 RETURNING last"
)


def format_number(day: dt.date, seq: int) -> str:
    return f"{PREFIX}{day:%Y%m%d}{seq:05d}"


async def next_number(day: dt.date) -> str:
    """Call inside `write_tx()`."""
    rows = await DayCounter.raw(UPSERT, f"{day:%Y%m%d}")
    return format_number(day, int(rows[0]["last"]))
