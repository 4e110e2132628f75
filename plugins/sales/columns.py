"""列设置: the columns of the opportunity list, saved per user (in core's column-preference table)."""

from __future__ import annotations

import msgspec

from core.customers.errors import InvalidInput
from core.customers.tables import ColumnPref
from core.db import write_tx
from core.perms.actor import Actor
from plugins.sales.schemas import DEFAULT_COLUMNS, ROW_COLUMNS

VIEW = "opportunities"


async def get(actor: Actor) -> list[str]:
    row = await ColumnPref.select(ColumnPref.columns).where(
        (ColumnPref.user == actor.user_id) & (ColumnPref.view == VIEW)).first()
    return msgspec.json.decode(row["columns"]) if row else list(DEFAULT_COLUMNS)


async def save(actor: Actor, chosen: list[str]) -> list[str]:
    known = [k for k, _ in ROW_COLUMNS]
    wrong = [c for c in chosen if c not in known]
    if wrong:
        raise InvalidInput(f"未知的列 {wrong[0]} / unknown column {wrong[0]!r}")
    ordered = [k for k in known if k in chosen] or list(DEFAULT_COLUMNS)
    async with write_tx():
        await ColumnPref.delete().where((ColumnPref.user == actor.user_id) & (ColumnPref.view == VIEW))
        encoded = msgspec.json.encode(ordered).decode()
        await ColumnPref.insert(ColumnPref(user=actor.user_id, view=VIEW, columns=encoded))
    return ordered
