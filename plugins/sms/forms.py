"""Reading the compose form into a `SendIn` (numbers typed one per line, optionally followed by a name)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from core.customers.schemas import ListQuery
from core.host import SHANGHAI
from plugins.sms.errors import sms_error
from plugins.sms.schemas import RecipientIn, SendIn

_PHONEISH = re.compile(r"^[\d+\-().]{3,}$")
_SPLIT = re.compile(r"[,\s;，；、]+")
FILTER_KEYS = ("view", "q", "type", "level", "industry", "province", "city", "source", "tag")


def value(form: Any, key: str) -> str:
    raw = form.get(key, "")
    return str(raw).strip() if raw is not None else ""


def values(form: Any, key: str) -> list[str]:
    return [str(v) for v in form.getall(key, [])] if hasattr(form, "getall") else []


def parse_typed(text: str) -> list[RecipientIn]:
    """"13800138000 张三", "13800138000,13900139000", one per line…: numbers, a name after a number."""
    out: list[RecipientIn] = []
    for line in text.splitlines():
        for token in _SPLIT.split(line.strip()):
            if not token:
                continue
            if _PHONEISH.match(token) or not out or out[-1].name:
                out.append(RecipientIn(number=token))
            else:
                out[-1].name = token[:100]
    return out


def local_datetime(text: str) -> dt.datetime | None:
    """`datetime-local` input (Asia/Shanghai) → aware datetime."""
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)
    except ValueError as exc:
        raise sms_error(f"定时时间格式不对：{text}", f"bad scheduled time {text!r}") from exc


def send_in(form: Any) -> SendIn:
    ids = [int(v) for v in values(form, "customer_ids") if v.isdigit()]
    template = value(form, "template_id")
    query = None
    if value(form, "use_filter"):
        query = ListQuery(**{k: value(form, f"f_{k}") for k in FILTER_KEYS if value(form, f"f_{k}")})
    return SendIn(
        text=value(form, "text"),
        template_id=int(template) if template.isdigit() else None,
        recipients=parse_typed(value(form, "numbers")),
        customer_ids=ids,
        filter=query,
        contacts="all" if value(form, "contacts") == "all" else "primary",
        scheduled_at=local_datetime(value(form, "scheduled_at")),
        channel=value(form, "channel") if value(form, "channel") in ("box", "gateway") else "",
        skip_invalid=bool(value(form, "skip_invalid")),
    )
