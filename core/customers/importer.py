"""导入: xlsx/csv → dry run with per-row errors → one all-or-nothing commit → report → undo by import id.

Rows are validated in memory first; matching against existing customers (normalised phone, credit
code or exact name) is done in batches; the commit inserts in chunks inside one write transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec
from litestar.exceptions import NotFoundException, PermissionDeniedException

from core.audit.log import record
from core.auth.tables import User
from core.customers import access, config, credit_code, fields, phones
from core.customers.duplicates import name_key
from core.customers.errors import InvalidInput, field_error
from core.customers.records import CUSTOMER_FIELDS, purge_children, refresh_search, search_text
from core.customers.spreadsheet import read_table
from core.customers.tables import (
    Contact,
    ContactPhone,
    Customer,
    CustomerTag,
    ImportBatch,
    ImportChange,
    OwnerHistory,
)
from core.db import write_tx
from core.perms.actor import Actor
from core.perms.scope import where_all

CHUNK = 400
MAX_CELL = 2000
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("客户名称", "客户名", "公司名称", "名称", "name", "customer", "customer name", "company"),
    "kind": ("客户性质", "性质", "kind"),
    "credit_code": ("统一社会信用代码", "信用代码", "credit code", "uscc", "credit_code"),
    "type": ("客户类型", "类型", "type", "customer type"),
    "category": ("客户分类", "分类", "category"),
    "level": ("客户级别", "级别", "level"),
    "industry": ("行业", "所属行业", "industry"),
    "province": ("省份", "省", "province"),
    "city": ("城市", "市", "city"),
    "source": ("客户来源", "来源", "source"),
    "address": ("地址", "详细地址", "address"),
    "website": ("网址", "网站", "website"),
    "needs": ("需求", "客户需求", "needs"),
    "tags": ("标签", "tags", "tag"),
    "owner": ("负责人", "所有人", "owner"),
    "contact_name": ("联系人", "联系人姓名", "contact", "contact name"),
    "contact_title": ("职务", "职位", "title"),
    "phone": ("电话", "手机", "手机号", "联系电话", "电话号码", "phone", "mobile", "tel"),
    "email": ("邮箱", "电子邮件", "email", "e-mail"),
    "wechat": ("微信", "wechat"),
}
FIELD_LABELS = {field: names[0] for field, names in ALIASES.items()}
KIND_VALUES = {"企业": "enterprise", "enterprise": "enterprise", "个人": "individual", "individual": "individual"}
MATCH_KEYS = ("phone", "credit_code", "name")


class ImportOptions(msgspec.Struct, kw_only=True):
    mode: str = "create"  # create | update | upsert
    match_on: list[str] = msgspec.field(default_factory=lambda: ["phone", "credit_code", "name"])
    mapping: dict[str, str] = {}  # header → field, overriding the automatic mapping ("" ignores a column)


class ImportReport(msgspec.Struct, kw_only=True):
    rows: int
    create: int
    update: int
    skip: int
    errors: list[dict[str, Any]]
    mapping: dict[str, str]
    batch_id: int | None = None
    committed: bool = False


class _Row(msgspec.Struct, kw_only=True):
    line: int
    values: dict[str, Any]
    custom: dict[str, Any]
    e164s: list[tuple[str, str]]
    tags: list[str]
    owner: int | None
    contact: dict[str, str] = {}
    match: int | None = None
    action: str = "create"


def _norm(header: str) -> str:
    return re.sub(r"[\s_*:：]", "", header).lower()


def auto_mapping(headers: list[str], defs: list[fields.FieldDef], override: dict[str, str]) -> dict[str, str]:
    """header → field ("custom:<key>" for custom fields; unknown headers are left out)."""
    lookup = {_norm(alias): field for field, names in ALIASES.items() for alias in names}
    for d in defs:
        lookup[_norm(d.label)] = f"custom:{d.key}"
        lookup[_norm(d.key)] = f"custom:{d.key}"
    out: dict[str, str] = {}
    for h in headers:
        if h in override:
            if override[h]:
                out[h] = override[h]
            continue
        field = lookup.get(_norm(h))
        if field and field not in out.values():
            out[h] = field
    return out


def _text(value: Any, column: str, line: int, errors: list[dict[str, Any]]) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    text = str(value).strip()
    if len(text) > MAX_CELL:
        errors.append(
            field_error(
                column,
                f"内容过长（{len(text)} 个字符，最多 {MAX_CELL}）",
                f"cell too long ({len(text)} characters, max {MAX_CELL})",
                line,
            )
        )
        return ""
    if text.startswith(("=", "+=", "-=", "@")) and len(text) > 1:
        errors.append(field_error(column, "不允许公式", "formulas are not allowed", line))
        return ""
    return text


async def _users_by_name() -> dict[str, int]:
    rows = await User.select(User.id, User.username, User.display_name).where(User.active == True)  # noqa: E712
    out = {r["display_name"]: r["id"] for r in rows}
    out.update({r["username"]: r["id"] for r in rows})
    return out


async def _parse(
    actor: Actor,
    headers: list[str],
    body: list[list[Any]],
    options: ImportOptions,
) -> tuple[list[_Row], list[dict[str, Any]], dict[str, str]]:
    settings = await config.current()
    defs = await fields.active_defs()
    mapping = auto_mapping(headers, defs, options.mapping)
    known = set(ALIASES) | {f"custom:{d.key}" for d in defs}
    bad = [f for f in mapping.values() if f not in known]
    if bad:
        raise InvalidInput(f"未知的目标字段 {bad[0]} / unknown target field {bad[0]!r}")
    if "name" not in mapping.values():
        raise InvalidInput("找不到“客户名称”列（可用表头：客户名称 / name） / no column maps to the customer name")
    if len(body) > settings.import_max_rows:
        raise InvalidInput(f"行数 {len(body)} 超过上限 {settings.import_max_rows} / too many rows")
    users = await _users_by_name() if "owner" in mapping.values() else {}
    index = {field: headers.index(h) for h, field in mapping.items()}
    label = {**FIELD_LABELS, **{field: h for h, field in mapping.items()}}
    errors: list[dict[str, Any]] = []
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for n, cells in enumerate(body):
        line = n + 2
        raw = {f: cells[i] for f, i in index.items()}
        text = {f: _text(v, label[f], line, errors) for f, v in raw.items() if f != "phone"}
        values: dict[str, Any] = {k: text.get(k, "") for k in CUSTOMER_FIELDS if k not in ("is_public", "kind")}
        values["kind"] = KIND_VALUES.get(text.get("kind", "") or "enterprise", "")
        if not values["kind"]:
            errors.append(field_error(label["kind"], f"“{text['kind']}” 应为 企业/个人", "must be 企业 or 个人", line))
        if not values["type"]:
            values["type"] = settings.types[0]
        if not values["name"]:
            errors.append(field_error(label["name"], "客户名称不能为空", "the name is missing", line))
        if values["type"] not in settings.types:
            errors.append(
                field_error(
                    label["type"],
                    f"未知的客户类型 “{values['type']}”",
                    f"unknown customer type {values['type']!r}",
                    line,
                )
            )
        elif actor.customer_types is not None and values["type"] not in actor.customer_types:
            errors.append(
                field_error(
                    label["type"], f"无权使用类型 “{values['type']}”", f"type {values['type']!r} not allowed", line
                )
            )
        if values["level"] and values["level"] not in settings.levels:
            errors.append(
                field_error(
                    label["level"], f"未知的级别 “{values['level']}”", f"unknown level {values['level']!r}", line
                )
            )
        try:
            values["credit_code"] = credit_code.normalise(values["credit_code"])
        except credit_code.InvalidCreditCode as exc:
            zh, en = str(exc).split(" / ")
            errors.append(field_error(label["credit_code"], zh, en, line))
        e164s: list[tuple[str, str]] = []
        if "phone" in raw:
            cell = raw["phone"]
            parts = [cell] if isinstance(cell, int | float) else re.split(r"[,，;；/、\n]", str(cell or ""))
            for part in parts:
                if str(part).strip() == "":
                    continue
                try:
                    e164s.append((phones.normalise(part), phones.cell_text(part)))
                except phones.InvalidPhone as exc:
                    zh, _, en = str(exc).partition(" / ")
                    errors.append(field_error(label["phone"], zh, en, line))
        custom_raw = {f.removeprefix("custom:"): raw[f] for f in index if f.startswith("custom:")}
        custom, custom_errors = fields.clean(
            defs,
            {k: v for k, v in custom_raw.items() if v not in (None, "")},
            row=line,
            partial=options.mode == "update",
        )
        for e in custom_errors:
            e["column"] = next((h for h, f in mapping.items() if f == f"custom:{e['column']}"), e["column"])
        errors += custom_errors
        owner = actor.user_id
        if text.get("owner"):
            owner = users.get(text["owner"])
            if owner is None:
                errors.append(
                    field_error(
                        label["owner"], f"找不到用户 “{text['owner']}”", f"unknown user {text['owner']!r}", line
                    )
                )
            elif owner != actor.user_id and not actor.can(access.ASSIGN):
                errors.append(
                    field_error(
                        label["owner"],
                        "指定其他负责人需要分派权限",
                        "assigning another owner needs customers:assign",
                        line,
                    )
                )
        keys = [f"p:{e}" for e, _ in e164s] + ([f"c:{values['credit_code']}"] if values["credit_code"] else [])
        keys += [f"n:{name_key(values['name'])}"] if values["name"] else []
        for key in keys:
            if key in seen:
                what = {"p": "电话", "c": "统一社会信用代码", "n": "客户名称"}[key[0]]
                errors.append(
                    field_error(
                        label.get({"p": "phone", "c": "credit_code", "n": "name"}[key[0]], what),
                        f"与第 {seen[key]} 行重复（{what}）",
                        f"duplicate of row {seen[key]}",
                        line,
                    )
                )
                break
        for key in keys:
            seen.setdefault(key, line)
        tags = [t.strip() for t in re.split(r"[,，;；]", text.get("tags", "")) if t.strip()]
        contact = {
            k: text.get(f"contact_{k}" if k in ("name", "title") else k, "")
            for k in ("name", "title", "email", "wechat")
        }
        if contact["email"] and "@" not in contact["email"]:
            errors.append(
                field_error(
                    label["email"], f"“{contact['email']}” 不是邮箱地址", f"{contact['email']!r} is not an email", line
                )
            )
        rows.append(_Row(line=line, values=values, custom=custom, e164s=e164s, tags=tags, owner=owner, contact=contact))
    return rows, errors, mapping


async def _match(actor: Actor, rows: list[_Row], options: ImportOptions, errors: list[dict[str, Any]]) -> None:
    """Find each row's existing customer by the match keys, in batches; decide create/update/skip."""
    found: dict[str, int] = {}
    for key in options.match_on:
        if key == "phone":
            values = [e for r in rows for e, _ in r.e164s]
            column, table_col = ContactPhone.e164, ContactPhone.customer
            for start in range(0, len(values), CHUNK):
                for m in await ContactPhone.select(column, table_col).where(
                    column.is_in(values[start : start + CHUNK])
                ):
                    found.setdefault(f"phone:{m['e164']}", m["customer"])
        elif key in ("credit_code", "name"):
            col = getattr(Customer, key)
            values = [r.values[key] for r in rows if r.values[key]]
            for start in range(0, len(values), CHUNK):
                for m in await Customer.select(Customer.id, col).where(col.is_in(values[start : start + CHUNK])):
                    found.setdefault(f"{key}:{m[key]}", m["id"])
    if not found and options.mode == "create":
        return
    editable: set[int] = set()
    ids = sorted(set(found.values()))
    scope = await access.edit_where(actor)
    for start in range(0, len(ids), CHUNK):
        editable |= {
            r["id"]
            for r in await Customer.select(Customer.id).where(
                where_all(Customer.id.is_in(ids[start : start + CHUNK]), scope)
            )
        }
    for r in rows:
        match = None
        for key in options.match_on:
            candidates = [f"phone:{e}" for e, _ in r.e164s] if key == "phone" else [f"{key}:{r.values[key]}"]
            match = next((found[c] for c in candidates if c in found), None)
            if match is not None:
                break
        if match is not None and match not in editable:
            if options.mode == "create":
                r.action = "skip"
                continue
            errors.append(
                field_error(
                    "客户名称",
                    "匹配到的已有客户不在您的编辑权限内",
                    "the matching customer is outside your edit scope",
                    r.line,
                )
            )
            continue
        r.match = match
        if options.mode == "create":
            r.action = "skip" if match is not None else "create"
        elif options.mode == "update":
            r.action = "update" if match is not None else "skip"
        else:
            r.action = "update" if match is not None else "create"


