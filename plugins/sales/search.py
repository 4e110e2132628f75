"""The opportunity list: scope, keyword and advanced filters, sorting and keyset pages."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import msgspec
from piccolo.query import OrderByRaw

from core.audit.log import record
from core.customers.errors import InvalidInput
from core.host import SHANGHAI
from core.perms.actor import Actor
from core.perms.scope import NOTHING, where_all
from plugins.sales import access
from plugins.sales.money import parse_amount
from plugins.sales.reads import reads
from plugins.sales.schemas import ListQuery, OpportunityRow, Page
from plugins.sales.settings import OPEN_STATE
from plugins.sales.tables import Opportunity

ROW_COLUMNS = (
    Opportunity.id, Opportunity.number, Opportunity.name, Opportunity.customer, Opportunity.stage, Opportunity.state,
    Opportunity.source, Opportunity.importance, Opportunity.type, Opportunity.probability, Opportunity.amount_fen,
    Opportunity.expected_close, Opportunity.start_date, Opportunity.owner, Opportunity.department,
    Opportunity.created_at, Opportunity.updated_at,
    Opportunity.customer.name.as_alias("customer_name"), Opportunity.owner.display_name.as_alias("owner_name"),
)
NULLABLE = ("expected_close",)
EQUAL_FILTERS = ("stage", "state", "outcome", "source", "importance", "type")


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.UTC)


def _amount(value: str, column: str) -> int | None:
    if not value.strip():
        return None
    errors: list[dict[str, Any]] = []
    fen = parse_amount(value, errors, column)
    if errors:
        raise InvalidInput(errors[0]["message"], errors=errors)
    return fen


async def filter_clause(actor: Actor, query: ListQuery, permission: str = access.READ) -> Any:
    """Everything but the cursor: the actor's scope, the view, the keyword and the filters."""
    clauses: list[Any] = [await access.opportunity_where(actor, permission)]
    if query.view == "mine":
        clauses.append(Opportunity.owner == actor.user_id if actor.user_id is not None else NOTHING)
    elif query.view == "open":
        clauses.append(Opportunity.state == OPEN_STATE)
    if query.q.strip():
        clauses.append(Opportunity.search_text.like(f"%{query.q.strip().lower()}%"))
    for name in EQUAL_FILTERS:
        value = getattr(query, name)
        if value:
            clauses.append(getattr(Opportunity, name) == value)
    if query.need:
        clauses.append(Opportunity.needs.like(f"%{msgspec.json.encode(query.need).decode()}%"))
    for column, value in (("owner", query.owner_id), ("department", query.department_id),
                          ("customer", query.customer_id)):
        if value is not None:
            clauses.append(getattr(Opportunity, column) == value)
    low, high = _amount(query.amount_min, "最低金额"), _amount(query.amount_max, "最高金额")
    if low is not None:
        clauses.append(Opportunity.amount_fen >= low)
    if high is not None:
        clauses.append(Opportunity.amount_fen <= high)
    if query.close_from:
        clauses.append(Opportunity.expected_close >= query.close_from)
    if query.close_to:
        clauses.append(Opportunity.expected_close <= query.close_to)
    if query.created_from:
        clauses.append(Opportunity.created_at >= _day_start(query.created_from))
    if query.created_to:
        clauses.append(Opportunity.created_at < _day_start(query.created_to + dt.timedelta(days=1)))
    return where_all(*clauses)


def encode_cursor(value: Any, pk: int) -> str:
    if isinstance(value, dt.datetime):
        value = {"dt": value.isoformat()}
    elif isinstance(value, dt.date):
        value = {"d": value.isoformat()}
    return base64.urlsafe_b64encode(msgspec.json.encode([value, pk])).decode()


def decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        value, pk = msgspec.json.decode(base64.urlsafe_b64decode(cursor.encode()))
        if isinstance(value, dict) and "dt" in value:
            value = dt.datetime.fromisoformat(value["dt"])
        elif isinstance(value, dict) and "d" in value:
            value = dt.date.fromisoformat(value["d"])
        return value, int(pk)
    except (ValueError, TypeError, msgspec.DecodeError) as exc:
        raise InvalidInput("分页游标无效 / invalid page cursor") from exc


def cursor_clause(query: ListQuery) -> Any:
    """Rows after the cursor in (sort column, id) order; NULL sort values come last either way."""
    if not query.after:
        return None
    value, pk = decode_cursor(query.after)
    col = getattr(Opportunity, query.sort)
    after_id = Opportunity.id < pk if query.desc else Opportunity.id > pk
    if query.sort == "id":
        return after_id
    if value is None:
        return col.is_null() & after_id
    if query.sort not in NULLABLE:
        return ((col < value) if query.desc else (col > value)) | ((col == value) & after_id)
    beyond = (col < value) if query.desc else (col > value)
    return beyond | ((col == value) & after_id) | col.is_null()


def to_row(r: dict[str, Any], customers: dict[int, str], owners: dict[int, str]) -> OpportunityRow:
    from plugins.sales.money import yuan

    return OpportunityRow(
        id=r["id"], number=r["number"], name=r["name"], customer_id=r["customer"],
        customer_name=customers.get(r["customer"], ""), stage=r["stage"], state=r["state"], source=r["source"],
        importance=r["importance"], type=r["type"], probability=r["probability"], amount=yuan(r["amount_fen"]),
        expected_close=r["expected_close"], start_date=r["start_date"], owner_id=r["owner"],
        owner_name=owners.get(r["owner"], "") if r["owner"] else "", department_id=r["department"],
        created_at=r["created_at"], updated_at=r["updated_at"],
    )


def ordered(select: Any, query: ListQuery) -> Any:
    """(sort column, id), NULLs last on both engines (SQLite and PostgreSQL order NULLs differently)."""
    col = getattr(Opportunity, query.sort)
    if query.sort != "id":
        if query.sort in NULLABLE:
            select = select.order_by(OrderByRaw(f'"{query.sort}" IS NULL'))
        select = select.order_by(col, ascending=not query.desc)
    return select.order_by(Opportunity.id, ascending=not query.desc)


async def list_opportunities(actor: Actor, query: ListQuery, *, audit: bool = True) -> Page:
    """One page in scope (its reads on one connection); the query and its row count go to the audit log."""
    async with reads():
        clause = where_all(await filter_clause(actor, query), cursor_clause(query))
        select = Opportunity.select(*ROW_COLUMNS)
        if clause is not None:
            select = select.where(clause)
        rows = await ordered(select, query).limit(query.limit + 1)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
    items = [to_row(r, {r["customer"]: r["customer_name"]}, {r["owner"]: r["owner_name"]}) for r in rows]
    nxt = encode_cursor(rows[-1][query.sort], rows[-1]["id"]) if more and rows else ""
    if audit:
        await record(actor, "query", "opportunity", meta={"filters": filters_of(query), "rows": len(items)})
    return Page(items=items, next=nxt)


async def count_opportunities(actor: Actor, query: ListQuery) -> int:
    clause = await filter_clause(actor, query)
    return await (Opportunity.count().where(clause) if clause is not None else Opportunity.count())


def filters_of(query: ListQuery) -> dict[str, Any]:
    default = ListQuery()
    return {k: v for k, v in msgspec.structs.asdict(query).items() if v != getattr(default, k) and k != "after"}
