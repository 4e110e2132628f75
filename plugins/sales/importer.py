"""导入: opportunities from .xlsx/.csv (headers as in the export). Every row is checked first; one bad row
and nothing is written, the report names row and column (zh / en)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec

from core.audit.log import record
from core.auth.tables import User
from core.customers import access as customer_access
from core.customers.errors import InvalidInput, field_error
from core.customers.ownership import user_department
from core.customers.spreadsheet import read_table
from core.customers.tables import Customer
from core.db import write_tx
from core.perms.actor import Actor
from core.perms.scope import where_all
from plugins.sales import access, records
from plugins.sales.schemas import OpportunityIn
from plugins.sales.settings import current as current_settings

MAX_ROWS = 20_000
HEADERS = {
    "机会名称": "name", "名称": "name", "客户编号": "customer_id", "客户": "customer_name", "客户名称": "customer_name",
    "开始日期": "start_date", "预计成交日期": "expected_close", "预计成交": "expected_close", "阶段": "stage",
    "状态": "state", "来源": "source", "重要程度": "importance", "类型": "type", "可能性": "probability",
    "金额": "amount", "需求": "needs", "负责人": "owner", "备注": "notes",
}


class ImportReport(msgspec.Struct, kw_only=True):
    rows: int
    created: int
    dry_run: bool
    errors: list[dict[str, Any]] = []


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _date(value: Any, column: str, row: int, errors: list[dict[str, Any]]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-")
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        errors.append(field_error(column, f"日期格式应为 YYYY-MM-DD（收到 {text}）",
                                  f"dates must be YYYY-MM-DD, got {text!r}", row))
        return None


async def _customers(actor: Actor, names: set[str], ids: set[int]) -> tuple[dict[str, list[int]], set[int]]:
    scope = await customer_access.read_where(actor)
    by_name: dict[str, list[int]] = {}
    found_ids: set[int] = set()
    name_list, id_list = sorted(names), sorted(ids)
    for start in range(0, len(name_list), 500):
        for r in await Customer.select(Customer.id, Customer.name).where(
                where_all(Customer.name.is_in(name_list[start:start + 500]), scope)):
            by_name.setdefault(r["name"], []).append(r["id"])
    for start in range(0, len(id_list), 500):
        found_ids |= {r["id"] for r in await Customer.select(Customer.id).where(
            where_all(Customer.id.is_in(id_list[start:start + 500]), scope))}
    return by_name, found_ids


async def _owners(labels: set[str]) -> dict[str, int]:
    if not labels:
        return {}
    rows = await User.select(User.id, User.username, User.display_name).where(
        (User.username.is_in(sorted(labels)) | User.display_name.is_in(sorted(labels))) & (User.active == True))  # noqa: E712
    out: dict[str, int] = {}
    for r in rows:
        out.setdefault(r["username"], r["id"])
        out.setdefault(r["display_name"], r["id"])
    return out


async def run(actor: Actor, content: bytes, filename: str, *, dry_run: bool = False) -> ImportReport:
    headers, body = read_table(content, filename)
    if len(body) > MAX_ROWS:
        raise InvalidInput(f"一次最多导入 {MAX_ROWS} 行 / at most {MAX_ROWS} rows per import")
    keys = [HEADERS.get(h) for h in headers]
    if "name" not in keys or ("customer_id" not in keys and "customer_name" not in keys):
        raise InvalidInput("表头需要“机会名称”和“客户”或“客户编号” / headers need 机会名称 and 客户 or 客户编号")
    dicts = [{k: cell for k, cell in zip(keys, r, strict=False) if k} for r in body]
    errors: list[dict[str, Any]] = []
    names = {_text(d.get("customer_name")) for d in dicts if _text(d.get("customer_name"))}
    ids = {int(t) for d in dicts if (t := _text(d.get("customer_id"))).isdigit()}
    by_name, found_ids = await _customers(actor, names, ids)
    owners = await _owners({_text(d.get("owner")) for d in dicts if _text(d.get("owner"))})
    settings = await current_settings()
    prepared: list[tuple[dict[str, Any], int | None, int | None]] = []
    for i, d in enumerate(dicts, start=2):
        before = len(errors)
        cid_text, cname = _text(d.get("customer_id")), _text(d.get("customer_name"))
        customer_id: int | None = None
        if cid_text:
            customer_id = int(cid_text) if cid_text.isdigit() and int(cid_text) in found_ids else None
            if customer_id is None:
                errors.append(field_error("客户编号", "客户不存在或不在您的权限范围内",
                                          "customer not found or out of scope",
                                          i))
        elif cname:
            matches = by_name.get(cname, [])
            if len(matches) != 1:
                zh = "找不到该客户或不在您的权限范围内" if not matches else "有多个同名客户，请填写客户编号"
                errors.append(field_error("客户", zh,
                                          "customer not found or out of scope" if not matches
                                          else "several customers have this name: give 客户编号", i))
            else:
                customer_id = matches[0]
        else:
            errors.append(field_error("客户", "不能为空", "is required", i))
        name = _text(d.get("name"))
        if not name:
            errors.append(field_error("机会名称", "不能为空", "is required", i))
        owner_label = _text(d.get("owner"))
        owner_id = owners.get(owner_label) if owner_label else None
        if owner_label and owner_id is None:
            errors.append(field_error("负责人", f"找不到人员“{owner_label}”", f"no active user {owner_label!r}", i))
        data = OpportunityIn(
            name=name or "-", customer_id=customer_id or 0,
            start_date=_date(d.get("start_date"), "开始日期", i, errors),
            expected_close=_date(d.get("expected_close"), "预计成交日期", i, errors),
            stage=_text(d.get("stage")) or None, state=_text(d.get("state")) or None,
            source=_text(d.get("source"))[:64], importance=_text(d.get("importance"))[:64],
            type=_text(d.get("type"))[:64], probability=_text(d.get("probability")) or None,
            amount=_text(d.get("amount")) or "0",
            needs=[n for n in re.split(r"[、,，;；]", _text(d.get("needs"))) if n.strip()],
            notes=_text(d.get("notes"))[:5000],
        )
        values = await records.validate_new(actor, data, settings, errors, i, check_customer=False)
        if len(errors) == before:
            prepared.append((values, owner_id, customer_id))
    if errors:
        if dry_run:
            return ImportReport(rows=len(dicts), created=0, dry_run=True, errors=errors[:500])
        raise InvalidInput(f"{len(errors)} 处错误，未导入任何数据：{errors[0]['message']} / {len(errors)} errors, "
                           "nothing was imported", errors=errors[:500])
    if dry_run:
        return ImportReport(rows=len(dicts), created=0, dry_run=True)
    assign = actor.scope_of(access.ASSIGN) is not None
    departments: dict[int, int | None] = {}
    for _, owner_id, _ in prepared:
        if owner_id is not None and owner_id != actor.user_id and owner_id not in departments:
            if not assign:
                raise InvalidInput("指定其他负责人需要分派权限 / setting another owner needs opportunities:assign")
            departments[owner_id] = await user_department(owner_id)
    names_by_id = await records.customer_names({cid for _, _, cid in prepared if cid})
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        for values, owner_id, cid in prepared:
            values["customer_name"] = names_by_id.get(cid or 0, "")
            if owner_id is None or owner_id == actor.user_id:
                await records.insert_new(actor, values, actor.user_id, actor.department_id, now)
            else:
                await records.insert_new(actor, values, owner_id, departments[owner_id], now)
        await record(actor, "import", "opportunity", meta={"filename": filename, "rows": len(prepared)})
    return ImportReport(rows=len(dicts), created=len(prepared), dry_run=False)
