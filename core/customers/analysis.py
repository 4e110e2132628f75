"""客户分析: counts by a dimension, and over time (day/month/quarter/year), within the actor's scope.

Grouping by time happens in Python over local (Asia/Shanghai) dates, which keeps the SQL the same on
both databases; the scope clause still limits the rows read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from typing import Any

from piccolo.query.functions.aggregate import Count

from core.audit.log import record
from core.customers import search
from core.customers.errors import InvalidInput
from core.customers.schemas import ListQuery
from core.customers.tables import Customer
from core.host import SHANGHAI
from core.perms.actor import Actor

DIMENSIONS = {
    "type": Customer.type,
    "category": Customer.category,
    "province": Customer.province,
    "city": Customer.city,
    "industry": Customer.industry,
    "source": Customer.source,
    "level": Customer.level,
    "owner": Customer.owner,
    "department": Customer.department,
    "kind": Customer.kind,
}
PERIODS = ("day", "month", "quarter", "year")


def period_key(at: dt.datetime, period: str) -> str:
    local = at.astimezone(SHANGHAI)
    if period == "day":
        return local.date().isoformat()
    if period == "month":
        return f"{local.year}-{local.month:02d}"
    if period == "quarter":
        return f"{local.year}-Q{(local.month - 1) // 3 + 1}"
    return str(local.year)


async def counts(
    actor: Actor,
    by: str,
    query: ListQuery | None = None,
    period: str | None = None,
) -> list[dict[str, Any]]:
    """[{key, period?, count}] sorted by count, for customers the actor may read."""
    if by not in DIMENSIONS:
        raise InvalidInput(f"未知的分析维度 {by} / unknown dimension {by!r}")
    if period is not None and period not in PERIODS:
        raise InvalidInput(f"未知的时间粒度 {period} / unknown period {period!r}")
    query = query or ListQuery(view="all")
    clause = await search.filter_clause(actor, query)
    column = DIMENSIONS[by]
    if period is None:
        grouped = Customer.select(column.as_alias("key"), Count(alias="n")).group_by(column)
        rows = await (grouped.where(clause) if clause is not None else grouped)
        out = sorted(
            ({"key": r["key"] if r["key"] is not None else "", "count": r["n"]} for r in rows),
            key=lambda r: (-r["count"], str(r["key"])),
        )
    else:
        base = Customer.select(column.as_alias("key"), Customer.created_at)
        rows = await (base.where(clause) if clause is not None else base)
        counter = Counter((r["key"], period_key(r["created_at"], period)) for r in rows)
        out = [
            {"key": k if k is not None else "", "period": p, "count": n}
            for (k, p), n in sorted(counter.items(), key=lambda kv: (kv[0][1], str(kv[0][0])))
        ]
    await record(
        actor,
        "query",
        "customer_analysis",
        meta={"by": by, "period": period, "filters": search.filters_of(query), "rows": len(out)},
    )
    return out


def to_csv(rows: list[dict[str, Any]], by: str, period: str | None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([by, *(["period"] if period else []), "count"])
    for r in rows:
        writer.writerow([r["key"], *([r["period"]] if period else []), r["count"]])
    return out.getvalue().encode("utf-8-sig")
