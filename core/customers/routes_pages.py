"""zh-CN pages under /customers (htmx: list filtering, tabs and forms swap fragments, no full reloads)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Request, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Template

from core import host
from core.customers import (
    activity,
    analysis,
    assign,
    config,
    duplicates,
    fields,
    importer,
    pool,
    records,
    reminders,
    search,
    selection,
)
from core.customers.access import editable, readable
from core.customers.errors import InvalidInput
from core.customers.routes_api import plans_due, query_from_params, timeline_of
from core.customers.schemas import (
    AssignIn,
    ContactIn,
    ContactPatch,
    CustomerIn,
    CustomerPatch,
    FieldDefIn,
    FollowupIn,
    ListQuery,
    PoolIn,
    PoolRuleIn,
)
from core.hooktypes import CustomerTab
from core.plugins import collect_sync
from core.web.responses import actor_of, page

VIEWS = [
    ("mine", "我的客户"),
    ("stars", "收藏"),
    ("shared_with_me", "共享给我"),
    ("shared_by_me", "我共享的"),
    ("public", "公共客户"),
    ("pool", "公海客户"),
    ("all", "全部可见"),
]
COLUMNS = [
    ("kind", "性质"),
    ("type", "类型"),
    ("level", "级别"),
    ("industry", "行业"),
    ("province", "地区"),
    ("source", "来源"),
    ("tags", "标签"),
    ("owner_name", "负责人"),
    ("last_followup_at", "最后联系"),
    ("created_at", "创建时间"),
    ("updated_at", "更新时间"),
]
DEFAULT_COLUMNS = ["type", "level", "industry", "province", "tags", "owner_name", "last_followup_at"]
READ = {"permission": "customers:read"}
EDIT = {"permission": "customers:edit"}


async def _active_users() -> list[dict[str, Any]]:
    from core.auth.tables import User

    return await User.select(User.id, User.display_name).where(User.active == True).order_by(User.id)  # noqa: E712


def _partial(name: str, **context: Any) -> Template:
    return Template(template_name=f"customers/{name}", context=context)


async def _error_list(exc: InvalidInput) -> list[str]:
    return [e["message"] for e in exc.errors] or [exc.message]


@get("/customers", opt=READ, include_in_schema=False)
async def list_page(request: Request) -> Template:
    actor = actor_of(request)
    query = query_from_params(request.query_params)
    result = await search.list_customers(actor, query)
    settings = await config.current()
    chosen = await records.get_columns(actor) or DEFAULT_COLUMNS
    users = await _active_users() if actor.can("customers:assign") else []
    context = {
        "page": result,
        "query": query,
        "views": VIEWS,
        "settings": settings,
        "all_columns": COLUMNS,
        "users": users,
        "columns": [(k, label) for k, label in COLUMNS if k in chosen],
        "params": {k: v for k, v in request.query_params.items() if k != "after"},
        "filter_json": selection.filter_json(dict(request.query_params)),
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "customer-rows":
        return _partial("_rows.html", **context)
    return page("customers/list.html", request, **context)


@post("/customers/assign", opt={"permission": "customers:assign"}, include_in_schema=False)
async def assign_post(request: Request) -> ClientRedirect | Template:
    """客户分派 from the list: the ticked rows, or everything matching the current filter."""
    form = await request.form()
    ids = [int(v) for v in form.getall("ids", []) if str(v).isdigit()] if hasattr(form, "getall") else []
    to_user = _form_value(form, "to_user_id")
    if not to_user.isdigit():
        return _partial("_errors.html", errors=["请选择负责人 / choose the new owner"])
    every = _form_value(form, "scope") == "filter"
    data = AssignIn(
        to_user_id=int(to_user),
        customer_ids=[] if every else ids,
        filter=query_from_params({k: v for k, v in request.query_params.items()}) if every else None,
        reason=_form_value(form, "reason"),
    )
    try:
        moved = await assign.assign(actor_of(request), data)
    except InvalidInput as exc:
        return _partial("_errors.html", errors=await _error_list(exc))
    return _partial("_errors.html", errors=[f"已分派 {moved} 个客户 / {moved} customers assigned"])


@get("/customers/pools", opt={"permission": "customers:settings"}, include_in_schema=False)
async def pools_page(request: Request) -> Template:
    settings = await config.current()
    return page("customers/pools.html", request, pools=await pool.list_pools(actor_of(request)), settings=settings)


@post("/customers/pools", opt={"permission": "customers:settings"}, include_in_schema=False)
async def pools_post(request: Request) -> ClientRedirect | Template:
    form = await request.form()
    try:
        if _form_value(form, "pool_id"):
            await pool.add_rule(
                actor_of(request),
                int(_form_value(form, "pool_id")),
                msgspec.convert(
                    {
                        "kind": _form_value(form, "kind") or "no_followup",
                        "days": _form_value(form, "days") or "30",
                        "customer_type": _form_value(form, "customer_type"),
                        "level": _form_value(form, "level"),
                    },
                    PoolRuleIn,
                    strict=False,
                ),
            )
        else:
            await pool.create_pool(
                actor_of(request),
                msgspec.convert(
                    {
                        k: _form_value(form, k)
                        for k in ("name", "remind_days", "daily_claim_limit", "pre_owner_block_days", "max_owned")
                        if _form_value(form, k)
                    },
                    PoolIn,
                    strict=False,
                ),
            )
    except msgspec.ValidationError as exc:
        return _partial("_errors.html", errors=[f"输入无效 / invalid input: {exc}"])
    except InvalidInput as exc:
        return _partial("_errors.html", errors=await _error_list(exc))
    return ClientRedirect(redirect_to="/customers/pools")


@post("/customers/columns", opt=READ, include_in_schema=False)
async def columns_post(request: Request) -> ClientRedirect:
    """列设置: the columns of the customer list, saved per user."""
    form = await request.form()
    chosen = [k for k in form.getall("columns", []) if isinstance(k, str)] if hasattr(form, "getall") else []
    await records.set_columns(actor_of(request), [k for k, _ in COLUMNS if k in chosen] or DEFAULT_COLUMNS)
    return ClientRedirect(redirect_to="/customers")


FIELD_KINDS = [("text", "文本"), ("number", "数字"), ("date", "日期"), ("choice", "单选"), ("multi", "多选")]
SETTINGS = {"permission": "customers:settings"}


@get("/customers/fields", opt=SETTINGS, include_in_schema=False)
async def fields_page(request: Request) -> Template:
    """自定义字段: the active definitions and a form adding one."""
    return page("customers/fields.html", request, defs=await fields.active_defs(), kinds=FIELD_KINDS)


@post("/customers/fields", opt=SETTINGS, include_in_schema=False)
async def fields_post(request: Request) -> ClientRedirect | Template:
    form = await request.form()
    options = [o.strip() for o in _form_value(form, "options").replace("，", ",").replace("\n", ",").split(",")]
    try:
        data = msgspec.convert(
            {
                "key": _form_value(form, "key"),
                "label": _form_value(form, "label"),
                "kind": _form_value(form, "kind") or "text",
                "options": [o for o in options if o],
                "required": _form_value(form, "required") == "1",
            },
            FieldDefIn,
        )
        await fields.define(actor_of(request), data)
    except msgspec.ValidationError as exc:
        return _partial(
            "_errors.html",
            errors=[f"字段无效（标识须为小写字母开头的字母、数字或下划线）/ invalid field: {exc}"],
        )
    except InvalidInput as exc:
        return _partial("_errors.html", errors=await _error_list(exc))
    return ClientRedirect(redirect_to="/customers/fields")


@get("/customers/new", opt={"permission": "customers:create"}, include_in_schema=False)
async def new_page(request: Request) -> Template:
    return page("customers/new.html", request, settings=await config.current(), defs=await fields.active_defs())


def _custom_values(form: Any, defs: list[fields.FieldDef]) -> dict[str, Any]:
    """custom.<key> inputs; a multi-choice field posts one value per ticked option."""
    out: dict[str, Any] = {}
    for d in defs:
        name = f"custom.{d.key}"
        if d.kind == "multi" and hasattr(form, "getall"):
            ticked = [v.strip() for v in form.getall(name, []) if isinstance(v, str) and v.strip()]
            if ticked:
                out[d.key] = ticked
        elif _form_value(form, name):
            out[d.key] = _form_value(form, name)
    return out


def _form_value(form: Any, key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


@post("/customers/new", opt={"permission": "customers:create"}, include_in_schema=False)
async def create_page(request: Request) -> ClientRedirect | Template:
    form = await request.form()
    defs = await fields.active_defs()
    phones = [p for p in _form_value(form, "phones").replace("，", ",").split(",") if p.strip()]
    contact_name = _form_value(form, "contact_name")
    data = CustomerIn(
        name=_form_value(form, "name") or " ",
        kind=_form_value(form, "kind") or "enterprise",
        credit_code=_form_value(form, "credit_code"),
        type=_form_value(form, "type") or "潜在",
        level=_form_value(form, "level"),
        industry=_form_value(form, "industry"),
        province=_form_value(form, "province"),
        city=_form_value(form, "city"),
        source=_form_value(form, "source"),
        address=_form_value(form, "address"),
        needs=_form_value(form, "needs"),
        tags=[t.strip() for t in _form_value(form, "tags").replace("，", ",").split(",") if t.strip()],
        custom=_custom_values(form, defs),
        contacts=[ContactIn(name=contact_name, phones=phones, title=_form_value(form, "contact_title"))]
        if contact_name
        else [],
        phones=[] if contact_name else phones,
    )
    try:
        result = await records.create_customer(actor_of(request), data)
    except InvalidInput as exc:
        return _partial("_errors.html", errors=await _error_list(exc))
    return ClientRedirect(redirect_to=f"/customers/{result['id']}")


async def _tabs(request: Request) -> list[CustomerTab]:
    actor = actor_of(request)
    tabs = collect_sync(host.current().pm.hook.customer_tabs, actor=actor)
    return sorted((t for t in tabs if t.permission is None or actor.can(t.permission)), key=lambda t: t.order)


@get("/customers/{customer_id:int}", opt=READ, include_in_schema=False)
async def detail_page(request: Request, customer_id: FromPath[int]) -> Template:
    actor = actor_of(request)
    customer = await records.detail(actor, customer_id)
    dups = await records.duplicates_of(actor, customer_id)
    return page(
        "customers/detail.html",
        request,
        c=customer,
        tabs=await _tabs(request),
        duplicates=dups,
        settings=await config.current(),
        timeline=await timeline_of(request, customer_id),
    )


@get("/customers/{customer_id:int}/edit", opt=EDIT, include_in_schema=False)
async def edit_page(request: Request, customer_id: FromPath[int]) -> Template:
    """编辑客户: the basic fields and every active custom field."""
    actor = actor_of(request)
    await editable(actor, customer_id)
    customer = await records.detail(actor, customer_id, audit=False)
    return page(
        "customers/edit.html", request, c=customer, settings=await config.current(), defs=await fields.active_defs()
    )


@patch("/customers/{customer_id:int}", opt=EDIT, include_in_schema=False)
async def update_page(request: Request, customer_id: FromPath[int]) -> ClientRedirect | Template:
    form = await request.form()
    defs = await fields.active_defs()
    custom = _custom_values(form, defs)
    try:
        data = msgspec.convert(
            {
                **{
                    k: _form_value(form, k)
                    for k in (
                        "kind",
                        "credit_code",
                        "type",
                        "level",
                        "industry",
                        "province",
                        "city",
                        "source",
                        "address",
                        "needs",
                    )
                },
                "name": _form_value(form, "name"),
                "tags": [t.strip() for t in _form_value(form, "tags").replace("，", ",").split(",") if t.strip()],
                "custom": {d.key: custom.get(d.key, "") for d in defs},
            },
            CustomerPatch,
        )
        await records.update_customer(actor_of(request), customer_id, data)
    except msgspec.ValidationError as exc:
        return _partial("_errors.html", errors=[f"输入无效 / invalid input: {exc}"])
    except InvalidInput as exc:
        return _partial("_errors.html", errors=await _error_list(exc))
    return ClientRedirect(redirect_to=f"/customers/{customer_id}")


@get("/customers/{customer_id:int}/tab/info", opt=READ, include_in_schema=False)
async def tab_info(request: Request, customer_id: FromPath[int]) -> Template:
    customer = await records.detail(actor_of(request), customer_id, audit=False)
    return _partial("_info.html", c=customer, defs=await fields.active_defs())


@get("/customers/{customer_id:int}/tab/contacts", opt=READ, include_in_schema=False)
async def tab_contacts(request: Request, customer_id: FromPath[int]) -> Template:
    await readable(actor_of(request), customer_id)
    return _partial("_contacts.html", cid=customer_id, contacts=await records.contacts_of(customer_id))


@get("/customers/{customer_id:int}/tab/timeline", opt=READ, include_in_schema=False)
async def tab_timeline(request: Request, customer_id: FromPath[int]) -> Template:
    return _partial(
        "_timeline.html",
        cid=customer_id,
        timeline=await timeline_of(request, customer_id),
        settings=await config.current(),
    )


@post("/customers/{customer_id:int}/contacts", opt=EDIT, include_in_schema=False)
async def add_contact_page(request: Request, customer_id: FromPath[int]) -> Template:
    form = await request.form()
    try:
        birthday = dt.date.fromisoformat(_form_value(form, "birthday")) if _form_value(form, "birthday") else None
    except ValueError:
        return _partial("_errors.html", errors=["生日格式应为 YYYY-MM-DD / birthday must be YYYY-MM-DD"])
    try:
        data = msgspec.convert(
            {
                "name": _form_value(form, "name"),
                "title": _form_value(form, "title"),
                "phones": [p for p in _form_value(form, "phones").replace("，", ",").split(",") if p.strip()],
                "email": _form_value(form, "email"),
                "wechat": _form_value(form, "wechat"),
                "birthday": birthday,
            },
            ContactIn,
        )
        await records.add_contact(actor_of(request), customer_id, data)
    except msgspec.ValidationError as exc:
        return _partial("_errors.html", errors=[f"联系人信息无效 / invalid contact: {exc}"])
    except InvalidInput as exc:
        return _partial("_errors.html", errors=await _error_list(exc))
    return _partial("_contacts.html", cid=customer_id, contacts=await records.contacts_of(customer_id))


async def _contacts_box(customer_id: int, **extra: Any) -> Template:
    return _partial("_contacts.html", cid=customer_id, contacts=await records.contacts_of(customer_id), **extra)


async def _contact_of(request: Request, customer_id: int, contact_id: int) -> Any:
    """The contact, readable by the actor and belonging to this customer (else 404)."""
    contact = await records.get_contact(actor_of(request), contact_id)
    if contact.customer_id != customer_id:
        raise NotFoundException("联系人不存在 / contact not found")
    return contact


@get("/customers/{customer_id:int}/contacts/{contact_id:int}/edit", opt=EDIT, include_in_schema=False)
async def edit_contact_form(request: Request, customer_id: FromPath[int], contact_id: FromPath[int]) -> Template:
    contact = await _contact_of(request, customer_id, contact_id)
    return await _contacts_box(customer_id, editing=contact)


@patch("/customers/{customer_id:int}/contacts/{contact_id:int}", opt=EDIT, include_in_schema=False)
async def update_contact_page(request: Request, customer_id: FromPath[int], contact_id: FromPath[int]) -> Template:
    """编辑联系人: name, title, phones, email, WeChat, birthday, notes, 在职/离职."""
    contact = await _contact_of(request, customer_id, contact_id)
    form = await request.form()
    raw_birthday = _form_value(form, "birthday")
    try:
        birthday = dt.date.fromisoformat(raw_birthday) if raw_birthday else None
    except ValueError:
        return await _contacts_box(
            customer_id, editing=contact, errors=["生日格式应为 YYYY-MM-DD / birthday must be YYYY-MM-DD"]
        )
    try:
        data = msgspec.convert(
            {
                "name": _form_value(form, "name"),
                "title": _form_value(form, "title"),
                "phones": [p for p in _form_value(form, "phones").replace("，", ",").split(",") if p.strip()],
                "email": _form_value(form, "email"),
                "wechat": _form_value(form, "wechat"),
                "birthday": birthday,
                "notes": _form_value(form, "notes"),
                "employed": _form_value(form, "employed") != "0",
            },
            ContactPatch,
        )
        await records.update_contact(actor_of(request), contact_id, data)
    except msgspec.ValidationError as exc:
        return await _contacts_box(customer_id, editing=contact, errors=[f"联系人信息无效 / invalid contact: {exc}"])
    except InvalidInput as exc:
        return await _contacts_box(customer_id, editing=contact, errors=await _error_list(exc))
    return await _contacts_box(customer_id)


@delete("/customers/{customer_id:int}/contacts/{contact_id:int}", opt=EDIT, include_in_schema=False, status_code=200)
async def delete_contact_page(request: Request, customer_id: FromPath[int], contact_id: FromPath[int]) -> Template:
    await _contact_of(request, customer_id, contact_id)
    await records.delete_contact(actor_of(request), contact_id)
    return await _contacts_box(customer_id)


@post("/customers/{customer_id:int}/followups", opt=EDIT, include_in_schema=False)
async def add_followup_page(request: Request, customer_id: FromPath[int]) -> Template:
    form = await request.form()
    try:
        next_at = dt.date.fromisoformat(_form_value(form, "next_at")) if _form_value(form, "next_at") else None
    except ValueError:
        return _partial("_errors.html", errors=["下次联系日期格式应为 YYYY-MM-DD / next date must be YYYY-MM-DD"])
    plan_id = _form_value(form, "plan_id")
    try:
        await activity.add_followup(
            actor_of(request),
            FollowupIn(
                customer_id=customer_id,
                method=_form_value(form, "method") or "电话",
                kind=_form_value(form, "kind"),
                summary=_form_value(form, "summary"),
                next_at=next_at,
                plan_id=int(plan_id) if plan_id else None,
            ),
        )
    except InvalidInput as exc:
        return _partial("_errors.html", errors=await _error_list(exc))
    return _partial(
        "_timeline.html",
        cid=customer_id,
        timeline=await timeline_of(request, customer_id),
        settings=await config.current(),
    )


@post("/customers/{customer_id:int}/plans", opt=EDIT, include_in_schema=False)
async def add_plan_page(request: Request, customer_id: FromPath[int]) -> Template:
    from core.customers.schemas import PlanIn
    from core.host import SHANGHAI

    form = await request.form()
    try:
        due = dt.datetime.fromisoformat(_form_value(form, "due_at")).replace(tzinfo=SHANGHAI)
    except ValueError:
        return _partial("_errors.html", errors=["计划时间无效 / invalid plan time"])
    await activity.add_plan(
        actor_of(request), PlanIn(customer_id=customer_id, due_at=due, subject=_form_value(form, "subject"))
    )
    return _partial(
        "_timeline.html",
        cid=customer_id,
        timeline=await timeline_of(request, customer_id),
        settings=await config.current(),
    )


@post("/customers/{customer_id:int}/merge", opt=EDIT, include_in_schema=False)
async def merge_page(request: Request, customer_id: FromPath[int]) -> ClientRedirect | Template:
    """合并到此客户: the duplicate's contacts, follow-ups, plans and tags move here, then it is deleted."""
    form = await request.form()
    merge_id = _form_value(form, "merge_id")
    if not merge_id.isdigit():
        return _partial("_errors.html", errors=["请选择要合并的客户 / choose the customer to merge"])
    try:
        await duplicates.merge(actor_of(request), customer_id, int(merge_id))
    except InvalidInput as exc:
        return _partial("_errors.html", errors=await _error_list(exc))
    except (NotFoundException, PermissionDeniedException):
        return _partial("_errors.html", errors=["无权合并该客户 / you may not merge that customer"])
    return ClientRedirect(redirect_to=f"/customers/{customer_id}")


