"""导出: exactly the opportunities the filter and the actor's scope allow, as xlsx or csv (audited)."""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import msgspec
import xlsxwriter

from core.audit.log import record
from core.host import SHANGHAI
from core.perms.actor import Actor
from plugins.sales import access, search
from plugins.sales.money import yuan
from plugins.sales.records import customer_names, names_of
from plugins.sales.schemas import ListQuery
from plugins.sales.tables import Opportunity

COLUMNS: list[tuple[str, str]] = [
    ("number", "编号"),
    ("name", "机会名称"),
    ("customer", "客户编号"),
    ("customer_name", "客户"),
    ("start_date", "开始日期"),
    ("expected_close", "预计成交日期"),
    ("stage", "阶段"),
    ("state", "状态"),
    ("source", "来源"),
    ("importance", "重要程度"),
    ("type", "类型"),
    ("probability", "可能性"),
    ("amount", "金额"),
    ("needs", "需求"),
    ("owner", "负责人"),
    ("notes", "备注"),
    ("created_at", "创建时间"),
]
BATCH = 2000


def _cell(key: str, r: dict[str, Any], customers: dict[int, str], owners: dict[int, str]) -> Any:
    if key == "customer_name":
        return customers.get(r["customer"], "")
    if key == "owner":
        return owners.get(r["owner"], "") if r["owner"] else ""
    if key == "amount":
        return yuan(r["amount_fen"])  # a number cell in xlsx, the exact "1200.50" in csv
    if key == "needs":
        return "、".join(msgspec.json.decode(r["needs"] or "[]"))
    value = r[key]
    if isinstance(value, dt.datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@")):
        return "'" + value  # never a formula in the user's spreadsheet
    return "" if value is None else value


async def rows(actor: Actor, query: ListQuery):
    """Batches of export rows, walked by id so memory stays flat."""
    clause = await search.filter_clause(actor, query, access.EXPORT)
    cols = [Opportunity.id, *(getattr(Opportunity, k) for k, _ in COLUMNS if k not in ("customer_name", "amount")),
            Opportunity.amount_fen]
    last = 0
    while True:
        where = Opportunity.id > last if clause is None else (clause & (Opportunity.id > last))
        batch = await Opportunity.select(*cols).where(where).order_by(Opportunity.id).limit(BATCH)
        if not batch:
            return
        customers = await customer_names({r["customer"] for r in batch})
        owners = await names_of({r["owner"] for r in batch if r["owner"]})
        yield [[_cell(k, r, customers, owners) for k, _ in COLUMNS] for r in batch]
        last = batch[-1]["id"]


def _write(sheet: Any, first: int, batch: list[list[Any]]) -> None:
    for offset, row in enumerate(batch):
        sheet.write_row(first + offset, 0, row)


async def export(actor: Actor, query: ListQuery, fmt: str) -> tuple[Path, int]:
    """Write to a temporary file; returns (path, rows). The caller streams and deletes it."""
    fd = tempfile.NamedTemporaryFile(prefix="opportunities-", suffix=f".{fmt}", delete=False)
    path = Path(fd.name)
    fd.close()
    count = 0
    headers = [label for _, label in COLUMNS]
    if fmt == "csv":
        f = await anyio.to_thread.run_sync(partial(path.open, "w", encoding="utf-8-sig", newline=""))
        try:
            writer = csv.writer(f)
            writer.writerow(headers)
            async for batch in rows(actor, query):
                await anyio.to_thread.run_sync(writer.writerows, batch)
                count += len(batch)
        finally:
            f.close()
    else:
        book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                               "strings_to_numbers": False, "strings_to_urls": False})
        sheet = book.add_worksheet("销售机会")
        sheet.write_row(0, 0, headers)
        async for batch in rows(actor, query):
            await anyio.to_thread.run_sync(_write, sheet, count + 1, batch)
            count += len(batch)
        await anyio.to_thread.run_sync(book.close)
    await record(actor, "export", "opportunity", meta={"filters": search.filters_of(query), "rows": count,
                                                       "format": fmt})
    return path, count
