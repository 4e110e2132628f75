"""联系记录 and 联系计划: follow-ups and plans; doing a plan is recording a follow-up."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.exceptions import NotFoundException

from core.audit.log import record
from core.customers import access
from core.customers.errors import InvalidInput
from core.customers.schemas import FollowupIn, FollowupOut, PlanIn, PlanOut
from core.customers.tables import Contact, Customer, Followup, Plan
from core.db import write_tx
from core.hooktypes import TimelineEntry
from core.perms.actor import Actor
from core.perms.scope import where_all


def followup_out(r: dict[str, Any]) -> FollowupOut:
    return FollowupOut(
        id=r["id"],
        customer_id=r["customer"],
        contact_id=r["contact"],
        user_id=r["user"],
        plan_id=r["plan"],
        at=r["at"],
        kind=r["kind"],
        method=r["method"],
        summary=r["summary"],
        next_at=r["next_at"],
    )


def plan_out(r: dict[str, Any]) -> PlanOut:
    return PlanOut(
        id=r["id"],
        customer_id=r["customer"],
        contact_id=r["contact"],
        user_id=r["user"],
        due_at=r["due_at"],
        subject=r["subject"],
        done_at=r["done_at"],
    )


async def _check_contact(customer_id: int, contact_id: int | None) -> None:
    if contact_id is not None and not await Contact.exists().where(
        (Contact.id == contact_id) & (Contact.customer == customer_id)
    ):
        raise InvalidInput(f"联系人 {contact_id} 不属于该客户 / contact {contact_id} is not of this customer")


async def add_followup(actor: Actor, data: FollowupIn) -> FollowupOut:
    """Record a contact; it updates the customer's last-contact time and closes the plan it fulfils."""
    await access.editable(actor, data.customer_id)
    await _check_contact(data.customer_id, data.contact_id)
    now = dt.datetime.now(dt.UTC)
    at = data.at or now
    if at.tzinfo is None:
        raise InvalidInput("时间需要带时区 / the time needs a time zone (e.g. +08:00)")
    async with write_tx():
        if data.plan_id is not None:
            plan = await Plan.select().where((Plan.id == data.plan_id) & (Plan.customer == data.customer_id)).first()
            if plan is None:
                raise NotFoundException("联系计划不存在 / plan not found")
            await Plan.update({Plan.done_at: at}).where(Plan.id == data.plan_id)
        rows = await Followup.insert(
            Followup(
                customer=data.customer_id,
                contact=data.contact_id,
                user=actor.user_id,
                plan=data.plan_id,
                at=at,
                kind=data.kind,
                method=data.method,
                summary=data.summary,
                next_at=data.next_at,
                created_at=now,
            )
        ).returning(*Followup.all_columns())
        await Customer.update({Customer.last_followup_at: at, Customer.updated_at: now}).where(
            (Customer.id == data.customer_id) & (Customer.last_followup_at.is_null() | (Customer.last_followup_at < at))
        )
        await record(
            actor,
            "create",
            "followup",
            rows[0]["id"],
            diff={"summary": [None, data.summary], "method": [None, data.method]},
            meta={"customer": data.customer_id, "plan": data.plan_id},
        )
    return followup_out(rows[0])


async def followups_of(actor: Actor, customer_id: int) -> list[FollowupOut]:
    await access.readable(actor, customer_id)
    rows = await Followup.select().where(Followup.customer == customer_id).order_by(Followup.at, ascending=False)
    return [followup_out(r) for r in rows]


async def list_followups(actor: Actor, *, limit: int = 100, user_id: int | None = None) -> list[FollowupOut]:
    """联系管理: follow-ups on customers in the actor's read scope."""
    scope = await access.read_where(actor)
    in_scope = Customer.select(Customer.id)
    clause = where_all(
        Followup.customer.is_in(in_scope.where(scope) if scope is not None else in_scope),
        Followup.user == user_id if user_id is not None else None,
    )
    rows = await Followup.select().where(clause).order_by(Followup.at, ascending=False).limit(limit)
    await record(actor, "query", "followup", meta={"rows": len(rows), "user": user_id})
    return [followup_out(r) for r in rows]


async def add_plan(actor: Actor, data: PlanIn) -> PlanOut:
    await access.editable(actor, data.customer_id)
    await _check_contact(data.customer_id, data.contact_id)
    if data.due_at.tzinfo is None:
        raise InvalidInput("时间需要带时区 / the time needs a time zone (e.g. +08:00)")
    async with write_tx():
        rows = await Plan.insert(
            Plan(
                customer=data.customer_id,
                contact=data.contact_id,
                user=data.user_id or actor.user_id,
                due_at=data.due_at,
                subject=data.subject,
                created_at=dt.datetime.now(dt.UTC),
            )
        ).returning(*Plan.all_columns())
        await record(
            actor,
            "create",
            "plan",
            rows[0]["id"],
            diff={"subject": [None, data.subject]},
            meta={"customer": data.customer_id},
        )
    return plan_out(rows[0])


async def plans_in_scope(
    actor: Actor,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    open_only: bool = True,
    mine: bool = True,
    limit: int = 500,
) -> list[PlanOut]:
    """联系计划 of customers the actor may read (mine: the actor's own plans)."""
    scope = await access.read_where(actor)
    in_scope = Customer.select(Customer.id)
    clause = where_all(
        Plan.customer.is_in(in_scope.where(scope) if scope is not None else in_scope),
        Plan.user == actor.user_id if mine and actor.user_id is not None else None,
        Plan.done_at.is_null() if open_only else None,
        Plan.due_at >= start if start else None,
        Plan.due_at < end if end else None,
    )
    rows = await Plan.select().where(clause).order_by(Plan.due_at).limit(limit)
    return [plan_out(r) for r in rows]


async def plans_of(actor: Actor, customer_id: int) -> list[PlanOut]:
    await access.readable(actor, customer_id)
    rows = await Plan.select().where(Plan.customer == customer_id).order_by(Plan.due_at)
    return [plan_out(r) for r in rows]


async def core_timeline(actor: Actor, customer_id: int) -> list[TimelineEntry]:
    """Core's own timeline entries: follow-ups and plans (the caller has checked read access)."""
    out = [
        TimelineEntry(at=f.at, kind="followup", title=f"{f.method}联系 {f.kind}".strip(), summary=f.summary)
        for f in await followups_of(actor, customer_id)
    ]
    for p in await plans_of(actor, customer_id):
        state = "已完成" if p.done_at else "待办"
        out.append(TimelineEntry(at=p.due_at, kind="plan", title=f"联系计划（{state}）", summary=p.subject))
    return out