async def prepare(
    actor: Actor,
    data: bytes,
    filename: str,
    options: ImportOptions,
) -> tuple[list[_Row], ImportReport]:
    if not actor.can("customers:import"):
        raise PermissionDeniedException("需要导入权限 / permission required: customers:import")
    if options.mode not in ("create", "update", "upsert"):
        raise InvalidInput(f"未知的导入模式 {options.mode} / unknown import mode {options.mode!r}")
    if not options.match_on or any(k not in MATCH_KEYS for k in options.match_on):
        raise InvalidInput("匹配字段只能是 phone/credit_code/name / match_on must be phone, credit_code or name")
    settings = await config.current()
    if len(data) > settings.import_max_bytes:
        raise InvalidInput(f"文件超过 {settings.import_max_bytes // 1_000_000} MB / the file is too large")
    headers, body = read_table(data, filename)
    rows, errors, mapping = await _parse(actor, headers, body, options)
    if not errors:
        await _match(actor, rows, options, errors)
    report = ImportReport(
        rows=len(rows),
        create=sum(r.action == "create" for r in rows),
        update=sum(r.action == "update" for r in rows),
        skip=sum(r.action == "skip" for r in rows),
        errors=errors,
        mapping=mapping,
    )
    return rows, report


async def dry_run(actor: Actor, data: bytes, filename: str, options: ImportOptions) -> ImportReport:
    _, report = await prepare(actor, data, filename, options)
    return report


