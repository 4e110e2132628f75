"""Every change of owner goes through `move`: customer row, owner-history row and audit entry together."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.audit.log import record
from core.auth.tables import User
from core.customers.errors import InvalidInput
from core.customers.tables import Customer, OwnerHistory
from core.db import write_tx
from core.perms.actor import Actor

CHUNK = 500


async def user_department(user_id: int) -> int | None:
    row = await User.select(User.department, User.active).where(User.id == user_id).first()
    if row is None or not row["active"]:
        raise InvalidInput(f"用户 {user_id} 不存在或已停用 / user {user_id} does not exist or is disabled")
    return row["department"]


async def move(
    actor: Actor,
    rows: list[dict[str, Any]],
    to_user: int | None,
    action: str,
    reason: str = "",
    *,
    pool_id: int | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Give `rows` (customer dicts with id/owner) to `to_user`, or to pool `pool_id` when `to_user` is None."""
    if not rows:
        return 0
    now = now or dt.datetime.now(dt.UTC)
    department = await user_department(to_user) if to_user is not None else None
    async with write_tx():
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            ids = [r["id"] for r in chunk]
            values: dict[Any, Any] = {
                Customer.owner: to_user,
                Customer.department: department,
                Customer.updated_at: now,
            }
            if to_user is None:
                values |= {Customer.pool: pool_id, Customer.pooled_at: now, Customer.owner_since: None}
            else:
                values |= {Customer.pool: None, Customer.pooled_at: None, Customer.owner_since: now}
            await Customer.update(values).where(Customer.id.is_in(ids))
            if to_user is None:
                by_owner: dict[int, list[int]] = {}
                for r in chunk:
                    if r.get("owner") is not None:
                        by_owner.setdefault(r["owner"], []).append(r["id"])
                for owner, owned in by_owner.items():
                    await Customer.update({Customer.pre_owner: owner}).where(Customer.id.is_in(owned))
            await OwnerHistory.insert(
                *[
                    OwnerHistory(
                        customer=r["id"],
                        from_user=r.get("owner"),
                        to_user=to_user,
                        pool=pool_id,
                        action=action,
                        reason=reason,
                        actor=actor.user_id,
                        at=now,
                    )
                    for r in chunk
                ]
            )
            for r in chunk:
                await record(
                    actor,
                    action,
                    "customer",
                    r["id"],
                    diff={"owner": [r.get("owner"), to_user]},
                    meta={"reason": reason, "pool": pool_id},
                )
    return len(rows)
