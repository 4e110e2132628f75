"""JSON API: /api/v1/opportunities and /api/v1/needs (msgspec Structs in and out, everything in scope)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, QueryParameter
from litestar.response import File

from core import host
from core.customers.errors import InvalidInput
from core.customers.schemas import FollowupOut
from core.web.responses import actor_of
from plugins.sales import access, analysis, columns, exporter, importer, links, needs, records, search
from plugins.sales.schemas import (
    BulkIn,
    Changed,
    ColumnsIn,
    FollowupForOpportunityIn,
    LinkIn,
    ListQuery,
    NeedIn,
    NeedOut,
    NeedPatch,
    OpportunityIn,
    OpportunityOut,
    OpportunityPatch,
    Page,
)

RAISES = [NotFoundException, InvalidInput]


def query_from_params(params: Any, drop: tuple[str, ...] = ()) -> ListQuery:
    data = {k: v for k, v in params.items() if v != "" and k in ListQuery.__struct_fields__ and k not in drop}
    try:
        return msgspec.convert(data, ListQuery, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"查询参数无效：{exc} / invalid query: {exc}") from exc


def require_analysis_licence() -> None:
    if not host.current().licence.allows(access.ANALYSIS_MODULE):
        raise PermissionDeniedException("销售分析属于团队版功能 / sales analysis needs the team edition licence")


class Count(msgspec.Struct, kw_only=True):
    count: int


@dataclass
class ImportForm:
    file: UploadFile
    dry_run: bool = False


class OpportunityApi(Controller):
    path = "/api/v1/opportunities"
    tags = ("opportunities",)

    @get("/", opt={"permission": access.READ}, raises=RAISES)
    async def list_(self, request: Request) -> Page:
        """销售机会 list: `q`, `view` (all/mine/open), `stage`, `state`, `outcome`, `source`, `importance`, `type`,
        `need`, `owner_id`, `department_id`, `customer_id`, `amount_min`/`amount_max` (yuan),
        `close_from`/`close_to`, `created_from`/`created_to`, `sort`, `desc`, `after` (cursor), `limit`."""
        return await search.list_opportunities(actor_of(request), query_from_params(request.query_params))

    @post("/search", opt={"permission": access.READ}, status_code=200, raises=RAISES)
    async def search_(self, request: Request, data: JSONBody[ListQuery]) -> Page:
        return await search.list_opportunities(actor_of(request), data)

    @get("/count", opt={"permission": access.READ}, raises=RAISES)
    async def count(self, request: Request) -> Count:
        return Count(count=await search.count_opportunities(actor_of(request),
                                                            query_from_params(request.query_params)))

    @post("/", opt={"permission": access.CREATE}, raises=RAISES)
    async def create(self, request: Request, data: JSONBody[OpportunityIn]) -> OpportunityOut:
        return await records.create(actor_of(request), data)

    @get("/{opportunity_id:int}", opt={"permission": access.READ}, raises=RAISES)
    async def detail(self, request: Request, opportunity_id: FromPath[int]) -> OpportunityOut:
        return await records.detail(actor_of(request), opportunity_id)

    @patch("/{opportunity_id:int}", opt={"permission": access.EDIT}, raises=RAISES)
    async def update(self, request: Request, opportunity_id: FromPath[int],
                     data: JSONBody[OpportunityPatch]) -> OpportunityOut:
        return await records.update(actor_of(request), opportunity_id, data)

    @delete("/{opportunity_id:int}", opt={"permission": access.DELETE}, raises=RAISES)
    async def remove(self, request: Request, opportunity_id: FromPath[int]) -> None:
        await records.delete(actor_of(request), opportunity_id)

    @post("/bulk", opt={"permission": access.EDIT}, status_code=200, raises=RAISES)
    async def bulk(self, request: Request, data: JSONBody[BulkIn]) -> Changed:
        """批量修改负责人或状态; any id outside the caller's scope fails the whole call (404)."""
        return Changed(changed=await records.bulk_change(actor_of(request), data))

    @get("/{opportunity_id:int}/followups", opt={"permission": access.READ}, raises=RAISES)
    async def followups(self, request: Request, opportunity_id: FromPath[int]) -> list[FollowupOut]:
        return await links.followups_of(actor_of(request), opportunity_id)

    @post("/{opportunity_id:int}/followups", opt={"permission": access.EDIT}, raises=RAISES)
    async def add_followup(self, request: Request, opportunity_id: FromPath[int],
                           data: JSONBody[FollowupForOpportunityIn]) -> FollowupOut:
        return await links.add_followup(actor_of(request), opportunity_id, data)

    @post("/{opportunity_id:int}/links", opt={"permission": access.EDIT}, status_code=204, raises=RAISES)
    async def link(self, request: Request, opportunity_id: FromPath[int], data: JSONBody[LinkIn]) -> None:
        await links.link(actor_of(request), opportunity_id, data.followup_id)

    @get("/export", opt={"permission": access.EXPORT}, raises=RAISES)
    async def export(self, request: Request, format: FromQuery[str] = "xlsx") -> File:
        """The current filter (same parameters as the list) within the caller's scope, as xlsx or csv."""
        if format not in ("xlsx", "csv"):
            raise InvalidInput("格式只能是 xlsx 或 csv / format must be xlsx or csv")
        query = query_from_params(request.query_params, drop=("format",))
        path, _ = await exporter.export(actor_of(request), query, format)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M")
        return File(path=path, filename=f"opportunities-{stamp}.{format}",
                    background=BackgroundTask(anyio.Path(path).unlink))

    @post("/import", opt={"permission": access.IMPORT}, status_code=200, raises=RAISES,
          request_max_body_size=60_000_000)
    async def import_(self, request: Request, data: MultipartBody[ImportForm]) -> importer.ImportReport:
        """导入 xlsx/csv (headers as in the export). All rows valid or nothing is written; `dry_run` only checks."""
        content = await data.file.read()
        return await importer.run(actor_of(request), content, data.file.filename or "", dry_run=data.dry_run)

    @get("/columns", opt={"permission": access.READ})
    async def get_columns(self, request: Request) -> list[str]:
        """列设置: the list columns the caller chose."""
        return await columns.get(actor_of(request))

    @put("/columns", opt={"permission": access.READ}, raises=RAISES)
    async def set_columns(self, request: Request, data: JSONBody[ColumnsIn]) -> list[str]:
        return await columns.save(actor_of(request), data.columns)

    @get("/analysis", opt={"permission": access.ANALYSIS}, raises=RAISES)
    async def analysis_(self, request: Request, by: FromQuery[str] = "owner",
                        period: FromQuery[str] = "month") -> analysis.Report:
        """销售分析 (team edition): funnel, conversion, win rate/cycle by `by` (owner/department/source), by period."""
        require_analysis_licence()
        query = query_from_params(request.query_params, drop=("by", "period"))
        return await analysis.report(actor_of(request), query, by=by, period=period)

    @get("/analysis.csv", opt={"permission": access.ANALYSIS}, raises=RAISES)
    async def analysis_csv(self, request: Request, by: FromQuery[str] = "owner",
                           period: FromQuery[str] = "month") -> Response[bytes]:
        require_analysis_licence()
        query = query_from_params(request.query_params, drop=("by", "period"))
        report = await analysis.report(actor_of(request), query, by=by, period=period)
        return Response(analysis.to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": 'attachment; filename="sales-analysis.csv"'})


class NeedApi(Controller):
    path = "/api/v1/needs"
    tags = ("needs",)

    @get("/", opt={"permission": access.NEEDS_READ}, raises=RAISES)
    async def list_(self, request: Request, customer_id: FromQuery[int | None] = None,
                    need_state: Annotated[str, QueryParameter(name="state")] = "",
                    due: FromQuery[bool] = False) -> list[NeedOut]:
        """需求挖掘 in scope; `due=true`: open needs due today or earlier."""
        return await needs.list_needs(actor_of(request), customer_id=customer_id, state=need_state,
                                      due_by=host.today() if due else None)

    @post("/", opt={"permission": access.NEEDS_EDIT}, raises=RAISES)
    async def create(self, request: Request, data: JSONBody[NeedIn]) -> NeedOut:
        return await needs.create(actor_of(request), data)

    @get("/{need_id:int}", opt={"permission": access.NEEDS_READ}, raises=RAISES)
    async def detail(self, request: Request, need_id: FromPath[int]) -> NeedOut:
        return await needs.detail(actor_of(request), need_id)

    @patch("/{need_id:int}", opt={"permission": access.NEEDS_EDIT}, raises=RAISES)
    async def update(self, request: Request, need_id: FromPath[int], data: JSONBody[NeedPatch]) -> NeedOut:
        return await needs.update(actor_of(request), need_id, data)

    @post("/{need_id:int}/done", opt={"permission": access.NEEDS_EDIT}, status_code=200, raises=RAISES)
    async def done(self, request: Request, need_id: FromPath[int]) -> NeedOut:
        """跟进一次: the next due date moves one reminder cycle on."""
        return await needs.mark_done(actor_of(request), need_id)


API_HANDLERS = [OpportunityApi, NeedApi]
