"""Who gets the text: typed numbers, imported xlsx/csv rows, picked customers or any customer filter.

Every source yields `Recipient`s (E.164 mobiles) plus `Skipped` rows with a reason; `dedupe` keeps the
first recipient per number. Numbers that belong to a customer the actor can read are linked to it, so
the message shows on that customer's page and {客户名称} fills.
"""

from __future__ import annotations

from typing import Any

from core.customers import access, search
from core.customers.phones import InvalidPhone, cell_text
from core.customers.schemas import ListQuery
from core.customers.spreadsheet import read_table
from core.customers.tables import ContactPhone, Customer
from core.perms.actor import Actor
from core.perms.scope import where_all
from plugins.sms.errors import sms_error
from plugins.sms.numbers import mobile
from plugins.sms.schemas import Recipient, RecipientIn, Skipped

CHUNK = 500
MAX_RECIPIENTS = 50_000
PHONE_HEADERS = ("手机", "手机号", "手机号码", "电话", "号码", "联系电话", "mobile", "phone", "number", "tel")
NAME_HEADERS = ("姓名", "联系人", "名字", "称呼", "name", "contact")
CUSTOMER_HEADERS = ("客户名称", "客户", "公司", "单位", "company", "customer")


def from_numbers(items: list[RecipientIn]) -> tuple[list[Recipient], list[Skipped]]:
    ok: list[Recipient] = []
    bad: list[Skipped] = []
    for item in items:
        try:
            ok.append(Recipient(number=mobile(item.number), name=item.name.strip()))
        except InvalidPhone as exc:
            bad.append(Skipped(number=str(item.number), reason=str(exc)))
    return ok, bad


def split_typed(text: str) -> list[RecipientIn]:
    """Numbers typed or pasted into a box: one per line or separated by commas, semicolons, spaces."""
    out = []
    for line in text.replace("，", ",").replace("；", ";").replace(";", ",").splitlines():
        for token in line.split(","):
            token = token.strip()
            if token:
                out.append(RecipientIn(number=token))
    return out


def _column(headers: list[str], names: tuple[str, ...]) -> int | None:
    low = [h.strip().lower() for h in headers]
    for name in names:
        if name in low:
            return low.index(name)
    for i, h in enumerate(low):
        if any(name in h for name in names):
            return i
    return None


def from_file(data: bytes, filename: str) -> tuple[list[RecipientIn], list[Skipped]]:
    """Rows of an .xlsx/.csv: the phone column (手机/电话/号码…), optional name and customer columns.

    A file without a recognisable header is read as one number per row in its first column.
    """
    headers, rows = read_table(data, filename)
    phone_col = _column(headers, PHONE_HEADERS)
    name_col = _column(headers, NAME_HEADERS)
    if phone_col is None:
        rows = [[h] for h in headers] + [r[:1] for r in rows]
        phone_col, name_col = 0, None
    items: list[RecipientIn] = []
    bad: list[Skipped] = []
    for line, row in enumerate(rows, start=2):
        raw = row[phone_col] if phone_col < len(row) else ""
        try:
            text = cell_text(raw)
        except InvalidPhone as exc:
            bad.append(Skipped(number=str(raw), reason=f"第 {line} 行：{exc}"))
            continue
        if not text:
            continue
        name = str(row[name_col]).strip() if name_col is not None and name_col < len(row) else ""
        items.append(RecipientIn(number=text, name=name[:100]))
    if len(items) > MAX_RECIPIENTS:
        raise sms_error(f"一次最多 {MAX_RECIPIENTS} 个号码", f"at most {MAX_RECIPIENTS} numbers per send")
    return items, bad


def _is_mobile(e164: str) -> bool:
    try:
        mobile(e164)
    except InvalidPhone:
        return False
    return True


