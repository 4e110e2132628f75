"""外呼统计: per person, department, campaign, SIM or day/week/month, within the caller's scope.

Person, department, campaign and SIM are aggregated by the database (GROUP BY, the same SQL on SQLite and
PostgreSQL apart from the hour bucket); day, week and month are bucketed here in Asia/Shanghai time.

Calls per hour (每小时拨打) = dials ÷ the number of distinct Asia/Shanghai clock hours (date + hour) in which
the row dialed at least once; 0 when it has no dials. A salesperson who dialed 30 calls between 09:00 and
09:59 and 10 between 14:00 and 14:59 made 40 dials in 2 active hours: 20 calls per hour. Idle hours do not
dilute the figure, so it measures dialing pace, not working time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import xlsxwriter
from piccolo.query.functions.aggregate import Count
from piccolo.querystring import QueryString

from core.auth.tables import User
from core.db import is_sqlite
from core.org.tables import Department
from core.perms.actor import Actor
from core.perms.scope import scope_where, where_all
from plugins.dialer.engine.calendar import zone
from plugins.dialer.errors import DialerInputError
from plugins.dialer.schemas import StatRow
from plugins.dialer.tables import Call, Campaign

BY = ("user", "department", "campaign", "sim", "day", "week", "month")
TIME_BY = ("day", "week", "month")
TZ = "Asia/Shanghai"
# Chinese header row of the exports (the same columns as StatRow, in order).
COLUMNS = (("key", "维度"), ("label", "名称"), ("dials", "拨打"), ("answered", "接通"), ("answer_rate", "接通率"),
           ("effective", "有效通话"), ("talk_s", "通话秒数"), ("avg_talk_s", "平均通话秒数"),
           ("abandoned", "放弃"), ("abandoned_rate", "放弃率"), ("active_hours", "拨打小时数"),
           ("calls_per_hour", "每小时拨打"))


def _key(r: dict[str, Any], by: str) -> str:
    if by in TIME_BY:
        d = r["dial_at"].astimezone(zone(TZ)).date()
        if by == "day":
            return d.isoformat()
        if by == "week":
            y, w, _ = d.isocalendar()
            return f"{y}-W{w:02d}"
        return d.strftime("%Y-%m")
    if by == "sim":
        return f"{r['device_name']}:{r['slot']}"
    return str(r[by] or "")


def _hour(at: dt.datetime) -> tuple[dt.date, int]:
    local = at.astimezone(zone(TZ))
    return local.date(), local.hour


async def _where(actor: Actor, start: dt.date | None, end: dt.date | None) -> Any:
    clauses = [await scope_where(actor, "dialer:stats", owner=Call.user, department=Call.department)]
    tz = zone(TZ)
    if start is not None:
        clauses.append(Call.dial_at >= dt.datetime(start.year, start.month, start.day, tzinfo=tz))
    if end is not None:
        e = end + dt.timedelta(days=1)
        clauses.append(Call.dial_at < dt.datetime(e.year, e.month, e.day, tzinfo=tz))
    return where_all(*clauses)


def _sum_if(flag: Any, alias: str, value: Any = None) -> QueryString:
    if value is None:
        return QueryString("SUM(CASE WHEN {} THEN 1 ELSE 0 END)", flag, alias=alias)
    return QueryString("SUM(CASE WHEN {} THEN {} ELSE 0 END)", flag, value, alias=alias)


def _hours_expr() -> QueryString:
    """COUNT of distinct Asia/Shanghai (date, hour) buckets. UTC+8 has no DST, so on SQLite (timestamps stored as
    UTC ISO text) the UTC hour shifted by 8 hours is the Shanghai hour."""
    if is_sqlite():
        return QueryString("COUNT(DISTINCT strftime('%Y-%m-%d %H', {}, '+8 hours'))", Call.dial_at, alias="hours")
    return QueryString("COUNT(DISTINCT date_trunc('hour', {} AT TIME ZONE 'Asia/Shanghai'))", Call.dial_at,
                       alias="hours")


async def _grouped(by: str, clause: Any) -> dict[str, list[float]]:
    """user / department / campaign / sim: one row per group from the database."""
    groups = {"user": (Call.user,), "department": (Call.department,), "campaign": (Call.campaign,),
              "sim": (Call.device_name, Call.slot)}[by]
    q = Call.select(*groups, Count(alias="dials"), _sum_if(Call.answered, "answered"),
                    _sum_if(Call.effective, "effective"), _sum_if(Call.answered, "talk", Call.talk_s),
                    _sum_if(Call.abandoned, "abandoned"), _hours_expr()).group_by(*groups)
    rows = await (q.where(clause) if clause is not None else q)
    agg: dict[str, list[float]] = {}
    for r in rows:
        a = agg.setdefault(_key(r, by), [0, 0, 0, 0.0, 0, 0])
        a[0] += int(r["dials"] or 0)
        a[1] += int(r["answered"] or 0)
        a[2] += int(r["effective"] or 0)
        a[3] += float(r["talk"] or 0.0)
        a[4] += int(r["abandoned"] or 0)
        a[5] += int(r["hours"] or 0)
    return agg


async def _bucketed(by: str, clause: Any) -> dict[str, list[float]]:
    """day / week / month: bucketed here (Asia/Shanghai calendar)."""
    q = Call.select(Call.dial_at, Call.answered, Call.effective, Call.talk_s, Call.abandoned)
    rows = await (q.where(clause) if clause is not None else q)
    agg: dict[str, list[float]] = {}
    hours: dict[str, set[tuple[dt.date, int]]] = {}
    for r in rows:
        key = _key(r, by)
        a = agg.setdefault(key, [0, 0, 0, 0.0, 0, 0])
        a[0] += 1
        a[1] += 1 if r["answered"] else 0
        a[2] += 1 if r["effective"] else 0
        a[3] += r["talk_s"] if r["answered"] else 0.0
        a[4] += 1 if r["abandoned"] else 0
        hours.setdefault(key, set()).add(_hour(r["dial_at"]))
    for key, a in agg.items():
        a[5] = len(hours[key])
    return agg


async def stats(actor: Actor, by: str = "user", start: dt.date | None = None,
                end: dt.date | None = None) -> list[StatRow]:
    """Rows sorted by key. Scope: `dialer:stats` over the call's salesperson and department."""
    if by not in BY:
        raise DialerInputError(f"统计维度须为 {', '.join(BY)} 之一", f"'by' must be one of {', '.join(BY)}")
    if start is not None and end is not None and start > end:
        raise DialerInputError("开始日期不能晚于结束日期", "the start date is after the end date")
    clause = await _where(actor, start, end)
    agg = await (_bucketed(by, clause) if by in TIME_BY else _grouped(by, clause))
    labels = await _labels(by, list(agg))
    out = []
    for key, (dials, answered, effective, talk, abandoned, hours) in sorted(agg.items()):
        out.append(StatRow(key=key, label=labels.get(key, key or "—"), dials=int(dials), answered=int(answered),
                           answer_rate=round(answered / dials, 4) if dials else 0.0, effective=int(effective),
                           talk_s=round(talk, 1), avg_talk_s=round(talk / answered, 1) if answered else 0.0,
                           abandoned=int(abandoned),
                           abandoned_rate=round(abandoned / answered, 4) if answered else 0.0,
                           active_hours=int(hours), calls_per_hour=round(dials / hours, 2) if hours else 0.0))
    return out


