"""销售业绩: won amount, new opportunities and follow-ups this/last week and month, for the actor and the
people they manage (the reach of their `opportunities:read` scope)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
from piccolo.query.functions.aggregate import Count, Sum

from core.auth.tables import User
from core.customers.tables import Followup
from core.host import SHANGHAI
from core.perms.actor import Actor
from core.perms.scope import department_subtree
from plugins.sales import access
from plugins.sales.money import yuan
from plugins.sales.tables import Opportunity


class Figures(msgspec.Struct, kw_only=True):
    won_amount: Decimal
    won: int
    new_opportunities: int
    followups: int


class PersonFigures(msgspec.Struct, kw_only=True):
    user_id: int
    name: str
    figures: Figures


class PeriodFigures(msgspec.Struct, kw_only=True):
    key: str
    label: str
    start: dt.date
    end: dt.date  # exclusive
    total: Figures
    people: list[PersonFigures]


def windows(today: dt.date) -> list[tuple[str, str, dt.date, dt.date]]:
    monday = today - dt.timedelta(days=today.weekday())
    first = today.replace(day=1)
    last_month_first = (first - dt.timedelta(days=1)).replace(day=1)
    return [
        ("this_week", "本周", monday, today + dt.timedelta(days=1)),
        ("last_week", "上周", monday - dt.timedelta(days=7), monday),
        ("this_month", "本月", first, today + dt.timedelta(days=1)),
        ("last_month", "上月", last_month_first, first),
    ]


async def managed_users(actor: Actor) -> list[int] | None:
    """The actor and the people they manage; None = everyone (scope all)."""
    scope = actor.scope_of(access.READ)
    if scope == "all":
        return None
    if scope in ("department", "subtree") and actor.department_id is not None:
        depts = [actor.department_id] if scope == "department" else await department_subtree(actor.department_id)
        ids = {r["id"] for r in await User.select(User.id).where(User.department.is_in(depts))}
        return sorted(ids | ({actor.user_id} if actor.user_id else set()))
    return [actor.user_id] if actor.user_id is not None else []


def _local(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.UTC)


async def _by_user(select: Any, users: list[int] | None, user_col: Any, key: str) -> dict[int, dict[str, Any]]:
    if users is not None:
        select = select.where(user_col.is_in(users or [0]))
    return {r[key]: r for r in await select.group_by(user_col)}


async def figures(actor: Actor, today: dt.date) -> list[PeriodFigures]:
    users = await managed_users(actor)
    out = []
    for key, label, start, end in windows(today):
        won = await _by_user(Opportunity.select(Opportunity.owner, Count(alias="n"),
                                                Sum(Opportunity.amount_fen, alias="amount")).where(
            (Opportunity.outcome == "won") & (Opportunity.closed_on >= start) & (Opportunity.closed_on < end)),
            users, Opportunity.owner, "owner")
        new = await _by_user(Opportunity.select(Opportunity.owner, Count(alias="n")).where(
            (Opportunity.created_at >= _local(start)) & (Opportunity.created_at < _local(end))),
            users, Opportunity.owner, "owner")
        follow = await _by_user(Followup.select(Followup.user, Count(alias="n")).where(
            (Followup.at >= _local(start)) & (Followup.at < _local(end))), users, Followup.user, "user")
        people_ids = sorted({k for k in (*won, *new, *follow) if k is not None} | set(
            [actor.user_id] if actor.user_id else []))
        names = {r["id"]: r["display_name"] for r in await User.select(User.id, User.display_name).where(
            User.id.is_in(people_ids or [0]))}
        people = []
        for uid in people_ids:
            people.append(PersonFigures(user_id=uid, name=names.get(uid, str(uid)), figures=Figures(
                won_amount=yuan(int(won.get(uid, {}).get("amount") or 0)), won=int(won.get(uid, {}).get("n") or 0),
                new_opportunities=int(new.get(uid, {}).get("n") or 0),
                followups=int(follow.get(uid, {}).get("n") or 0))))
        total = Figures(won_amount=sum((p.figures.won_amount for p in people), Decimal("0.00")),
                        won=sum(p.figures.won for p in people),
                        new_opportunities=sum(p.figures.new_opportunities for p in people),
                        followups=sum(p.figures.followups for p in people))
        out.append(PeriodFigures(key=key, label=label, start=start, end=end, total=total, people=people))
    return out
