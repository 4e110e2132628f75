"""预警提示 (not contacted for N days) and 销售提醒 (plans due, birthdays, soon recycled)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.audit.log import record
from core.customers import access, config, pool
from core.customers.errors import InvalidInput
from core.customers.schemas import ListQuery
from core.customers.search import matching_ids
from core.customers.tables import Contact, Customer, Plan
from core.db import write_tx
from core.hooktypes import Reminder
from core.host import SHANGHAI
from core.perms.actor import Actor
from core.perms.scope import where_all
from core.web.i18n import gettext as _


def _local_day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.UTC)


async def plan_buckets(actor: Actor, today: dt.date) -> dict[str, int]:
    """Open plans of the actor: overdue, today, within 3 days, within 7 days (local days)."""
    if actor.user_id is None:
        return {}
    start = _local_day_start(today)
    mine = (Plan.user == actor.user_id) & Plan.done_at.is_null()
    return {
        "overdue": await Plan.count().where(mine & (Plan.due_at < start)),
        "today": await Plan.count().where(
            mine & (Plan.due_at >= start) & (Plan.due_at < _local_day_start(today + dt.timedelta(days=1)))
        ),
        "3days": await Plan.count().where(
            mine & (Plan.due_at >= start) & (Plan.due_at < _local_day_start(today + dt.timedelta(days=3)))
        ),
        "7days": await Plan.count().where(
            mine & (Plan.due_at >= start) & (Plan.due_at < _local_day_start(today + dt.timedelta(days=7)))
        ),
    }


async def birthdays(actor: Actor, today: dt.date, days: int = 7) -> list[dict[str, Any]]:
    """Contacts of the actor's own customers with a birthday in the next `days` days."""
    if actor.user_id is None:
        return []
    mds = [(today + dt.timedelta(days=i)).strftime("%m-%d") for i in range(days)]
    rows = await Contact.select(Contact.id, Contact.name, Contact.customer, Contact.birthday).where(
        Contact.birthday_md.is_in(mds)
        & Contact.customer.is_in(Customer.select(Customer.id).where(Customer.owner == actor.user_id))
    )
    return rows


async def not_contacted(actor: Actor, days: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """预警: the actor's (owned or shared-to-edit) customers with no follow-up for `days` days."""
    days = days if days is not None else (await config.current()).warn_days
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    mine = Customer.owner == actor.user_id
    clause = where_all(
        await access.read_where(actor),
        access.any_of(mine, await access.shared_with(actor, ("edit",))),
        Customer.last_followup_at.is_null() | (Customer.last_followup_at < cutoff),
    )
    return (
        await Customer.select(Customer.id, Customer.name, Customer.type, Customer.last_followup_at)
        .where(clause)
        .order_by(Customer.last_followup_at)
        .limit(limit)
    )


async def count_not_contacted(actor: Actor, days: int) -> int:
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    return await Customer.count().where(
        where_all(
            await access.read_where(actor),
            Customer.owner == actor.user_id,
            Customer.last_followup_at.is_null() | (Customer.last_followup_at < cutoff),
        )
    )


async def move_to_public(actor: Actor, customer_ids: list[int], *, to_pool: bool, reason: str) -> int:
    """Bulk move warned customers to 公共客户, or into the pool."""
    if to_pool:
        return await pool.release(actor, customer_ids, reason or "预警批量放入公海 / warning bulk release")
    ids = await matching_ids(
        actor, ListQuery(view="all"), where_all(Customer.id.is_in(customer_ids or [0]), await access.edit_where(actor))
    )
    if len(ids) != len(set(customer_ids)):
        raise InvalidInput("部分客户不存在或无权操作 / some customers were not found")
    async with write_tx():
        await Customer.update({Customer.is_public: True}).where(Customer.id.is_in(ids))
        for cid in ids:
            await record(actor, "update", "customer", cid, diff={"is_public": [False, True]}, meta={"reason": reason})
    return len(ids)


async def reminders_for(actor: Actor, today: dt.date) -> list[Reminder]:
    if actor.user_id is None or not actor.can(access.READ):
        return []
    buckets = await plan_buckets(actor, today)
    settings = await config.current()
    out = [
        Reminder(
            key="plans.overdue",
            label="逾期联系计划",
            count=buckets["overdue"],
            href="/customers/plans?due=overdue",
            severity="danger",
        ),
        Reminder(
            key="plans.today",
            label="今日联系计划",
            count=buckets["today"],
            href="/customers/plans?due=today",
            severity="warning",
        ),
        Reminder(key="plans.3days", label="3 天内联系计划", count=buckets["3days"], href="/customers/plans?due=3days"),
        Reminder(key="plans.7days", label="7 天内联系计划", count=buckets["7days"], href="/customers/plans?due=7days"),
        Reminder(
            key="contacts.birthdays",
            label="联系人生日（7 天内）",
            count=len(await birthdays(actor, today)),
            href="/customers/reminders",
        ),
        Reminder(
            key="customers.not_contacted",
            label=_("超过 %(days)s 天未联系的客户") % {"days": settings.warn_days},
            count=await count_not_contacted(actor, settings.warn_days),
            href="/customers/warnings",
            severity="warning",
        ),
        Reminder(
            key="customers.soon_recycled",
            label="即将被收回公海的客户",
            count=len(await pool.soon_recycled(actor)),
            href="/customers/warnings",
            severity="warning",
        ),
    ]
    return out
