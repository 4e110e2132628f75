"""Lists and keyword search (我的客户, 收藏, 共享, 公共客户, 公海): filters, sorting, keyset pages.

Keyword search: a phone number in any spelling is normalised and matched on the indexed E.164
column; anything else is a LIKE on the maintained lower-cased `search_text` (name, credit code,
contact names, phone digits, tags), which finds Chinese substrings on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any

import msgspec

from core.audit.log import record
from core.auth.tables import User
from core.customers import access, fields, phones
from core.customers.errors import InvalidInput
from core.customers.schemas import CustomerRow, ListQuery, Page
from core.customers.tables import ContactPhone, Customer, CustomerShare, CustomerStar
from core.db import read_tx
from core.perms.actor import Actor
from core.perms.scope import NOTHING, where_all

ROW_COLUMNS = (
    Customer.id,
    Customer.name,
    Customer.kind,
    Customer.type,
    Customer.level,
    Customer.industry,
    Customer.province,
    Customer.city,
    Customer.source,
    Customer.tags,
    Customer.owner,
    Customer.department,
    Customer.pool,
    Customer.is_public,
    Customer.last_followup_at,
    Customer.created_at,
    Customer.updated_at,
)
MERGE_SORTS = ("id", "created_at", "updated_at")  # orders that compare the same in Python and in SQL
EQUAL_FILTERS = ("kind", "type", "category", "level", "industry", "province", "city", "source")
_PHONEISH = re.compile(r"^[\d\s+\-().]{5,}$")


def keyword_clause(q: str) -> Any:
    q = q.strip()
    if not q:
        return None
    if _PHONEISH.match(q):
        e164 = phones.try_normalise(q)
        if e164:
            return Customer.id.is_in(ContactPhone.select(ContactPhone.customer).where(ContactPhone.e164 == e164))
        q = re.sub(r"\D", "", q)
    return Customer.search_text.like(f"%{q.lower()}%")


async def view_clause(actor: Actor, view: str) -> Any:
    uid = actor.user_id
    if view == "mine":
        return Customer.owner.is_not_null()
    if view == "pool":
        return Customer.owner.is_null() & Customer.pool.is_not_null()
    if view == "public":
        return access.IS_PUBLIC
    if view == "stars":
        return (
            Customer.id.is_in(CustomerStar.select(CustomerStar.customer).where(CustomerStar.user == uid))
            if uid is not None
            else NOTHING
        )
    if view == "shared_with_me":
        return await access.shared_with(actor) or NOTHING
    if view == "shared_by_me":
        return (
            Customer.id.is_in(CustomerShare.select(CustomerShare.customer).where(CustomerShare.shared_by == uid))
            if uid is not None
            else NOTHING
        )
    return None


def _day_start(day: dt.date) -> dt.datetime:
    from core.host import SHANGHAI

    return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.UTC)


async def filter_clause(actor: Actor, query: ListQuery, *, scoped: bool = True) -> Any:
    """Everything but the cursor: scope (unless the caller applies it arm by arm), view, keyword, filters."""
    clauses = [
        await access.read_where(actor) if scoped else None,
        await view_clause(actor, query.view),
        keyword_clause(query.q),
    ]
    for name in EQUAL_FILTERS:
        value = getattr(query, name)
        if value:
            clauses.append(getattr(Customer, name) == value)
    if query.tag:
        clauses.append(Customer.tags.like(f"%{query.tag}%"))
    if query.owner_id is not None:
        clauses.append(Customer.owner == query.owner_id)
    if query.department_id is not None:
        clauses.append(Customer.department == query.department_id)
    if query.pool_id is not None:
        clauses.append(Customer.pool == query.pool_id)
    if query.created_from:
        clauses.append(Customer.created_at >= _day_start(query.created_from))
    if query.created_to:
        clauses.append(Customer.created_at < _day_start(query.created_to + dt.timedelta(days=1)))
    if query.not_contacted_days is not None:
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=query.not_contacted_days)
        clauses.append(Customer.last_followup_at.is_null() | (Customer.last_followup_at < cutoff))
    if query.custom:
        defs = {d.key: d for d in await fields.active_defs()}
        for key, value in query.custom.items():
            d = defs.get(key)
            if d is None:
                raise InvalidInput(f"未定义的自定义字段 {key} / unknown custom field {key!r}")
            if d.kind == "multi":
                clauses.append(Customer.custom.like(fields.like_pattern_multi(key, value)))
            else:
                cleaned, errors = fields.clean([d], {key: value}, partial=True)
                if errors:
                    raise InvalidInput(errors[0]["message"], errors=errors)
                clauses.append(Customer.custom.like(fields.like_pattern(key, cleaned[key])))
    return where_all(*clauses)


def encode_cursor(value: Any, pk: int) -> str:
    if isinstance(value, dt.datetime):
        value = {"dt": value.isoformat()}
    return base64.urlsafe_b64encode(msgspec.json.encode([value, pk])).decode()


def decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        value, pk = msgspec.json.decode(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, msgspec.DecodeError) as exc:
        raise InvalidInput("分页游标无效 / invalid page cursor") from exc
    if isinstance(value, dict) and "dt" in value:
        value = dt.datetime.fromisoformat(value["dt"])
    return value, int(pk)


def cursor_clause(query: ListQuery) -> Any:
    if not query.after:
        return None
    value, pk = decode_cursor(query.after)
    col = getattr(Customer, query.sort)
    if query.sort == "id":
        return Customer.id < pk if query.desc else Customer.id > pk
    if query.desc:
        return (col < value) | ((col == value) & (Customer.id < pk))
    return (col > value) | ((col == value) & (Customer.id > pk))


async def owner_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(list(ids)))
    return {r["id"]: r["display_name"] for r in rows}


def to_row(r: dict[str, Any], names: dict[int, str]) -> CustomerRow:
    return CustomerRow(
        id=r["id"],
        name=r["name"],
        kind=r["kind"],
        type=r["type"],
        level=r["level"],
        industry=r["industry"],
        province=r["province"],
        city=r["city"],
        source=r["source"],
        tags=r["tags"],
        owner_id=r["owner"],
        owner_name=names.get(r["owner"], "") if r["owner"] else "",
        department_id=r["department"],
        pool_id=r["pool"],
        is_public=r["is_public"],
        last_followup_at=r["last_followup_at"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


async def list_customers(actor: Actor, query: ListQuery, *, audit: bool = True) -> Page:
    """One page of customers in scope; the query and its row count go to the audit log."""
    async with read_tx():
        items, nxt = await _page(actor, query)
    if audit:
        await record(actor, "query", "customer", meta={"filters": filters_of(query), "rows": len(items)})
    return Page(items=items, next=nxt)


async def _page(actor: Actor, query: ListQuery) -> tuple[list[CustomerRow], str]:
    col = getattr(Customer, query.sort)
    arms = await access.read_arms(actor) if query.sort in MERGE_SORTS else None
    if arms is None:
        clauses = [where_all(await filter_clause(actor, query), cursor_clause(query))]
    else:
        rest = where_all(await filter_clause(actor, query, scoped=False), cursor_clause(query))
        clauses = [where_all(arm, rest) for arm in arms]
    found: dict[int, dict[str, Any]] = {}
    for clause in clauses:
        select = Customer.select(*ROW_COLUMNS)
        if clause is not None:
            select = select.where(clause)
        select = select.order_by(col, ascending=not query.desc)
        if query.sort != "id":
            select = select.order_by(Customer.id, ascending=not query.desc)
        for r in await select.limit(query.limit + 1):
            found[r["id"]] = r
    rows = sorted(found.values(), key=lambda r: (r[query.sort], r["id"]), reverse=query.desc)[: query.limit + 1]
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    names = await owner_names({r["owner"] for r in rows if r["owner"]})
    items = [to_row(r, names) for r in rows]
    nxt = encode_cursor(rows[-1][query.sort], rows[-1]["id"]) if more and rows else ""
    return items, nxt


async def count_customers(actor: Actor, query: ListQuery) -> int:
    clause = await filter_clause(actor, query)
    return await (Customer.count().where(clause) if clause is not None else Customer.count())


async def matching_ids(actor: Actor, query: ListQuery, extra: Any = None) -> list[int]:
    """Ids of every customer matching a filter within scope (bulk assign, bulk move)."""
    clause = where_all(await filter_clause(actor, query), extra)
    select = Customer.select(Customer.id)
    rows = await (select.where(clause) if clause is not None else select)
    return [r["id"] for r in rows]


def filters_of(query: ListQuery) -> dict[str, Any]:
    """The non-default parts of a query, for the audit log."""
    default = ListQuery()
    return {k: v for k, v in msgspec.structs.asdict(query).items() if v != getattr(default, k) and k not in ("after",)}
