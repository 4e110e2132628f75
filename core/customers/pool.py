"""公海: pools, recycle rules, claim rules, releasing, and the idempotent daily recycle job.

Day boundaries are local (Asia/Shanghai): "not followed up within N days" means no follow-up since
local midnight N days ago, so any run on the same local day picks the same customers and a second
run finds nothing left to do.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.exceptions import NotFoundException, PermissionDeniedException

from core.audit.log import record
from core.customers import access
from core.customers.errors import InvalidInput
from core.customers.ownership import move
from core.customers.schemas import PoolIn, PoolOut, PoolRuleIn
from core.customers.tables import Customer, OwnerHistory, Pool, PoolMember, PoolRule
from core.db import write_tx
from core.host import SHANGHAI
from core.perms.actor import Actor, system_actor
from core.perms.scope import where_all

RULE_LABELS = {"no_followup": "未跟进", "no_opportunity": "无商机", "not_won": "未成交"}


def local_midnight(now: dt.datetime, days_back: int = 0) -> dt.datetime:
    day = now.astimezone(SHANGHAI).date() - dt.timedelta(days=days_back)
    return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.UTC)


async def create_pool(actor: Actor, data: PoolIn) -> PoolOut:
    if not actor.can("customers:settings"):
        raise PermissionDeniedException("需要客户设置权限 / permission required: customers:settings")
    async with write_tx():
        if data.is_default:
            await Pool.update({Pool.is_default: False}).where(Pool.is_default == True)  # noqa: E712
        rows = await Pool.insert(
            Pool(
                name=data.name,
                remind_days=data.remind_days,
                daily_claim_limit=data.daily_claim_limit,
                pre_owner_block_days=data.pre_owner_block_days,
                max_owned=data.max_owned,
                is_default=data.is_default,
                created_at=dt.datetime.now(dt.UTC),
            )
        ).returning(Pool.id)
        pid = rows[0]["id"]
        members = [PoolMember(pool=pid, user=u) for u in data.member_user_ids]
        members += [PoolMember(pool=pid, department=d) for d in data.member_department_ids]
        if members:
            await PoolMember.insert(*members)
        await record(actor, "create", "customer_pool", pid, diff={"name": [None, data.name]})
    return (await list_pools(actor, pid))[0]


async def add_rule(actor: Actor, pool_id: int, data: PoolRuleIn) -> int:
    if not actor.can("customers:settings"):
        raise PermissionDeniedException("需要客户设置权限 / permission required: customers:settings")
    if not await Pool.exists().where(Pool.id == pool_id):
        raise NotFoundException("公海不存在 / pool not found")
    async with write_tx():
        rows = await PoolRule.insert(
            PoolRule(
                pool=pool_id,
                kind=data.kind,
                days=data.days,
                customer_type=data.customer_type,
                level=data.level,
                exempt_won=data.exempt_won,
                exempt_open_opportunity=data.exempt_open_opportunity,
            )
        ).returning(PoolRule.id)
        await record(
            actor,
            "create",
            "customer_pool_rule",
            rows[0]["id"],
            diff={"kind": [None, data.kind], "days": [None, data.days]},
            meta={"pool": pool_id},
        )
    return rows[0]["id"]


async def list_pools(actor: Actor, pool_id: int | None = None) -> list[PoolOut]:
    visible = await access.member_pool_ids(actor) if not actor.can("customers:settings") else None
    select = Pool.select().where(Pool.active == True)  # noqa: E712
    if pool_id is not None:
        select = select.where(Pool.id == pool_id)
    rules = await PoolRule.select().where(PoolRule.active == True)  # noqa: E712
    out = []
    for p in await select.order_by(Pool.id):
        if visible is not None and p["id"] not in visible:
            continue
        out.append(
            PoolOut(
                id=p["id"],
                name=p["name"],
                remind_days=p["remind_days"],
                daily_claim_limit=p["daily_claim_limit"],
                pre_owner_block_days=p["pre_owner_block_days"],
                max_owned=p["max_owned"],
                is_default=p["is_default"],
                rules=[
                    {
                        "id": r["id"],
                        "kind": r["kind"],
                        "days": r["days"],
                        "customer_type": r["customer_type"],
                        "level": r["level"],
                        "exempt_won": r["exempt_won"],
                    }
                    for r in rules
                    if r["pool"] == p["id"]
                ],
            )
        )
    if pool_id is not None and not out:
        raise NotFoundException("公海不存在 / pool not found")
    return out


async def default_pool_id() -> int:
    row = await Pool.select(Pool.id).where((Pool.active == True) & (Pool.is_default == True)).first()  # noqa: E712
    if row is None:
        row = await Pool.select(Pool.id).where(Pool.active == True).order_by(Pool.id).first()  # noqa: E712
    if row is None:
        async with write_tx():
            rows = await Pool.insert(Pool(name="公海", is_default=True, created_at=dt.datetime.now(dt.UTC))).returning(
                Pool.id
            )
        return rows[0]["id"]
    return row["id"]


async def claim(actor: Actor, customer_ids: list[int], *, now: dt.datetime | None = None) -> int:
    """领取: take pool customers, within the pool's claim rules."""
    if not actor.can(access.POOL) or actor.user_id is None:
        raise PermissionDeniedException("需要公海权限 / permission required: customers:pool")
    now = now or dt.datetime.now(dt.UTC)
    pools = await access.member_pool_ids(actor)
    clause = where_all(
        Customer.id.is_in(customer_ids or [0]),
        Customer.owner.is_null(),
        Customer.pool.is_in(pools or [0]),
        access.type_clause(actor),
    )
    async with write_tx():
        rows = await Customer.select(
            Customer.id, Customer.owner, Customer.pool, Customer.pre_owner, Customer.pooled_at
        ).where(clause)
        if len(rows) != len(set(customer_ids)):
            raise NotFoundException("客户不在可领取的公海中 / customer is not in a pool you can claim from")
        for pool_id in {r["pool"] for r in rows}:
            pool = await Pool.select().where(Pool.id == pool_id).first()
            mine = [r for r in rows if r["pool"] == pool_id]
            await _check_claim_rules(actor, pool, mine, now)
        await move(
            actor,
            [{"id": r["id"], "owner": None} for r in rows],
            actor.user_id,
            "claim",
            "从公海领取 / claimed",
            now=now,
        )
    return len(rows)