@post("/customers/{customer_id:int}/star", opt=READ, include_in_schema=False)
async def star_page(request: Request, customer_id: FromPath[int]) -> Template:
    form = await request.form()
    on = _form_value(form, "on") == "1"
    await records.set_star(actor_of(request), customer_id, on)
    return _partial("_star.html", cid=customer_id, starred=on)


@get("/customers/contacts", opt=READ, include_in_schema=False)
async def contacts_page(request: Request) -> Template:
    q = request.query_params.get("q", "")
    rows = await records.list_contacts(actor_of(request), q)
    if request.headers.get("hx-request"):
        return _partial("_contact_rows.html", contacts=rows)
    return page("customers/contacts.html", request, contacts=rows, q=q)


@get("/customers/plans", opt=READ, include_in_schema=False)
async def plans_page(request: Request) -> Template:
    due = request.query_params.get("due", "all")
    return page("customers/plans.html", request, plans=await plans_due(request, due), due=due)


@get("/customers/followups", opt=READ, include_in_schema=False)
async def followups_page(request: Request) -> Template:
    return page("customers/followups.html", request, followups=await activity.list_followups(actor_of(request)))


@get("/customers/warnings", opt=READ, include_in_schema=False)
async def warnings_page(request: Request) -> Template:
    actor = actor_of(request)
    settings = await config.current()
    days = int(request.query_params.get("days") or settings.warn_days)
    return page(
        "customers/warnings.html",
        request,
        rows=await reminders.not_contacted(actor, days),
        days=days,
        soon=await pool.soon_recycled(actor),
    )


