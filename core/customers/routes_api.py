"""JSON API: /api/v1/customers, /contacts, /followups, /plans, /pools (msgspec Structs in and out)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody
from litestar.response import File

from core import host
from core.customers import (
    activity,
    analysis,
    assign,
    attachments,
    duplicates,
    exporter,
    fields,
    importer,
    pool,
    records,
    reminders,
    search,
)
from core.customers.access import readable
from core.customers.errors import InvalidInput
from core.customers.schemas import (
    AssignIn,
    ContactIn,
    ContactOut,
    ContactPatch,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    FieldDefIn,
    FollowupIn,
    FollowupOut,
    HandoverIn,
    ListQuery,
    MergeIn,
    Page,
    PlanIn,
    PlanOut,
    PoolIn,
    PoolOut,
    PoolRuleIn,
    ReasonIn,
    ShareIn,
)
from core.hooktypes import TimelineEntry
from core.plugins import collect
from core.web.responses import actor_of

NOT_FOUND = [NotFoundException, InvalidInput]


def query_from_params(params: Any) -> ListQuery:
    """A ListQuery from query-string parameters; `custom.<key>=value` filters on custom fields."""
    data: dict[str, Any] = {}
    custom: dict[str, str] = {}
    for key, value in params.items():
        if value == "":
            continue
        if key.startswith("custom."):
            custom[key.removeprefix("custom.")] = value
        elif key in ListQuery.__struct_fields__:
            data[key] = value
    data["custom"] = custom
    try:
        return msgspec.convert(data, ListQuery, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"查询参数无效：{exc} / invalid query: {exc}") from exc


class Created(msgspec.Struct, kw_only=True):
    id: int
    duplicates: list[dict[str, Any]] = []


class Count(msgspec.Struct, kw_only=True):
    count: int


class Moved(msgspec.Struct, kw_only=True):
    moved: int


class IdsIn(msgspec.Struct, kw_only=True):
    customer_ids: list[int]
    reason: str = ""
    pool_id: int | None = None
    to_pool: bool = False


class DuplicateCheckIn(msgspec.Struct, kw_only=True):
    name: str = ""
    credit_code: str = ""
    phones: list[str] = []


class ColumnsIn(msgspec.Struct, kw_only=True):
    columns: list[str]


@dataclass
class UploadForm:
    file: UploadFile


@dataclass
class ImportForm:
    file: UploadFile
    mode: str = "create"
    match_on: str = "phone,credit_code,name"
    mapping: str = ""  # JSON object header → field


class CustomerApi(Controller):
    path = "/api/v1/customers"
    tags = ("customers",)

    @get("/", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def list_(self, request: Request) -> Page:
        """我的客户 and the other lists: `view`, `q`, filters (`custom.<key>`), `sort`, `desc`, `after`."""
        return await search.list_customers(actor_of(request), query_from_params(request.query_params))

    @post("/search", opt={"permission": "customers:read"}, status_code=200, raises=NOT_FOUND)
    async def search_(self, request: Request, data: JSONBody[ListQuery]) -> Page:
        return await search.list_customers(actor_of(request), data)

    @get("/count", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def count(self, request: Request) -> Count:
        return Count(count=await search.count_customers(actor_of(request), query_from_params(request.query_params)))

    @post("/", opt={"permission": "customers:create"}, raises=NOT_FOUND)
    async def create(self, request: Request, data: JSONBody[CustomerIn]) -> Created:
        result = await records.create_customer(actor_of(request), data)
        return Created(id=result["id"], duplicates=result["duplicates"])

    @get("/{customer_id:int}", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def detail(self, request: Request, customer_id: FromPath[int]) -> CustomerOut:
        return await records.detail(actor_of(request), customer_id)

    @patch("/{customer_id:int}", opt={"permission": "customers:edit"}, raises=NOT_FOUND)
    async def update(self, request: Request, customer_id: FromPath[int], data: JSONBody[CustomerPatch]) -> CustomerOut:
        return await records.update_customer(actor_of(request), customer_id, data)

    @delete("/{customer_id:int}", opt={"permission": "customers:delete"}, raises=NOT_FOUND)
    async def remove(self, request: Request, customer_id: FromPath[int]) -> None:
        await records.delete_customer(actor_of(request), customer_id)

    @post("/{customer_id:int}/star", opt={"permission": "customers:read"}, status_code=204, raises=NOT_FOUND)
    async def star(self, request: Request, customer_id: FromPath[int]) -> None:
        await records.set_star(actor_of(request), customer_id, True)

    @delete("/{customer_id:int}/star", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def unstar(self, request: Request, customer_id: FromPath[int]) -> None:
        await records.set_star(actor_of(request), customer_id, False)

    @get("/{customer_id:int}/shares", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def shares(self, request: Request, customer_id: FromPath[int]) -> list[dict[str, Any]]:
        return await records.shares_of(actor_of(request), customer_id)

    @post("/{customer_id:int}/shares", opt={"permission": "customers:edit"}, raises=NOT_FOUND)
    async def share(self, request: Request, customer_id: FromPath[int], data: JSONBody[ShareIn]) -> Created:
        sid = await records.share(
            actor_of(request), customer_id, user_id=data.user_id, department_id=data.department_id, level=data.level
        )
        return Created(id=sid)

    @delete("/{customer_id:int}/shares/{share_id:int}", opt={"permission": "customers:edit"}, raises=NOT_FOUND)
    async def unshare(self, request: Request, customer_id: FromPath[int], share_id: FromPath[int]) -> None:
        await records.unshare(actor_of(request), customer_id, share_id)

    @get("/{customer_id:int}/contacts", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def contacts(self, request: Request, customer_id: FromPath[int]) -> list[ContactOut]:
        await readable(actor_of(request), customer_id)
        return await records.contacts_of(customer_id)

    @post("/{customer_id:int}/contacts", opt={"permission": "customers:edit"}, raises=NOT_FOUND)
    async def add_contact(self, request: Request, customer_id: FromPath[int], data: JSONBody[ContactIn]) -> ContactOut:
        return await records.add_contact(actor_of(request), customer_id, data)

    @get("/{customer_id:int}/followups", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def followups(self, request: Request, customer_id: FromPath[int]) -> list[FollowupOut]:
        return await activity.followups_of(actor_of(request), customer_id)

    @get("/{customer_id:int}/plans", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def plans(self, request: Request, customer_id: FromPath[int]) -> list[PlanOut]:
        return await activity.plans_of(actor_of(request), customer_id)

    @get("/{customer_id:int}/timeline", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def timeline(self, request: Request, customer_id: FromPath[int]) -> list[TimelineEntry]:
        return await timeline_of(request, customer_id)

    @get("/{customer_id:int}/duplicates", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def duplicates_of(self, request: Request, customer_id: FromPath[int]) -> list[dict[str, Any]]:
        actor = actor_of(request)
        await readable(actor, customer_id)
        return await duplicates.find_for(actor, customer_id)

    @post("/duplicates/check", opt={"permission": "customers:read"}, status_code=200, raises=NOT_FOUND)
    async def check_duplicates(self, request: Request, data: JSONBody[DuplicateCheckIn]) -> list[dict[str, Any]]:
        e164s = [e for e, _ in records.clean_phones(data.phones)]
        return await duplicates.find(
            actor_of(request), name=data.name, credit_code=data.credit_code.upper(), e164s=e164s
        )

    @post("/merge", opt={"permission": "customers:edit"}, status_code=204, raises=NOT_FOUND)
    async def merge(self, request: Request, data: JSONBody[MergeIn]) -> None:
        await duplicates.merge(actor_of(request), data.keep_id, data.merge_id)

    @post("/assign", opt={"permission": "customers:assign"}, status_code=200, raises=NOT_FOUND)
    async def assign_(self, request: Request, data: JSONBody[AssignIn]) -> Moved:
        return Moved(moved=await assign.assign(actor_of(request), data))

    @post("/handover", opt={"permission": "customers:assign"}, status_code=200, raises=NOT_FOUND)
    async def handover(self, request: Request, data: JSONBody[HandoverIn]) -> dict[str, Any]:
        return await assign.handover(actor_of(request), data.from_user_id, data.to_user_id, data.reason)

    @post("/import/dry-run", opt={"permission": "customers:import"}, status_code=200, raises=NOT_FOUND)
    async def import_dry_run(self, request: Request, data: MultipartBody[ImportForm]) -> importer.ImportReport:
        content, options = await _import_args(data)
        return await importer.dry_run(actor_of(request), content, data.file.filename or "", options)

    @post("/import", opt={"permission": "customers:import"}, status_code=200, raises=NOT_FOUND)
    async def import_commit(self, request: Request, data: MultipartBody[ImportForm]) -> importer.ImportReport:
        content, options = await _import_args(data)
        return await importer.commit(actor_of(request), content, data.file.filename or "", options)

    @post("/import/{batch_id:int}/undo", opt={"permission": "customers:import"}, status_code=200, raises=NOT_FOUND)
    async def import_undo(self, request: Request, batch_id: FromPath[int]) -> dict[str, int]:
        return await importer.undo(actor_of(request), batch_id)

    @get("/export", opt={"permission": "customers:export"}, raises=NOT_FOUND)
    async def export(self, request: Request, format: FromQuery[str] = "xlsx") -> File:
        """Exactly the current filter (same query parameters as the list) within the caller's scope."""
        if format not in ("xlsx", "csv"):
            raise InvalidInput("格式只能是 xlsx 或 csv / format must be xlsx or csv")
        params = {k: v for k, v in request.query_params.items() if k != "format"}
        path, _ = await exporter.export(actor_of(request), query_from_params(params), format)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M")
        return File(
            path=path, filename=f"customers-{stamp}.{format}", background=BackgroundTask(anyio.Path(path).unlink)
        )

    @get("/analysis", opt={"permission": "customers:analysis"}, raises=NOT_FOUND)
    async def analysis_(
        self, request: Request, by: FromQuery[str] = "type", period: FromQuery[str | None] = None
    ) -> list[dict[str, Any]]:
        """Counts by a dimension (and period); `/analysis.csv` gives the same table as a file."""
        params = {k: v for k, v in request.query_params.items() if k not in ("by", "period")}
        params.setdefault("view", "all")
        return await analysis.counts(actor_of(request), by, query_from_params(params), period)

    @get("/analysis.csv", opt={"permission": "customers:analysis"}, raises=NOT_FOUND)
    async def analysis_csv(
        self, request: Request, by: FromQuery[str] = "type", period: FromQuery[str | None] = None
    ) -> Response[bytes]:
        params = {k: v for k, v in request.query_params.items() if k not in ("by", "period")}
        params.setdefault("view", "all")
        rows = await analysis.counts(actor_of(request), by, query_from_params(params), period)
        return Response(
            analysis.to_csv(rows, by, period),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="analysis-{by}.csv"'},
        )

    @get("/warnings", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def warnings(self, request: Request, days: FromQuery[int | None] = None) -> list[dict[str, Any]]:
        return await reminders.not_contacted(actor_of(request), days)

    @post("/warnings/move", opt={"permission": "customers:edit"}, status_code=200, raises=NOT_FOUND)
    async def warnings_move(self, request: Request, data: JSONBody[IdsIn]) -> Moved:
        return Moved(
            moved=await reminders.move_to_public(
                actor_of(request), data.customer_ids, to_pool=data.to_pool, reason=data.reason
            )
        )

    @get("/fields", opt={"permission": "customers:read"})
    async def fields_(self) -> list[fields.FieldDef]:
        return await fields.active_defs()

    @post("/fields", opt={"permission": "customers:settings"}, raises=NOT_FOUND)
    async def define_field(self, request: Request, data: JSONBody[FieldDefIn]) -> fields.FieldDef:
        return await fields.define(actor_of(request), data)

    @get("/columns", opt={"permission": "customers:read"})
    async def columns(self, request: Request) -> list[str]:
        return await records.get_columns(actor_of(request))

    @put("/columns", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def set_columns(self, request: Request, data: JSONBody[ColumnsIn]) -> list[str]:
        return await records.set_columns(actor_of(request), data.columns)


async def _import_args(data: ImportForm) -> tuple[bytes, importer.ImportOptions]:
    content = await data.file.read()
    try:
        mapping = msgspec.json.decode(data.mapping, type=dict[str, str]) if data.mapping else {}
    except msgspec.DecodeError as exc:
        raise InvalidInput("列映射不是有效的 JSON / mapping is not valid JSON") from exc
    match_on = [m.strip() for m in data.match_on.split(",") if m.strip()]
    return content, importer.ImportOptions(mode=data.mode, match_on=match_on, mapping=mapping)


async def timeline_of(request: Request, customer_id: int) -> list[TimelineEntry]:
    """Core's follow-ups and plans plus every plugin's entries, newest first (read access checked first)."""
    actor = actor_of(request)
    await readable(actor, customer_id)
    entries = await collect(host.current().pm.hook.customer_timeline, actor=actor, customer_id=customer_id)
    return sorted(entries, key=lambda e: e.at, reverse=True)


class ContactApi(Controller):
    path = "/api/v1/contacts"
    tags = ("contacts",)

    @get("/", opt={"permission": "customers:read"})
    async def list_(
        self, request: Request, q: FromQuery[str] = "", limit: Annotated[int, FromQuery] = 100
    ) -> list[ContactOut]:
        return await records.list_contacts(actor_of(request), q, min(max(limit, 1), 500))

    @get("/{contact_id:int}", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def detail(self, request: Request, contact_id: FromPath[int]) -> ContactOut:
        return await records.get_contact(actor_of(request), contact_id)

    @patch("/{contact_id:int}", opt={"permission": "customers:edit"}, raises=NOT_FOUND)
    async def update(self, request: Request, contact_id: FromPath[int], data: JSONBody[ContactPatch]) -> ContactOut:
        return await records.update_contact(actor_of(request), contact_id, data)

    @delete("/{contact_id:int}", opt={"permission": "customers:edit"}, raises=NOT_FOUND)
    async def remove(self, request: Request, contact_id: FromPath[int]) -> None:
        await records.delete_contact(actor_of(request), contact_id)


class FollowupApi(Controller):
    path = "/api/v1/followups"
    tags = ("followups",)

    @get("/", opt={"permission": "customers:read"})
    async def list_(self, request: Request, user_id: FromQuery[int | None] = None) -> list[FollowupOut]:
        return await activity.list_followups(actor_of(request), user_id=user_id)

    @post("/", opt={"permission": "customers:edit"}, raises=NOT_FOUND)
    async def create(self, request: Request, data: JSONBody[FollowupIn]) -> FollowupOut:
        return await activity.add_followup(actor_of(request), data)

    @get("/{followup_id:int}/attachments", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def attachments_(self, request: Request, followup_id: FromPath[int]) -> list[dict[str, Any]]:
        return await attachments.list_for(actor_of(request), followup_id)

    @post("/{followup_id:int}/attachments", opt={"permission": "customers:edit"}, raises=NOT_FOUND)
    async def attach(self, request: Request, followup_id: FromPath[int], data: MultipartBody[UploadForm]) -> Created:
        content = await data.file.read()
        aid = await attachments.attach(
            actor_of(request), followup_id, data.file.filename or "file", content, data.file.content_type or ""
        )
        return Created(id=aid)

    @get("/attachments/{attachment_id:int}", opt={"permission": "customers:read"}, raises=NOT_FOUND)
    async def download(self, request: Request, attachment_id: FromPath[int]) -> File:
        path, row = await attachments.for_download(actor_of(request), attachment_id)
        return File(path=path, filename=row["filename"], media_type=row["content_type"])


class PlanApi(Controller):
    path = "/api/v1/plans"
    tags = ("plans",)

    @get("/", opt={"permission": "customers:read"})
    async def list_(self, request: Request, due: FromQuery[str] = "all") -> list[PlanOut]:
        """`due`: all | overdue | today | 3days | 7days (the actor's own open plans)."""
        return await plans_due(request, due)

    @post("/", opt={"permission": "customers:edit"}, raises=NOT_FOUND)
    async def create(self, request: Request, data: JSONBody[PlanIn]) -> PlanOut:
        return await activity.add_plan(actor_of(request), data)


async def plans_due(request: Request, due: str) -> list[PlanOut]:
    today = host.today()
    start = reminders._local_day_start(today)
    windows = {
        "overdue": (None, start),
        "today": (start, reminders._local_day_start(today + dt.timedelta(days=1))),
        "3days": (start, reminders._local_day_start(today + dt.timedelta(days=3))),
        "7days": (start, reminders._local_day_start(today + dt.timedelta(days=7))),
        "all": (None, None),
    }
    if due not in windows:
        raise InvalidInput("due 只能是 all/overdue/today/3days/7days / due must be all, overdue, today, 3days or 7days")
    begin, end = windows[due]
    return await activity.plans_in_scope(actor_of(request), start=begin, end=end)


class PoolApi(Controller):
    path = "/api/v1/pools"
    tags = ("pools",)

    @get("/", opt={"permission": "customers:pool"})
    async def list_(self, request: Request) -> list[PoolOut]:
        return await pool.list_pools(actor_of(request))

    @post("/", opt={"permission": "customers:settings"}, raises=NOT_FOUND)
    async def create(self, request: Request, data: JSONBody[PoolIn]) -> PoolOut:
        return await pool.create_pool(actor_of(request), data)

    @post("/{pool_id:int}/rules", opt={"permission": "customers:settings"}, raises=NOT_FOUND)
    async def add_rule(self, request: Request, pool_id: FromPath[int], data: JSONBody[PoolRuleIn]) -> Created:
        return Created(id=await pool.add_rule(actor_of(request), pool_id, data))

    @post("/claim", opt={"permission": "customers:pool"}, status_code=200, raises=NOT_FOUND)
    async def claim(self, request: Request, data: JSONBody[IdsIn]) -> Moved:
        return Moved(moved=await pool.claim(actor_of(request), data.customer_ids))

    @post("/release", opt={"permission": "customers:edit"}, status_code=200, raises=NOT_FOUND)
    async def release(self, request: Request, data: JSONBody[IdsIn]) -> Moved:
        return Moved(moved=await pool.release(actor_of(request), data.customer_ids, data.reason, data.pool_id))

    @post("/recycle", opt={"permission": "customers:settings"}, status_code=200)
    async def recycle(self) -> Moved:
        """Run the daily recycle now (it is idempotent)."""
        return Moved(moved=await pool.recycle())


API_HANDLERS = [CustomerApi, ContactApi, FollowupApi, PlanApi, PoolApi]
__all__ = ["API_HANDLERS", "ReasonIn", "query_from_params", "timeline_of"]