async def _phones_of(customer_ids: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(0, len(customer_ids), CHUNK):
        chunk = customer_ids[i : i + CHUNK]
        rows += await ContactPhone.select(
            ContactPhone.id, ContactPhone.customer, ContactPhone.contact, ContactPhone.e164,
            ContactPhone.contact.name.as_alias("contact_name"),
            ContactPhone.contact.is_primary.as_alias("is_primary"),
            ContactPhone.customer.name.as_alias("customer_name"),
        ).where(ContactPhone.customer.is_in(chunk)).order_by(ContactPhone.id)
    return rows


async def from_customers(actor: Actor, customer_ids: list[int], query: ListQuery | None,
                         contacts: str = "primary") -> tuple[list[Recipient], list[Skipped]]:
    """Customers by id (each must be readable) and/or everything a list filter matches, within scope."""
    ids: list[int] = []
    if customer_ids:
        wanted = sorted(set(customer_ids))
        clause = await access.read_where(actor)
        found: set[int] = set()
        for i in range(0, len(wanted), CHUNK):
            rows = await Customer.select(Customer.id).where(where_all(Customer.id.is_in(wanted[i : i + CHUNK]), clause))
            found.update(r["id"] for r in rows)
        missing = [c for c in wanted if c not in found]
        if missing:
            raise sms_error(f"客户不存在或无权查看：{missing[:10]}", f"customers not found: {missing[:10]}")
        ids += [c for c in customer_ids if c in found]
    if query is not None:
        ids += await search.matching_ids(actor, query)
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_RECIPIENTS:
        raise sms_error(f"一次最多 {MAX_RECIPIENTS} 个客户", f"at most {MAX_RECIPIENTS} customers per send")
    by_customer: dict[int, list[dict[str, Any]]] = {}
    for row in await _phones_of(ids):
        by_customer.setdefault(row["customer"], []).append(row)
    ok: list[Recipient] = []
    bad: list[Skipped] = []
    names = {r["id"]: r["name"] for r in await _names(ids)}
    for cid in ids:
        phones = [p for p in by_customer.get(cid, []) if _is_mobile(p["e164"])]
        phones.sort(key=lambda p: (not p["is_primary"], p["id"]))
        if not phones:
            bad.append(Skipped(number="", customer_id=cid,
                               reason=f"客户“{names.get(cid, cid)}”没有手机号 / customer has no mobile number"))
            continue
        chosen = phones if contacts == "all" else phones[:1]
        for p in chosen:
            ok.append(Recipient(number=p["e164"], name=p["contact_name"] or "", customer_id=cid,
                                contact_id=p["contact"], customer_name=p["customer_name"] or ""))
    return ok, bad


async def _names(ids: list[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), CHUNK):
        out += await Customer.select(Customer.id, Customer.name).where(Customer.id.is_in(ids[i : i + CHUNK]))
    return out


async def link_customers(actor: Actor, recipients: list[Recipient]) -> None:
    """Fill customer/contact of typed or imported numbers that belong to a customer the actor can read."""
    loose = [r for r in recipients if r.customer_id is None]
    if not loose:
        return
    numbers = sorted({r.number for r in loose})
    clause = await access.read_where(actor)
    matches: dict[str, dict[str, Any]] = {}
    for i in range(0, len(numbers), CHUNK):
        rows = await ContactPhone.select(
            ContactPhone.e164, ContactPhone.customer, ContactPhone.contact,
            ContactPhone.contact.name.as_alias("contact_name"),
            ContactPhone.customer.name.as_alias("customer_name"),
        ).where(ContactPhone.e164.is_in(numbers[i : i + CHUNK])).order_by(ContactPhone.id)
        ids = sorted({r["customer"] for r in rows})
        readable: set[int] = set()
        if ids:
            readable = {r["id"] for r in await Customer.select(Customer.id).where(
                where_all(Customer.id.is_in(ids), clause))}
        for r in rows:
            if r["customer"] in readable and r["e164"] not in matches:
                matches[r["e164"]] = r
    for rec in loose:
        hit = matches.get(rec.number)
        if hit:
            rec.customer_id = hit["customer"]
            rec.contact_id = hit["contact"]
            rec.customer_name = hit["customer_name"] or ""
            rec.name = rec.name or hit["contact_name"] or ""


def dedupe(recipients: list[Recipient]) -> tuple[list[Recipient], list[Skipped]]:
    seen: set[str] = set()
    out: list[Recipient] = []
    dups: list[Skipped] = []
    for r in recipients:
        if r.number in seen:
            dups.append(Skipped(number=r.number, customer_id=r.customer_id, reason="重复号码 / duplicate number"))
            continue
        seen.add(r.number)
        out.append(r)
    return out, dups