@post("/customers/warnings/move", opt=EDIT, include_in_schema=False)
async def warnings_move_page(request: Request) -> ClientRedirect | Template:
    form = await request.form()
    ids = [int(v) for v in form.getall("ids", []) if str(v).isdigit()] if hasattr(form, "getall") else []
    try:
        await reminders.move_to_public(
            actor_of(request), ids, to_pool=_form_value(form, "target") == "pool", reason="预警批量处理"
        )
    except InvalidInput as exc:
        return _partial("_errors.html", errors=await _error_list(exc))
    return ClientRedirect(redirect_to="/customers/warnings")


@get("/customers/analysis", opt={"permission": "customers:analysis"}, include_in_schema=False)
async def analysis_page(request: Request) -> Template:
    by = request.query_params.get("by", "type")
    period = request.query_params.get("period") or None
    try:
        rows = await analysis.counts(actor_of(request), by, ListQuery(view="all"), period)
    except InvalidInput as exc:
        return _partial("_errors.html", errors=await _error_list(exc))
    total = max([r["count"] for r in rows] or [1])
    context = {"rows": rows, "by": by, "period": period, "dims": list(analysis.DIMENSIONS), "max": total}
    if request.headers.get("hx-request"):
        return _partial("_analysis.html", **context)
    return page("customers/analysis.html", request, **context)