async def commit(actor: Actor, data: bytes, filename: str, options: ImportOptions) -> ImportReport:
    """Writes everything or nothing: any row error refuses the whole file."""
    rows, report = await prepare(actor, data, filename, options)
    if report.errors:
        raise InvalidInput(
            f"有 {len(report.errors)} 处错误，未导入任何数据 / {len(report.errors)} errors, nothing "
            f"was imported：{report.errors[0]['message']}",
            errors=report.errors[:1000],
        )
    now = dt.datetime.now(dt.UTC)
    departments = {r["id"]: r["department"] for r in await User.select(User.id, User.department)}
    async with write_tx():
        batch = (
            await ImportBatch.insert(
                ImportBatch(
                    user=actor.user_id,
                    filename=filename[:255],
                    mode=options.mode,
                    created=report.create,
                    updated=report.update,
                    skipped=report.skip,
                    created_at=now,
                )
            ).returning(ImportBatch.id)
        )[0]["id"]
        await _insert(actor, [r for r in rows if r.action == "create"], batch, departments, now)
        await _update(actor, [r for r in rows if r.action == "update"], batch, now)
        await record(
            actor,
            "import",
            "customer",
            batch,
            meta={
                "file": filename,
                "mode": options.mode,
                "created": report.create,
                "updated": report.update,
                "skipped": report.skip,
            },
        )
    report.batch_id = batch
    report.committed = True
    return report


