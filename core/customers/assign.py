"""客户分派 and 人员调换: assignment/transfer of one, many or all matching customers, and hand-over."""

from __future__ import annotations

from typing import Any

from litestar.exceptions import NotFoundException, PermissionDeniedException

from core.audit.log import record
from core.customers import access, search
from core.customers.errors import InvalidInput
from core.customers.ownership import move, user_department
from core.customers.schemas import AssignIn
from core.customers.tables import Customer, Plan
from core.db import write_tx
from core.perms.actor import Actor
from core.perms.scope import where_all


async def assign(actor: Actor, data: AssignIn) -> int:
    """Every record needs edit *and* assign rights; explicit ids outside them fail the whole call (404)."""
    await user_department(data.to_user_id)
    scope = await access.assign_where(actor)
    if data.filter is not None:
        ids = await search.matching_ids(actor, data.filter, scope)
    else:
        ids = list(dict.fromkeys(data.customer_ids))
        if not ids:
            raise InvalidInput("请选择客户 / choose at least one customer")
    async with write_tx():
        rows = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows += await Customer.select(Customer.id, Customer.owner).where(where_all(Customer.id.is_in(chunk), scope))
        if data.filter is None and len(rows) != len(ids):
            raise NotFoundException("客户不存在或无权分派 / customer not found")
        rows = [r for r in rows if r["owner"] != data.to_user_id]
        assigned = [r for r in rows if r["owner"] is None]
        transferred = [r for r in rows if r["owner"] is not None]
        reason = data.reason or "分派 / assigned"
        n = await move(actor, assigned, data.to_user_id, "assign", reason)
        n += await move(actor, transferred, data.to_user_id, "transfer", reason)
    return n


async def handover_customers(from_user_id: int, to_user_id: int, actor: Actor, reason: str = "") -> dict[str, int]:
    """Core's part of 人员调换: customers (with their contacts) and open plans of the departing person."""
    rows = await Customer.select(Customer.id, Customer.owner).where(Customer.owner == from_user_id)
    moved = await move(actor, rows, to_user_id, "handover", reason or "人员调换 / hand-over")
    plans = (
        await Plan.update({Plan.user: to_user_id})
        .where((Plan.user == from_user_id) & Plan.done_at.is_null())
        .returning(Plan.id)
    )
    return {"customers": moved, "plans": len(plans)}


async def handover(actor: Actor, from_user_id: int, to_user_id: int, reason: str = "") -> dict[str, Any]:
    """Everything of a departing person to another in one audited transaction, plugins included."""
    if not (actor.can("customers:assign") and actor.scope_of("customers:assign") == "all"):
        raise PermissionDeniedException(
            "人员调换需要全部范围的分派权限 / hand-over needs customers:assign with scope all"
        )
    if from_user_id == to_user_id:
        raise InvalidInput("交接双方不能是同一人 / cannot hand over to the same person")
    await user_department(to_user_id)
    from core.host import current
    from core.plugins import collect

    async with write_tx():
        results = await collect(
            current().pm.hook.handover, from_user_id=from_user_id, to_user_id=to_user_id, actor=actor
        )
        totals: dict[str, int] = {}
        for part in results:
            if isinstance(part, dict):
                for k, v in part.items():
                    totals[k] = totals.get(k, 0) + int(v)
            elif isinstance(part, tuple) and len(part) == 2:
                totals[str(part[0])] = totals.get(str(part[0]), 0) + int(part[1])
        await record(
            actor, "handover", "user", from_user_id, meta={"to": to_user_id, "moved": totals, "reason": reason}
        )
    return totals