@get("/customers/import", opt={"permission": "customers:import"}, include_in_schema=False)
async def import_page(request: Request) -> Template:
    return page("customers/import.html", request)


@post(
    "/customers/import",
    opt={"permission": "customers:import"},
    include_in_schema=False,
    request_max_body_size=60_000_000,
)
async def import_post(request: Request) -> Template:
    """Dry run (预检) or commit; after a dry run each source column gets a select to change its target field."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return _partial("_errors.html", errors=["请选择文件 / choose a file"])
    content = await upload.read()
    filename = upload.filename or ""
    mapping: dict[str, str] = {}
    for i in range(500):
        header = form.get(f"map.{i}.header")
        if not isinstance(header, str):
            break
        target = _form_value(form, f"map.{i}.field")
        mapping[header] = target
    chosen = [f for f in mapping.values() if f]
    columns = await _import_columns(content, filename)
    if len(chosen) != len(set(chosen)):
        return _partial(
            "_import_report.html",
            report=None,
            errors=["同一字段只能对应一列 / each field can take only one column"],
            **columns,
            mapping=mapping,
        )
    options = importer.ImportOptions(mode=_form_value(form, "mode") or "create", mapping=mapping)
    try:
        if _form_value(form, "commit") == "1":
            report = await importer.commit(actor_of(request), content, filename, options)
        else:
            report = await importer.dry_run(actor_of(request), content, filename, options)
    except InvalidInput as exc:
        errors = (await _error_list(exc))[:200]
        if not columns["headers"]:
            return _partial("_errors.html", errors=errors)
        shown = (
            {h: f for h, f in mapping.items() if f}
            if mapping
            else importer.auto_mapping(columns["headers"], await fields.active_defs(), {})
        )
        return _partial("_import_report.html", report=None, errors=errors, **columns, mapping=shown)
    return _partial("_import_report.html", report=report, errors=[], **columns, mapping=report.mapping)


async def _import_columns(content: bytes, filename: str) -> dict[str, Any]:
    """The file's headers and the fields a column can be mapped to (empty headers if the file is unreadable)."""
    from core.customers.spreadsheet import read_table

    try:
        headers, _ = read_table(content, filename)
    except InvalidInput:
        headers = []
    targets = [(f, label) for f, label in importer.FIELD_LABELS.items()]
    targets += [(f"custom:{d.key}", d.label) for d in await fields.active_defs()]
    return {"headers": [h for h in headers if isinstance(h, str)], "targets": targets}