async def _insert(
    actor: Actor, rows: list[_Row], batch: int, departments: dict[int, int | None], now: dt.datetime
) -> None:
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        ids = await Customer.insert(
            *[
                Customer(
                    **r.values,
                    is_public=False,
                    custom=fields.encode(r.custom),
                    tags=",".join(r.tags),
                    owner=r.owner,
                    department=departments.get(r.owner) if r.owner else None,
                    owner_since=now if r.owner else None,
                    import_batch=batch,
                    created_by=actor.user_id,
                    created_at=now,
                    updated_at=now,
                    search_text=search_text(
                        r.values["name"],
                        r.values["credit_code"],
                        r.tags,
                        [r.contact.get("name") or r.values["name"]],
                        [e for e, _ in r.e164s],
                    ),
                )
                for r in chunk
            ]
        ).returning(Customer.id)
        for r, got in zip(chunk, ids, strict=True):
            r.match = got["id"]
        await _add_contacts(chunk, now)
        tags = [CustomerTag(customer=r.match, tag=t) for r in chunk for t in r.tags]
        if tags:
            await CustomerTag.insert(*tags)
        history = [
            OwnerHistory(
                customer=r.match, to_user=r.owner, action="import", reason=f"导入 #{batch}", actor=actor.user_id, at=now
            )
            for r in chunk
            if r.owner
        ]
        if history:
            await OwnerHistory.insert(*history)