async def _check_claim_rules(actor: Actor, pool: dict[str, Any], rows: list[dict[str, Any]], now: dt.datetime) -> None:
    if pool["pre_owner_block_days"]:
        since = now - dt.timedelta(days=pool["pre_owner_block_days"])
        blocked = [r for r in rows if r["pre_owner"] == actor.user_id and r["pooled_at"] and r["pooled_at"] > since]
        if blocked:
            raise InvalidInput(
                f"原负责人 {pool['pre_owner_block_days']} 天内不能重新领取该客户 / the previous owner cannot "
                f"re-claim within {pool['pre_owner_block_days']} days"
            )
    if pool["daily_claim_limit"]:
        today = await OwnerHistory.count().where(
            (OwnerHistory.to_user == actor.user_id)
            & (OwnerHistory.action == "claim")
            & (OwnerHistory.at >= local_midnight(now))
        )
        if today + len(rows) > pool["daily_claim_limit"]:
            raise InvalidInput(
                f"超过每日领取上限 {pool['daily_claim_limit']} 个（今天已领 {today} 个） / daily claim "
                f"limit {pool['daily_claim_limit']} exceeded ({today} claimed today)"
            )
    if pool["max_owned"]:
        owned = await Customer.count().where(Customer.owner == actor.user_id)
        if owned + len(rows) > pool["max_owned"]:
            raise InvalidInput(
                f"拥有客户数超过上限 {pool['max_owned']} / you may own at most {pool['max_owned']} customers"
            )


async def release(actor: Actor, customer_ids: list[int], reason: str, pool_id: int | None = None) -> int:
    """放入公海: the owner (or someone who may edit) gives customers back to a pool."""
    pool_id = pool_id or await default_pool_id()
    if not await Pool.exists().where(Pool.id == pool_id):
        raise NotFoundException("公海不存在 / pool not found")
    clause = where_all(
        Customer.id.is_in(customer_ids or [0]), await access.edit_where(actor), Customer.owner.is_not_null()
    )
    async with write_tx():
        rows = await Customer.select(Customer.id, Customer.owner).where(clause)
        if len(rows) != len(set(customer_ids)):
            raise NotFoundException("客户不存在或不可操作 / customer not found")
        return await move(actor, rows, None, "release", reason or "放入公海 / released", pool_id=pool_id)