@post("/customers/{customer_id:int}/claim", opt={"permission": "customers:pool"}, include_in_schema=False)
async def claim_post(request: Request, customer_id: FromPath[int]) -> ClientRedirect | Template:
    try:
        await pool.claim(actor_of(request), [customer_id])
    except InvalidInput as exc:
        return _partial("_errors.html", errors=await _error_list(exc))
    return ClientRedirect(redirect_to=f"/customers/{customer_id}")


@post("/customers/{customer_id:int}/release", opt=EDIT, include_in_schema=False)
async def release_post(request: Request, customer_id: FromPath[int]) -> ClientRedirect:
    await pool.release(actor_of(request), [customer_id], "手动放入公海")
    return ClientRedirect(redirect_to="/customers")


PAGE_HANDLERS = [
    list_page,
    assign_post,
    pools_page,
    pools_post,
    fields_page,
    fields_post,
    columns_post,
    new_page,
    create_page,
    detail_page,
    edit_page,
    update_page,
    tab_info,
    tab_contacts,
    tab_timeline,
    add_contact_page,
    edit_contact_form,
    update_contact_page,
    delete_contact_page,
    add_followup_page,
    add_plan_page,
    merge_page,
    star_page,
    contacts_page,
    plans_page,
    followups_page,
    warnings_page,
    warnings_move_page,
    analysis_page,
    import_page,
    import_post,
    claim_post,
    release_post,
]
