"""销售分析 (team edition): funnel, conversion between stages, win rate and cycle by owner/department/source,
opportunities by period — over exactly the opportunities the actor's `sales:analysis` scope and the
list filters allow.

Definitions (the tests recompute each with plain SQL):
- funnel: per current stage, count, Σ amount, Σ amount × probability / 100;
- conversion: the stage sequence without lost stages; an opportunity *reached* stage i when its history
  shows it entered stage i or a later one; conversion i→i+1 = reached(i+1) / reached(i);
- win rate = won / (won + lost) of decided opportunities; cycle = mean of (closed_on − start_date) in days
  over won ones;
- periods: by start date (day, month, quarter or year): count, Σ amount, won count, won Σ amount.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import msgspec
from piccolo.query.functions.aggregate import Count, Sum

from core.customers.errors import InvalidInput
from core.org.tables import Department
from core.perms.actor import Actor
from plugins.sales import access, search
from plugins.sales.money import weighted_yuan, yuan
from plugins.sales.reads import reads
from plugins.sales.records import names_of
from plugins.sales.schemas import ListQuery
from plugins.sales.settings import SalesSettings
from plugins.sales.settings import current as current_settings
from plugins.sales.tables import Opportunity, StageHistory

DIMENSIONS = {"owner": "负责人", "department": "部门", "source": "来源"}
PERIODS = {"day": "日", "month": "月", "quarter": "季度", "year": "年"}
ONE_PLACE = Decimal("0.1")


class FunnelRow(msgspec.Struct, kw_only=True):
    stage: str
    outcome: str
    count: int
    amount: Decimal
    weighted_amount: Decimal


class ConversionRow(msgspec.Struct, kw_only=True):
    from_stage: str
    to_stage: str
    reached_from: int
    reached_to: int
    rate: Decimal | None  # percent, one decimal


class GroupRow(msgspec.Struct, kw_only=True):
    key: str
    label: str
    count: int
    open: int
    won: int
    lost: int
    win_rate: Decimal | None  # percent of decided
    won_amount: Decimal
    avg_cycle_days: Decimal | None


class PeriodRow(msgspec.Struct, kw_only=True):
    period: str
    count: int
    amount: Decimal
    won: int
    won_amount: Decimal


class Report(msgspec.Struct, kw_only=True):
    by: str
    period: str
    total_count: int
    total_amount: Decimal
    total_weighted: Decimal
    funnel: list[FunnelRow]
    conversion: list[ConversionRow]
    groups: list[GroupRow]
    periods: list[PeriodRow]


def percent(part: int, whole: int) -> Decimal | None:
    return None if whole == 0 else (Decimal(part) * 100 / whole).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def _scoped(select: Any, clause: Any) -> Any:
    return select.where(clause) if clause is not None else select


async def funnel(clause: Any, settings: SalesSettings) -> list[FunnelRow]:
    rows = await _scoped(Opportunity.select(
        Opportunity.stage, Count(alias="n"), Sum(Opportunity.amount_fen, alias="amount"),
        Sum(Opportunity.weighted_x100, alias="weighted")), clause).group_by(Opportunity.stage)
    found = {r["stage"]: r for r in rows}
    order = settings.stage_names() + sorted(set(found) - set(settings.stage_names()))
    out = []
    for name in order:
        r = found.get(name, {"n": 0, "amount": 0, "weighted": 0})
        stage = settings.stage(name)
        out.append(FunnelRow(stage=name, outcome=stage.outcome if stage else "open", count=int(r["n"]),
                             amount=yuan(r["amount"] or 0), weighted_amount=weighted_yuan(r["weighted"] or 0)))
    return out


def sequence(settings: SalesSettings) -> list[str]:
    """The stages an opportunity passes through on the way to winning (lost stages left out)."""
    return [s.name for s in settings.stages if s.outcome != "lost"]


async def reached(clause: Any, seq: list[str]) -> list[int]:
    """reached[i]: opportunities in scope whose history entered seq[i] or a later stage of `seq`."""
    if not seq:
        return []
    cases = " ".join("WHEN {} THEN " + str(i) for i in range(len(seq)))
    scope = _scoped(Opportunity.select(Opportunity.id), clause)
    rows = await StageHistory.raw(
        "SELECT r, COUNT(*) AS n FROM (SELECT opportunity, MAX(CASE to_value " + cases + " ELSE -1 END) AS r "
        "FROM sales_opportunity_history WHERE field = 'stage' AND opportunity IN ({}) GROUP BY opportunity) t "
        "GROUP BY r", *seq, scope.querystrings[0])
    counts = {int(r["r"]): int(r["n"]) for r in rows}
    out, running = [0] * len(seq), 0
    for i in range(len(seq) - 1, -1, -1):
        running += counts.get(i, 0)
        out[i] = running
    return out


async def conversion(clause: Any, settings: SalesSettings) -> list[ConversionRow]:
    seq = sequence(settings)
    counts = await reached(clause, seq)
    return [ConversionRow(from_stage=seq[i], to_stage=seq[i + 1], reached_from=counts[i], reached_to=counts[i + 1],
                          rate=percent(counts[i + 1], counts[i])) for i in range(len(seq) - 1)]


async def _labels(by: str, keys: set[Any]) -> dict[Any, str]:
    if by == "owner":
        return await names_of({k for k in keys if k is not None})
    if by == "department":
        ids = [k for k in keys if k is not None]
        rows = await Department.select(Department.id, Department.name).where(Department.id.is_in(ids)) if ids else []
        return {r["id"]: r["name"] for r in rows}
    return {k: k for k in keys}


async def groups(clause: Any, by: str) -> list[GroupRow]:
    col = getattr(Opportunity, by)
    rows = await _scoped(Opportunity.select(
        col, Opportunity.outcome, Count(alias="n"), Sum(Opportunity.amount_fen, alias="amount"),
        Sum(Opportunity.cycle_days, alias="cycle")), clause).group_by(col, Opportunity.outcome)
    acc: dict[Any, dict[str, int]] = {}
    for r in rows:
        a = acc.setdefault(r[by], {"open": 0, "won": 0, "lost": 0, "won_fen": 0, "cycle": 0})
        a[r["outcome"]] = a.get(r["outcome"], 0) + int(r["n"])
        if r["outcome"] == "won":
            a["won_fen"] += int(r["amount"] or 0)
            a["cycle"] += int(r["cycle"] or 0)
    labels = await _labels(by, set(acc))
    out = []
    for key, a in acc.items():
        decided = a["won"] + a["lost"]
        avg = (Decimal(a["cycle"]) / a["won"]).quantize(ONE_PLACE, rounding=ROUND_HALF_UP) if a["won"] else None
        out.append(GroupRow(
            key="" if key is None else str(key), label=labels.get(key) or "（未填写）", count=a["open"] + decided,
            open=a["open"], won=a["won"], lost=a["lost"], win_rate=percent(a["won"], decided),
            won_amount=yuan(a["won_fen"]), avg_cycle_days=avg))
    return sorted(out, key=lambda g: (-g.count, g.label))


def period_key(day: dt.date, period: str) -> str:
    if period == "day":
        return day.isoformat()
    if period == "month":
        return f"{day:%Y-%m}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


async def periods(clause: Any, period: str) -> list[PeriodRow]:
    """Grouped by start date and outcome in SQL, then folded into periods (a few thousand rows at most)."""
    rows = await _scoped(Opportunity.select(
        Opportunity.start_date, Opportunity.outcome, Count(alias="n"), Sum(Opportunity.amount_fen, alias="amount")),
        clause).group_by(Opportunity.start_date, Opportunity.outcome)
    acc: dict[str, list[int]] = {}
    for r in rows:
        day = r["start_date"]
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        a = acc.setdefault(period_key(day, period), [0, 0, 0, 0])
        a[0] += int(r["n"])
        a[1] += int(r["amount"] or 0)
        if r["outcome"] == "won":
            a[2] += int(r["n"])
            a[3] += int(r["amount"] or 0)
    return [PeriodRow(period=k, count=a[0], amount=yuan(a[1]), won=a[2], won_amount=yuan(a[3]))
            for k, a in sorted(acc.items())]


async def report(actor: Actor, query: ListQuery, *, by: str = "owner", period: str = "month") -> Report:
    if by not in DIMENSIONS:
        raise InvalidInput(f"分组只能是 {'/'.join(DIMENSIONS)} / `by` must be one of {list(DIMENSIONS)}")
    if period not in PERIODS:
        raise InvalidInput(f"周期只能是 {'/'.join(PERIODS)} / `period` must be one of {list(PERIODS)}")
    async with reads():
        settings = await current_settings()
        clause = await search.filter_clause(actor, query, access.ANALYSIS)
        rows = await funnel(clause, settings)
        return Report(
            by=by, period=period, total_count=sum(r.count for r in rows),
            total_amount=sum((r.amount for r in rows), Decimal("0.00")),
            total_weighted=sum((r.weighted_amount for r in rows), Decimal("0.00")), funnel=rows,
            conversion=await conversion(clause, settings), groups=await groups(clause, by),
            periods=await periods(clause, period),
        )


def _fmt(value: Any) -> str:
    return "" if value is None else str(value)


def to_csv(r: Report) -> bytes:
    """All four tables of the report, one after the other, for Excel (UTF-8 with BOM)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["销售漏斗"])
    w.writerow(["阶段", "数量", "金额", "加权金额"])
    w.writerows([[f.stage, f.count, f.amount, f.weighted_amount] for f in r.funnel])
    w.writerow([])
    w.writerow(["阶段转化"])
    w.writerow(["从", "到", "到达前一阶段", "到达后一阶段", "转化率%"])
    w.writerows([[c.from_stage, c.to_stage, c.reached_from, c.reached_to, _fmt(c.rate)] for c in r.conversion])
    w.writerow([])
    w.writerow([f"按{DIMENSIONS[r.by]}"])
    w.writerow([DIMENSIONS[r.by], "机会数", "跟进中", "赢单", "输单", "赢单率%", "赢单金额", "平均周期（天）"])
    w.writerows([[g.label, g.count, g.open, g.won, g.lost, _fmt(g.win_rate), g.won_amount, _fmt(g.avg_cycle_days)]
                 for g in r.groups])
    w.writerow([])
    w.writerow([f"按{PERIODS[r.period]}"])
    w.writerow(["周期", "机会数", "金额", "赢单数", "赢单金额"])
    w.writerows([[p.period, p.count, p.amount, p.won, p.won_amount] for p in r.periods])
    return ("\ufeff" + buf.getvalue()).encode()
