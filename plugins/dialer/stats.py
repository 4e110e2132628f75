"""外呼统计: per person, department, campaign, SIM or day/week/month, within the caller's scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.auth.tables import User
from core.org.tables import Department
from core.perms.actor import Actor
from core.perms.scope import scope_where, where_all
from plugins.dialer.engine.calendar import zone
from plugins.dialer.errors import DialerInputError
from plugins.dialer.schemas import StatRow
from plugins.dialer.tables import Call, Campaign

BY = ("user", "department", "campaign", "sim", "day", "week", "month")


def _key(r: dict[str, Any], by: str) -> str:
    if by in ("day", "week", "month"):
        d = r["dial_at"].astimezone(zone("Asia/Shanghai")).date()
        if by == "day":
            return d.isoformat()
        if by == "week":
            y, w, _ = d.isocalendar()
            return f"{y}-W{w:02d}"
        return d.strftime("%Y-%m")
    if by == "sim":
        return f"{r['device_name']}:{r['slot']}"
    return str(r[by] or "")


async def stats(actor: Actor, by: str = "user", start: dt.date | None = None,
                end: dt.date | None = None) -> list[StatRow]:
    if by not in BY:
        raise DialerInputError(f"统计维度须为 {', '.join(BY)} 之一", f"'by' must be one of {', '.join(BY)}")
    clauses = [await scope_where(actor, "dialer:stats", owner=Call.user, department=Call.department)]
    tz = zone("Asia/Shanghai")
    if start is not None:
        clauses.append(Call.dial_at >= dt.datetime(start.year, start.month, start.day, tzinfo=tz))
    if end is not None:
        e = end + dt.timedelta(days=1)
        clauses.append(Call.dial_at < dt.datetime(e.year, e.month, e.day, tzinfo=tz))
    clause = where_all(*clauses)
    q = Call.select(Call.user, Call.department, Call.campaign, Call.device_name, Call.slot, Call.dial_at,
                    Call.answered, Call.effective, Call.talk_s, Call.abandoned)
    rows = await (q.where(clause) if clause is not None else q)
    agg: dict[str, list[float]] = {}
    for r in rows:
        a = agg.setdefault(_key(r, by), [0, 0, 0, 0.0, 0])
        a[0] += 1
        a[1] += 1 if r["answered"] else 0
        a[2] += 1 if r["effective"] else 0
        a[3] += r["talk_s"] if r["answered"] else 0.0
        a[4] += 1 if r["abandoned"] else 0
    labels = await _labels(by, list(agg))
    out = []
    for key, (dials, answered, effective, talk, abandoned) in sorted(agg.items()):
        out.append(StatRow(key=key, label=labels.get(key, key or "—"), dials=int(dials), answered=int(answered),
                           answer_rate=round(answered / dials, 4) if dials else 0.0, effective=int(effective),
                           talk_s=round(talk, 1), avg_talk_s=round(talk / answered, 1) if answered else 0.0,
                           abandoned=int(abandoned),
                           abandoned_rate=round(abandoned / answered, 4) if answered else 0.0))
    return out


async def _labels(by: str, keys: list[str]) -> dict[str, str]:
    ids = [int(k) for k in keys if k.isdigit()]
    if not ids:
        return {}
    if by == "user":
        return {str(r["id"]): r["display_name"] for r in await User.select(User.id, User.display_name).where(
            User.id.is_in(ids))}
    if by == "department":
        return {str(r["id"]): r["name"] for r in await Department.select(Department.id, Department.name).where(
            Department.id.is_in(ids))}
    if by == "campaign":
        return {str(r["id"]): r["name"] for r in await Campaign.select(Campaign.id, Campaign.name).where(
            Campaign.id.is_in(ids))}
    return {}


def csv_of(rows: list[StatRow]) -> str:
    head = "维度,名称,拨打,接通,接通率,有效通话,通话秒数,平均通话秒数,放弃,放弃率\n"
    return head + "".join(f"{r.key},{r.label},{r.dials},{r.answered},{r.answer_rate},{r.effective},{r.talk_s},"
                          f"{r.avg_talk_s},{r.abandoned},{r.abandoned_rate}\n" for r in rows)