def _rule_clause(rule: dict[str, Any], cutoff: dt.datetime) -> Any:
    clauses: list[Any] = [
        Customer.owner.is_not_null(),
        Customer.created_at < cutoff,
        Customer.owner_since.is_null() | (Customer.owner_since < cutoff),
    ]
    if rule["customer_type"]:
        clauses.append(Customer.type == rule["customer_type"])
    if rule["level"]:
        clauses.append(Customer.level == rule["level"])
    if rule["exempt_won"] or rule["kind"] == "not_won":
        clauses.append(Customer.won_at.is_null())
    if rule["kind"] == "no_followup":
        clauses.append(Customer.last_followup_at.is_null() | (Customer.last_followup_at < cutoff))
    if rule["kind"] == "no_opportunity" or rule["exempt_open_opportunity"]:
        clauses.append(Customer.last_opportunity_at.is_null() | (Customer.last_opportunity_at < cutoff))
    return where_all(*clauses)


async def _pool_scope(pool_id: int) -> Any:
    members = await PoolMember.select().where(PoolMember.pool == pool_id)
    if not members:
        return None
    users = [m["user"] for m in members if m["user"] is not None]
    depts = [m["department"] for m in members if m["department"] is not None]
    clause = Customer.owner.is_in(users or [0])
    return clause | Customer.department.is_in(depts) if depts else clause


async def due(now: dt.datetime, *, ahead_days: int = 0) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(customer, pool, rule) triples a rule recycles at `now` (+ `ahead_days`, for warnings)."""
    out = []
    seen: set[int] = set()
    pools = {p["id"]: p for p in await Pool.select().where(Pool.active == True)}  # noqa: E712
    rules = await PoolRule.select().where(PoolRule.active == True).order_by(PoolRule.pool, PoolRule.id)  # noqa: E712
    for rule in rules:
        pool = pools.get(rule["pool"])
        if pool is None:
            continue
        cutoff = local_midnight(now, rule["days"] - ahead_days)
        clause = where_all(_rule_clause(rule, cutoff), await _pool_scope(pool["id"]))
        for c in await Customer.select(Customer.id, Customer.owner, Customer.name).where(clause):
            if c["id"] not in seen:
                seen.add(c["id"])
                out.append((c, pool, rule))
    return out


async def recycle(now: dt.datetime | None = None) -> int:
    """The daily job: move every customer a rule catches into its pool, with owner history and audit."""
    now = now or dt.datetime.now(dt.UTC)
    actor = system_actor("pool-recycle")
    moved = 0
    async with write_tx():
        for customer, pool, rule in await due(now):
            reason = (
                f"{RULE_LABELS[rule['kind']]}超过 {rule['days']} 天自动收回 / recycled: {rule['kind']} {rule['days']}d"
            )
            moved += await move(actor, [customer], None, "recycle", reason, pool_id=pool["id"], now=now)
    return moved


async def soon_recycled(actor: Actor, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The actor's customers a rule will recycle within the pool's warning period (remind_days)."""
    now = now or dt.datetime.now(dt.UTC)
    out = []
    recycled_now = {c["id"] for c, _, _ in await due(now)}
    horizon = max([p["remind_days"] for p in await Pool.select(Pool.remind_days)] or [0])
    for c, pool, rule in await due(now, ahead_days=horizon):
        if c["owner"] == actor.user_id and c["id"] not in recycled_now:
            warn = await due_within(c["id"], rule, now, pool["remind_days"])
            if warn:
                out.append({"id": c["id"], "name": c["name"], "pool": pool["name"], "rule": rule["kind"]})
    return out


async def due_within(customer_id: int, rule: dict[str, Any], now: dt.datetime, days: int) -> bool:
    cutoff = local_midnight(now, rule["days"] - days)
    return await Customer.exists().where(where_all(Customer.id == customer_id, _rule_clause(rule, cutoff)))


async def run_daily() -> None:
    await recycle()
