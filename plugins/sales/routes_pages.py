"""zh-CN pages under /sales (htmx: list filtering, stage moves and forms swap fragments)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Template

from core import host
from core.auth.tables import User
from core.customers.access import readable
from core.customers.errors import InvalidInput
from core.customers.records import contacts_of
from core.web.responses import actor_of, page
from plugins.sales import access, analysis, charts, columns, importer, links, needs, performance, records, search
from plugins.sales.routes_api import query_from_params, require_analysis_licence
from plugins.sales.schemas import (
    ROW_COLUMNS,
    BulkIn,
    FollowupForOpportunityIn,
    ListQuery,
    NeedIn,
    OpportunityIn,
    OpportunityPatch,
)
from plugins.sales.settings import STATES
from plugins.sales.settings import current as current_settings

READ = {"permission": access.READ}
EDIT = {"permission": access.EDIT}
SORTS = [("id", "最新"), ("expected_close", "预计成交"), ("amount_fen", "金额"), ("probability", "可能性"),
         ("updated_at", "更新时间")]


def _partial(name: str, **context: Any) -> Template:
    return Template(template_name=f"sales/{name}", context=context)


def _errors(exc: InvalidInput) -> Template:
    return _partial("_errors.html", errors=[e["message"] for e in exc.errors] or [exc.message])


def _v(form: Any, key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def _all(form: Any, key: str) -> list[str]:
    return [v for v in form.getall(key, []) if isinstance(v, str) and v] if hasattr(form, "getall") else []


def _date(form: Any, key: str, label: str) -> dt.date | None:
    text = _v(form, key)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{label}格式应为 YYYY-MM-DD / {key} must be YYYY-MM-DD") from None


async def _users() -> list[dict[str, Any]]:
    return await User.select(User.id, User.display_name).where(User.active == True).order_by(User.id)  # noqa: E712


@get("/sales/opportunities", opt=READ, include_in_schema=False)
async def list_page(request: Request) -> Template:
    actor = actor_of(request)
    query = query_from_params(request.query_params)
    result = await search.list_opportunities(actor, query)
    chosen = await columns.get(actor)
    context = {
        "page": result, "query": query, "settings": await current_settings(), "states": STATES, "sorts": SORTS,
        "all_columns": ROW_COLUMNS, "columns": [(k, label) for k, label in ROW_COLUMNS if k in chosen],
        "params": {k: v for k, v in request.query_params.items() if k != "after"},
        "users": await _users() if actor.can(access.ASSIGN) else [],
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "opp-rows":
        return _partial("_rows.html", **context)
    return page("sales/list.html", request, **context)


@post("/sales/opportunities/columns", opt=READ, include_in_schema=False)
async def columns_post(request: Request) -> ClientRedirect | Template:
    form = await request.form()
    try:
        await columns.save(actor_of(request), _all(form, "columns"))
    except InvalidInput as exc:
        return _errors(exc)
    return ClientRedirect(redirect_to="/sales/opportunities")


@post("/sales/opportunities/bulk", opt=EDIT, include_in_schema=False)
async def bulk_post(request: Request) -> Template:
    form = await request.form()
    ids = [int(v) for v in _all(form, "ids") if v.isdigit()]
    owner = _v(form, "owner_id")
    if not ids:
        return _partial("_errors.html", errors=["请勾选销售机会 / tick at least one opportunity"])
    try:
        n = await records.bulk_change(actor_of(request), BulkIn(
            ids=ids, owner_id=int(owner) if owner.isdigit() else None,
                                                                state=_v(form, "state") or None))
    except InvalidInput as exc:
        return _errors(exc)
    return _partial("_flash.html", message=f"已修改 {n} 个销售机会")


@get("/sales/opportunities/new", opt={"permission": access.CREATE}, include_in_schema=False)
async def new_page(request: Request) -> Template:
    actor = actor_of(request)
    customer = None
    contacts: list[Any] = []
    cid = request.query_params.get("customer_id", "")
    if cid.isdigit():
        customer = await readable(actor, int(cid))
        contacts = await contacts_of(int(cid))
    return page("sales/form.html", request, o=None, customer=customer, contacts=contacts,
                settings=await current_settings(), states=STATES, today=host.today())


def _form_data(form: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": _v(form, "name"), "stage": _v(form, "stage"), "state": _v(form, "state"),
        "source": _v(form, "source"), "importance": _v(form, "importance"), "type": _v(form, "type"),
        "amount": _v(form, "amount") or "0", "probability": _v(form, "probability") or None,
        "needs": _all(form, "needs"), "notes": _v(form, "notes"),
        "start_date": _date(form, "start_date", "开始日期"),
        "expected_close": _date(form, "expected_close", "预计成交日期"),
    }
    contact = _v(form, "contact_id")
    data["contact_id"] = int(contact) if contact.isdigit() else None
    return data


@post("/sales/opportunities/new", opt={"permission": access.CREATE}, include_in_schema=False)
async def create_post(request: Request) -> ClientRedirect | Template:
    form = await request.form()
    try:
        data = _form_data(form)
        customer = _v(form, "customer_id")
        if not customer.isdigit():
            raise InvalidInput("请选择客户 / choose a customer")
        if not data["name"]:
            raise InvalidInput("机会名称不能为空 / the name is required")
        created = await records.create(actor_of(request), OpportunityIn(
            customer_id=int(customer), **{k: v for k, v in data.items() if v not in (None, "") or k == "contact_id"}))
    except InvalidInput as exc:
        return _errors(exc)
    return ClientRedirect(redirect_to=f"/sales/opportunities/{created.id}")


async def _detail_context(request: Request, opportunity_id: int) -> dict[str, Any]:
    actor = actor_of(request)
    o = await records.detail(actor, opportunity_id)
    return {"o": o, "settings": await current_settings(), "states": STATES,
            "followups": await links.followups_of(actor, opportunity_id),
            "contacts": await contacts_of(o.customer_id), "users": await _users()}


@get("/sales/opportunities/{opportunity_id:int}", opt=READ, include_in_schema=False)
async def detail_page(request: Request, opportunity_id: FromPath[int]) -> Template:
    return page("sales/detail.html", request, **await _detail_context(request, opportunity_id))


@get("/sales/opportunities/{opportunity_id:int}/edit", opt=EDIT, include_in_schema=False)
async def edit_page(request: Request, opportunity_id: FromPath[int]) -> Template:
    context = await _detail_context(request, opportunity_id)
    customer = {"id": context["o"].customer_id, "name": context["o"].customer_name}
    return page("sales/form.html", request, customer=customer,
                today=host.today(), **context)


@post("/sales/opportunities/{opportunity_id:int}/edit", opt=EDIT, include_in_schema=False)
async def edit_post(request: Request, opportunity_id: FromPath[int]) -> ClientRedirect | Template:
    form = await request.form()
    try:
        data = _form_data(form)
        if data["probability"] is None:
            data.pop("probability")
        if data["start_date"] is None:
            data.pop("start_date")
        patch = msgspec.convert({k: v for k, v in data.items() if k not in ("state",) or v}, OpportunityPatch)
        await records.update(actor_of(request), opportunity_id, patch)
    except msgspec.ValidationError as exc:
        return _partial("_errors.html", errors=[f"输入无效 / invalid input: {exc}"])
    except InvalidInput as exc:
        return _errors(exc)
    return ClientRedirect(redirect_to=f"/sales/opportunities/{opportunity_id}")


@post("/sales/opportunities/{opportunity_id:int}/stage", opt=EDIT, include_in_schema=False)
async def stage_post(request: Request, opportunity_id: FromPath[int]) -> Template:
    """推进阶段 / change the state from the detail page; the stage panel and history swap in place."""
    form = await request.form()
    patch = OpportunityPatch()
    if _v(form, "stage"):
        patch.stage = _v(form, "stage")
    if _v(form, "state"):
        patch.state = _v(form, "state")
    try:
        await records.update(actor_of(request), opportunity_id, patch)
    except InvalidInput as exc:
        return _errors(exc)
    return _partial("_stage.html", **await _detail_context(request, opportunity_id))


@post("/sales/opportunities/{opportunity_id:int}/followups", opt=EDIT, include_in_schema=False)
async def followup_post(request: Request, opportunity_id: FromPath[int]) -> Template:
    form = await request.form()
    try:
        await links.add_followup(actor_of(request), opportunity_id, FollowupForOpportunityIn(
            summary=_v(form, "summary") or "-", method=_v(form, "method") or "电话"))
    except InvalidInput as exc:
        return _errors(exc)
    return _partial("_followups.html", o={"id": opportunity_id},
                    followups=await links.followups_of(actor_of(request), opportunity_id))


@get("/sales/customers/{customer_id:int}/opportunities", opt=READ, include_in_schema=False)
async def customer_tab(request: Request, customer_id: FromPath[int]) -> Template:
    actor = actor_of(request)
    await readable(actor, customer_id)
    result = await search.list_opportunities(actor, ListQuery(customer_id=customer_id, limit=100), audit=False)
    return _partial("_customer_tab.html", cid=customer_id, rows=result.items)


@get("/sales/customers/{customer_id:int}/needs", opt={"permission": access.NEEDS_READ}, include_in_schema=False)
async def customer_needs_tab(request: Request, customer_id: FromPath[int]) -> Template:
    actor = actor_of(request)
    await readable(actor, customer_id)
    return _partial("_needs_tab.html", cid=customer_id, rows=await needs.list_needs(actor, customer_id=customer_id),
                    settings=await current_settings())


@post("/sales/needs", opt={"permission": access.NEEDS_EDIT}, include_in_schema=False)
async def need_post(request: Request) -> Template:
    form = await request.form()
    actor = actor_of(request)
    cid = _v(form, "customer_id")
    try:
        cycle = _v(form, "cycle_days")
        if cycle and not cycle.isdigit():
            raise InvalidInput("提醒周期必须是天数 / the reminder cycle must be a number of days")
        await needs.create(actor, NeedIn(customer_id=int(cid) if cid.isdigit() else 0, title=_v(form, "title") or "-",
                                         type=_v(form, "type"), content=_v(form, "content"),
                                         cycle_days=min(int(cycle or 0), 3650)))
    except InvalidInput as exc:
        return _errors(exc)
    return _partial("_needs_tab.html", cid=int(cid), rows=await needs.list_needs(actor, customer_id=int(cid)),
                    settings=await current_settings())


@post("/sales/needs/{need_id:int}/done", opt={"permission": access.NEEDS_EDIT}, include_in_schema=False)
async def need_done_post(request: Request, need_id: FromPath[int]) -> Template:
    n = await needs.mark_done(actor_of(request), need_id)
    return _partial("_flash.html", message=f"已跟进“{n.title}”，下次 {n.next_due or '—'}")


@get("/sales/needs", opt={"permission": access.NEEDS_READ}, include_in_schema=False)
async def needs_page(request: Request) -> Template:
    due = request.query_params.get("due") == "1"
    rows = await needs.list_needs(actor_of(request), due_by=host.today() if due else None)
    return page("sales/needs.html", request, rows=rows, due=due)


@get("/sales/performance", opt=READ, include_in_schema=False)
async def performance_page(request: Request) -> Template:
    return page("sales/performance.html", request, periods=await performance.figures(actor_of(request), host.today()))


@get("/sales/analysis", opt={"permission": access.ANALYSIS}, include_in_schema=False)
async def analysis_page(request: Request) -> Template:
    require_analysis_licence()
    by = request.query_params.get("by", "owner")
    period = request.query_params.get("period", "month")
    query = query_from_params(request.query_params, drop=("by", "period"))
    try:
        report = await analysis.report(actor_of(request), query, by=by, period=period)
    except InvalidInput as exc:
        return _errors(exc)
    context = {
        "r": report, "query": query, "dims": analysis.DIMENSIONS, "periods": analysis.PERIODS,
        "settings": await current_settings(),
        "params": {k: v for k, v in request.query_params.items()},
        "funnel_svg": charts.funnel_svg([(f.stage, f.count, f.amount) for f in report.funnel if f.outcome != "lost"]),
        "period_svg": charts.bars_svg([(p.period, p.count) for p in report.periods][-24:], title="按周期的机会数"),
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "analysis-body":
        return _partial("_analysis.html", **context)
    return page("sales/analysis.html", request, **context)


@get("/sales/import", opt={"permission": access.IMPORT}, include_in_schema=False)
async def import_page(request: Request) -> Template:
    return page("sales/import.html", request)


@post("/sales/import", opt={"permission": access.IMPORT}, include_in_schema=False,
      request_max_body_size=60_000_000)
async def import_post(request: Request) -> Template:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return _partial("_errors.html", errors=["请选择文件 / choose a file"])
    try:
        report = await importer.run(actor_of(request), await upload.read(), upload.filename or "",
                                    dry_run=_v(form, "commit") != "1")
    except InvalidInput as exc:
        return _partial("_errors.html", errors=[e["message"] for e in exc.errors][:200] or [exc.message])
    return _partial("_import_report.html", report=report)


PAGE_HANDLERS = [
    list_page, columns_post, bulk_post, new_page, create_post, detail_page, edit_page, edit_post, stage_post,
    followup_post, customer_tab, customer_needs_tab, need_post, need_done_post, needs_page, performance_page,
    analysis_page, import_page, import_post,
]
__all__ = ["PAGE_HANDLERS", "NotFoundException"]