async def _add_contacts(rows: list[_Row], now: dt.datetime) -> None:
    with_contact = [r for r in rows if r.e164s or r.contact.get("name")]
    if not with_contact:
        return
    contact_ids = await Contact.insert(
        *[
            Contact(
                customer=r.match,
                name=(r.contact.get("name") or r.values["name"])[:100],
                title=r.contact.get("title", "")[:100],
                email=r.contact.get("email", "")[:255],
                wechat=r.contact.get("wechat", "")[:64],
                is_primary=True,
                created_at=now,
            )
            for r in with_contact
        ]
    ).returning(Contact.id)
    phone_rows = [
        ContactPhone(contact=c["id"], customer=r.match, e164=e, raw=raw[:64])
        for r, c in zip(with_contact, contact_ids, strict=True)
        for e, raw in r.e164s
    ]
    if phone_rows:
        await ContactPhone.insert(*phone_rows)


async def _update(actor: Actor, rows: list[_Row], batch: int, now: dt.datetime) -> None:
    """Update matched customers with the non-empty cells; keep each before-image for undo."""
    for r in rows:
        before = await Customer.select().where(Customer.id == r.match).first()
        changes = {k: v for k, v in r.values.items() if k in CUSTOMER_FIELDS and v not in ("", None)}
        custom = {**msgspec.json.decode(before["custom"] or "{}"), **r.custom}
        await ImportChange.insert(
            ImportChange(
                batch=batch,
                customer=r.match,
                before=msgspec.json.encode(
                    {k: before[k] for k in (*CUSTOMER_FIELDS, "custom", "tags", "search_text")}
                ).decode(),
            )
        )
        update: dict[Any, Any] = {getattr(Customer, k): v for k, v in changes.items()}
        update |= {Customer.custom: fields.encode(custom), Customer.updated_at: now}
        if r.tags:
            merged = [t for t in before["tags"].split(",") if t]
            merged += [t for t in r.tags if t not in merged]
            update[Customer.tags] = ",".join(merged)
        await Customer.update(update).where(Customer.id == r.match)
        known = {
            p["e164"] for p in await ContactPhone.select(ContactPhone.e164).where(ContactPhone.customer == r.match)
        }
        fresh = [(e, raw) for e, raw in r.e164s if e not in known]
        if fresh:
            r.e164s = fresh
            await _add_contacts([r], now)
        await refresh_search([r.match])


async def undo(actor: Actor, batch_id: int) -> dict[str, int]:
    """撤销导入: delete what the import created, restore what it changed."""
    batch = await ImportBatch.select().where(ImportBatch.id == batch_id).first()
    if batch is None or (batch["user"] != actor.user_id and not actor.can("customers:settings")):
        raise NotFoundException("导入记录不存在 / import not found")
    if batch["status"] == "undone":
        raise InvalidInput("该导入已撤销 / this import was already undone")
    async with write_tx():
        created = [r["id"] for r in await Customer.select(Customer.id).where(Customer.import_batch == batch_id)]
        for start in range(0, len(created), CHUNK):
            chunk = created[start : start + CHUNK]
            await purge_children(chunk)
            await Customer.delete().where(Customer.id.is_in(chunk))
        changes = await ImportChange.select().where(ImportChange.batch == batch_id)
        for change in changes:
            before = msgspec.json.decode(change["before"])
            await Customer.update({getattr(Customer, k): v for k, v in before.items()}).where(
                Customer.id == change["customer"]
            )
        await ImportChange.delete().where(ImportChange.batch == batch_id)
        await ImportBatch.update({ImportBatch.status: "undone"}).where(ImportBatch.id == batch_id)
        await record(
            actor, "import_undo", "customer", batch_id, meta={"deleted": len(created), "restored": len(changes)}
        )
    return {"deleted": len(created), "restored": len(changes)}
