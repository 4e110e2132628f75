"""Template fields: {客户名称} {联系人} {手机号} filled per recipient."""

from __future__ import annotations

import re

from core.customers.phones import national_digits

FIELD = re.compile(r"\{([^{}\s]{1,20})\}")
FIELDS = ("客户名称", "联系人", "手机号")


def fields_in(body: str) -> list[str]:
    return [m for m in FIELD.findall(body) if m in FIELDS]


def unknown_fields(body: str) -> list[str]:
    """Placeholders that look like fields (CJK names in braces) but are not known ones."""
    return sorted({m for m in FIELD.findall(body) if m not in FIELDS and re.search(r"[\u4e00-\u9fff]", m)})


def fill(body: str, *, customer_name: str = "", contact_name: str = "", number: str = "") -> str:
    values = {
        "客户名称": customer_name,
        "联系人": contact_name,
        "手机号": national_digits(number) if number.startswith("+") else number,
    }
    return FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), body)
