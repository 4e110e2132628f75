"""导出: exactly the rows the current filter and the actor's scope allow, as xlsx or csv (audited)."""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import xlsxwriter
from litestar.exceptions import PermissionDeniedException

from core.audit.log import record
from core.customers import search
from core.customers.schemas import ListQuery
from core.customers.tables import ContactPhone, Customer
from core.host import SHANGHAI
from core.perms.actor import Actor

COLUMNS: list[tuple[str, str]] = [
    ("id", "编号"),
    ("name", "客户名称"),
    ("kind", "客户性质"),
    ("credit_code", "统一社会信用代码"),
    ("type", "客户类型"),
    ("category", "客户分类"),
    ("level", "客户级别"),
    ("industry", "行业"),
    ("province", "省份"),
    ("city", "城市"),
    ("source", "客户来源"),
    ("address", "地址"),
    ("website", "网址"),
    ("tags", "标签"),
    ("phones", "电话"),
    ("owner", "负责人"),
    ("created_at", "创建时间"),
    ("last_followup_at", "最后联系时间"),
]
BATCH = 2000
KIND_LABELS = {"enterprise": "企业", "individual": "个人"}


def _cell(key: str, row: dict[str, Any], phones: dict[int, list[str]], names: dict[int, str]) -> Any:
    if key == "phones":
        return ", ".join(phones.get(row["id"], []))
    if key == "owner":
        return names.get(row["owner"], "") if row["owner"] else ""
    if key == "kind":
        return KIND_LABELS.get(row["kind"], row["kind"])
    value = row[key]
    if isinstance(value, dt.datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@")):
        return "'" + value  # never let a cell become a formula in the user's spreadsheet
    return value if value is not None else ""


async def _rows(actor: Actor, query: ListQuery):
    """Batches of export rows, walked by id so memory stays flat."""
    clause = await search.filter_clause(actor, query)
    cols = [getattr(Customer, k) for k, _ in COLUMNS if k not in ("phones",)]
    last = 0
    while True:
        where = Customer.id > last if clause is None else (clause & (Customer.id > last))
        rows = await Customer.select(*cols).where(where).order_by(Customer.id).limit(BATCH)
        if not rows:
            return
        ids = [r["id"] for r in rows]
        phones: dict[int, list[str]] = {}
        for p in await ContactPhone.select(ContactPhone.customer, ContactPhone.e164).where(
            ContactPhone.customer.is_in(ids)
        ):
            phones.setdefault(p["customer"], []).append(p["e164"])
        names = await search.owner_names({r["owner"] for r in rows if r["owner"]})
        yield [[_cell(k, r, phones, names) for k, _ in COLUMNS] for r in rows]
        last = ids[-1]


def _write_rows(sheet: Any, first: int, rows: list[list[Any]]) -> None:
    for offset, row in enumerate(rows):
        sheet.write_row(first + offset, 0, row)


async def export(actor: Actor, query: ListQuery, fmt: str) -> tuple[Path, int]:
    """Write the file to a temporary path; returns (path, row count). The caller streams and deletes it."""
    if not actor.can("customers:export"):
        raise PermissionDeniedException("需要导出权限 / permission required: customers:export")
    fd = tempfile.NamedTemporaryFile(prefix="customers-", suffix=f".{fmt}", delete=False)
    path = Path(fd.name)
    fd.close()
    count = 0
    if fmt == "csv":
        f = await anyio.to_thread.run_sync(partial(path.open, "w", encoding="utf-8-sig", newline=""))
        try:
            writer = csv.writer(f)
            writer.writerow([label for _, label in COLUMNS])
            async for batch in _rows(actor, query):
                await anyio.to_thread.run_sync(writer.writerows, batch)
                count += len(batch)
        finally:
            f.close()
    else:
        book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        sheet = book.add_worksheet("客户")
        sheet.write_row(0, 0, [label for _, label in COLUMNS])
        async for batch in _rows(actor, query):
            await anyio.to_thread.run_sync(_write_rows, sheet, count + 1, batch)
            count += len(batch)
        await anyio.to_thread.run_sync(book.close)
    await record(actor, "export", "customer", meta={"filters": search.filters_of(query), "rows": count, "format": fmt})
    return path, count
