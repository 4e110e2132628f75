"""Who may see or change which customer: the core scope resolver plus shares, 公共客户, pools and types.

Every customer read or write path builds its where-clause here, so one test of these clauses covers
lists, searches, counts, exports and details alike.
"""

from __future__ import annotations

from typing import Any

from litestar.exceptions import NotFoundException
from piccolo.columns.combination import Or, Where, WhereRaw
from piccolo.columns.operators.comparison import In

from core.customers.tables import Customer, CustomerShare, Pool, PoolMember
from core.db import is_sqlite
from core.perms.actor import Actor
from core.perms.scope import NOTHING, scope_where, where_all

READ = "customers:read"
EDIT = "customers:edit"
DELETE = "customers:delete"
ASSIGN = "customers:assign"
POOL = "customers:pool"


SHARE_INLINE_MAX = 2000
# A literal, not `Customer.is_public == True`: asyncpg prepares statements, and PostgreSQL's generic
# plan for `is_public = $1` guesses half the table matches, then walks the whole primary key to fill
# a page (measured: 69 ms instead of 0.2 ms at 100 000 customers).
IS_PUBLIC = WhereRaw('"customers"."is_public" = TRUE')


async def shared_with(actor: Actor, levels: tuple[str, ...] = ("read", "edit")) -> Any:
    """Customers shared with the actor or the actor's department at one of `levels` (None: none).

    The ids are inlined when there are few: an `id IN (1, 2, …)` arm lets PostgreSQL combine the
    scope's OR-ed arms with bitmap index scans, where a sub-select arm forces a full scan.
    """
    if actor.user_id is None:
        return None
    target = CustomerShare.user == actor.user_id
    if actor.department_id is not None:
        target = Or(target, CustomerShare.department == actor.department_id)
    shares = CustomerShare.select(CustomerShare.customer).where(target & CustomerShare.level.is_in(list(levels)))
    ids = [r["customer"] for r in await shares.limit(SHARE_INLINE_MAX + 1)]
    if not ids:
        return None
    if len(ids) > SHARE_INLINE_MAX:
        return Customer.id.is_in(shares)
    return Customer.id.is_in(sorted(set(ids)))


async def member_pool_ids(actor: Actor) -> list[int]:
    """Pools the actor may see and claim from: pools without members are open to everyone."""
    pools = await Pool.select(Pool.id).where(Pool.active == True)  # noqa: E712
    members = await PoolMember.select(PoolMember.pool, PoolMember.user, PoolMember.department)
    restricted: dict[int, bool] = {}
    for m in members:
        hit = (m["user"] is not None and m["user"] == actor.user_id) or (
            m["department"] is not None and m["department"] == actor.department_id
        )
        restricted[m["pool"]] = restricted.get(m["pool"], False) or hit
    return [p["id"] for p in pools if actor.system or restricted.get(p["id"], True)]


async def pooled_visible(actor: Actor) -> Any:
    if not actor.can(POOL):
        return None
    ids = await member_pool_ids(actor)
    return (Customer.owner.is_null() & Customer.pool.is_in(ids)) if ids else None


def type_clause(actor: Actor) -> Any:
    if actor.customer_types is None or actor.system:
        return None
    return Customer.type.is_in(actor.customer_types) if actor.customer_types else NOTHING


def any_of(*clauses: Any) -> Any:
    """OR together the non-None clauses (None when there are none)."""
    out = None
    for c in clauses:
        if c is not None:
            out = c if out is None else Or(out, c)
    return out


async def read_arms(actor: Actor) -> list[Any] | None:
    """`read_where` as the separate arms of its OR (None: the actor reads everything).

    Each arm can walk its own index in sort order, so the first page of a list is the merge of a few
    short index scans instead of one OR that sorts every matching row (`bench/customers.py`, SQLite,
    1 M customers: a salesperson's first page went from 86 ms to 7 ms).
    The base arm is still the core resolver's `scope_where`; the union of the arms equals `read_where`.
    """
    base = await scope_where(actor, READ, owner=Customer.owner, department=Customer.department)
    if base is None:
        return None
    extra = [await shared_with(actor), IS_PUBLIC, await pooled_visible(actor)]
    types = type_clause(actor)
    split = split_arms(base, max_values=50 if is_sqlite() else 0)
    return [where_all(arm, types) for arm in (*split, *extra) if arm is not None]


def split_arms(clause: Any, max_values: int = 50) -> list[Any]:
    """An OR tree as its leaves, and `col IN (a, b, …)` as `col = a`, `col = b`, …: the same rows.

    On SQLite `department IN (…)` sorts every matching row for a page, while one `department = x ORDER
    BY id LIMIT n` per department reads n index entries each (manager's first page at 100 000
    customers: 60 ms → 13 ms). PostgreSQL walks the primary key backwards and stops early, and extra
    round trips only cost there, so it keeps the IN (`max_values=0`).
    """
    if isinstance(clause, Or):
        return [*split_arms(clause.first, max_values), *split_arms(clause.second, max_values)]
    if (
        isinstance(clause, Where)
        and clause.operator is In
        and isinstance(clause.values, list)
        and 0 < len(clause.values) <= max_values
    ):
        return [clause.column == value for value in clause.values]
    return [clause]


async def read_where(actor: Actor) -> Any:
    """Own/department/subtree/all by role, plus shares, 公共客户 and claimable pool customers."""
    also = any_of(await shared_with(actor), IS_PUBLIC, await pooled_visible(actor))
    return where_all(
        await scope_where(actor, READ, owner=Customer.owner, department=Customer.department, also=also),
        type_clause(actor),
    )


async def edit_where(actor: Actor) -> Any:
    return where_all(
        await scope_where(
            actor, EDIT, owner=Customer.owner, department=Customer.department, also=await shared_with(actor, ("edit",))
        ),
        type_clause(actor),
    )


async def delete_where(actor: Actor) -> Any:
    return where_all(
        await scope_where(actor, DELETE, owner=Customer.owner, department=Customer.department), type_clause(actor)
    )


async def assign_where(actor: Actor) -> Any:
    """Assigning needs edit *and* assign rights on each record."""
    return where_all(
        await edit_where(actor),
        await scope_where(actor, ASSIGN, owner=Customer.owner, department=Customer.department),
    )


async def _get(clause: Any, customer_id: int) -> dict[str, Any]:
    row = await Customer.select().where(where_all(Customer.id == customer_id, clause)).first()
    if row is None:
        raise NotFoundException("客户不存在 / customer not found")
    return row


async def readable(actor: Actor, customer_id: int) -> dict[str, Any]:
    return await _get(await read_where(actor), customer_id)


async def editable(actor: Actor, customer_id: int) -> dict[str, Any]:
    return await _get(await edit_where(actor), customer_id)


async def deletable(actor: Actor, customer_id: int) -> dict[str, Any]:
    return await _get(await delete_where(actor), customer_id)


async def assignable(actor: Actor, customer_id: int) -> dict[str, Any]:
    return await _get(await assign_where(actor), customer_id)