def total_of(rows: list[StatRow], by: str) -> StatRow | None:
    """The 合计 row. Active hours add up only over periods (disjoint); people or SIMs dialing in the same hour
    overlap, so their total has no calls-per-hour figure (0)."""
    if not rows:
        return None
    d, a, e = sum(r.dials for r in rows), sum(r.answered for r in rows), sum(r.effective for r in rows)
    talk, ab = sum(r.talk_s for r in rows), sum(r.abandoned for r in rows)
    hours = sum(r.active_hours for r in rows) if by in TIME_BY else 0
    return StatRow(key="", label="合计", dials=d, answered=a, answer_rate=round(a / d, 4) if d else 0.0, effective=e,
                   talk_s=round(talk, 1), avg_talk_s=round(talk / a, 1) if a else 0.0, abandoned=ab,
                   abandoned_rate=round(ab / a, 4) if a else 0.0, active_hours=hours,
                   calls_per_hour=round(d / hours, 2) if hours else 0.0)


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


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # never a formula in the user's spreadsheet
    return value


def _table(rows: list[StatRow]) -> list[list[Any]]:
    return [[_cell(getattr(r, name)) for name, _ in COLUMNS] for r in rows]


def csv_of(rows: list[StatRow]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([head for _, head in COLUMNS])
    writer.writerows(_table(rows))
    return buf.getvalue()


def xlsx_of(rows: list[StatRow], by: str) -> bytes:
    """One sheet, a Chinese header row, numbers as numbers (rates as percentages)."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
                                     "strings_to_urls": False})
    sheet = book.add_worksheet("外呼统计")
    bold = book.add_format({"bold": True})
    pct = book.add_format({"num_format": "0.0%"})
    sheet.write_row(0, 0, [head for _, head in COLUMNS], bold)
    for i, values in enumerate(_table(rows), start=1):
        for j, (name, _) in enumerate(COLUMNS):
            sheet.write(i, j, values[j], pct if name.endswith("_rate") else None)
    sheet.set_column(0, 1, 18)
    sheet.set_column(2, len(COLUMNS) - 1, 11)
    sheet.freeze_panes(1, 0)
    book.close()
    return buf.getvalue()


def export_meta(by: str, start: dt.date | None, end: dt.date | None, fmt: str, count: int) -> dict[str, Any]:
    return {"filters": {"by": by, "start": start.isoformat() if start else None,
                        "end": end.isoformat() if end else None}, "rows": count, "format": fmt}
