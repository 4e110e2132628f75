"""Custom fields (自定义字段): definitions by an admin, values validated on every write."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from core.audit.log import record
from core.customers.errors import InvalidInput, field_error
from core.customers.schemas import FieldDefIn
from core.customers.tables import CustomFieldDef
from core.db import write_tx
from core.perms.actor import Actor

MAX_TEXT = 1000


class FieldDef(msgspec.Struct, kw_only=True):
    key: str
    label: str
    kind: str
    options: list[str]
    required: bool


async def active_defs() -> list[FieldDef]:
    rows = (
        await CustomFieldDef.select()
        .where(CustomFieldDef.active == True)  # noqa: E712
        .order_by(CustomFieldDef.sort)
    )
    return [
        FieldDef(
            key=r["key"],
            label=r["label"],
            kind=r["kind"],
            options=msgspec.json.decode(r["options"]),
            required=r["required"],
        )
        for r in rows
    ]


async def define(actor: Actor, data: FieldDefIn) -> FieldDef:
    if data.kind in ("choice", "multi") and not data.options:
        raise InvalidInput("选项字段需要至少一个选项 / a choice field needs at least one option")
    async with write_tx():
        if await CustomFieldDef.exists().where(CustomFieldDef.key == data.key):
            raise InvalidInput(f"字段 {data.key} 已存在 / field {data.key!r} already exists")
        count = await CustomFieldDef.count()
        await CustomFieldDef.insert(
            CustomFieldDef(
                key=data.key,
                label=data.label,
                kind=data.kind,
                options=msgspec.json.encode(data.options).decode(),
                required=data.required,
                sort=count,
            )
        )
        await record(actor, "create", "customer_field", data.key, diff={"field": [None, msgspec.to_builtins(data)]})
    return FieldDef(key=data.key, label=data.label, kind=data.kind, options=data.options, required=data.required)


def _one(d: FieldDef, value: Any) -> Any:
    """The stored form of one value, or ValueError(zh, en)."""
    if d.kind == "text":
        text = str(value).strip()
        if len(text) > MAX_TEXT:
            raise ValueError(f"超过 {MAX_TEXT} 个字符", f"longer than {MAX_TEXT} characters")
        return text
    if d.kind == "number":
        if isinstance(value, bool):
            raise ValueError("不是数字", "not a number")
        try:
            number = float(str(value).strip().replace(",", ""))
        except ValueError:
            raise ValueError(f"“{value}” 不是数字", f"{value!r} is not a number") from None
        return int(number) if number.is_integer() else number
    if d.kind == "date":
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value).strip().replace("/", "-")).isoformat()
        except ValueError:
            raise ValueError(f"“{value}” 不是日期 (YYYY-MM-DD)", f"{value!r} is not a date (YYYY-MM-DD)") from None
    if d.kind == "choice":
        text = str(value).strip()
        if text not in d.options:
            raise ValueError(f"“{text}” 不在选项 {'/'.join(d.options)} 中", f"{text!r} is not one of {d.options}")
        return text
    items = value if isinstance(value, list) else [v.strip() for v in str(value).replace("，", ",").split(",")]
    items = [str(v) for v in items if str(v)]
    wrong = [v for v in items if v not in d.options]
    if wrong:
        raise ValueError(f"“{wrong[0]}” 不在选项 {'/'.join(d.options)} 中", f"{wrong[0]!r} is not one of {d.options}")
    return items


def clean(
    defs: list[FieldDef], values: dict[str, Any], *, row: int | None = None, partial: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validated values and the errors (unknown keys, wrong types, missing required fields)."""
    by_key = {d.key: d for d in defs}
    out: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for key, value in values.items():
        d = by_key.get(key)
        if d is None:
            errors.append(field_error(key, "未定义的自定义字段", "unknown custom field", row))
            continue
        if value is None or value == "" or value == []:
            continue
        try:
            out[key] = _one(d, value)
        except ValueError as exc:
            zh, en = exc.args
            errors.append(field_error(d.label, zh, en, row))
    if not partial:
        for d in defs:
            if d.required and d.key not in out:
                errors.append(field_error(d.label, "必填", "is required", row))
    return out, errors


def encode(values: dict[str, Any]) -> str:
    return msgspec.json.encode(dict(sorted(values.items()))).decode()


def like_pattern(key: str, value: str) -> str:
    """A LIKE pattern finding `key == value` (or `value in key`, for multi) in the stored JSON text."""
    k = msgspec.json.encode(key).decode()
    v = msgspec.json.encode(value).decode()
    return f"%{k}:{v}%"


def like_pattern_multi(key: str, value: str) -> str:
    k = msgspec.json.encode(key).decode()
    v = msgspec.json.encode(value).decode()
    return f"%{k}:[%{v}%"
