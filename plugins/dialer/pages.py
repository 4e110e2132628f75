"""The dialer's pages (Jinja2 + htmx): 外呼管理, live console, 拨打记录, 号码直拨, 外呼统计, 外呼语音, devices."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template

from core.customers import selection
from core.customers.errors import InvalidInput
from core.web.i18n import gettext as _
from core.web.responses import actor_of, page
from plugins.dialer import api, calls, campaigns, recordings, runtime, stats
from plugins.dialer.audio import ACCEPT, MAX_SECONDS, converter_note
from plugins.dialer.engine import CampaignConfig
from plugins.dialer.errors import DialerInputError
from plugins.dialer.schemas import CampaignIn, DeviceSpec, DispositionIn

READ = {"permission": "dialer:read"}
RUN = {"permission": "dialer:run"}
MODES = {"prompt": "放音，可随时接听（默认）", "auto_handover": "收听 N 秒后自动转接", "manual": "仅拨号（手动）"}
STATUSES = campaigns.STATUS_ZH
LINE_STATES = {"idle": "空闲", "dialing": "拨号/振铃", "answered": "已接通", "prompt": "放音中", "talking": "通话中",
               "down": "设备离线"}
AGENT_STATES = {"free": "空闲", "talking": "通话中", "wrapup": "整理中", "away": "离开"}


def _v(form: Any, key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def _flash(message: str, *, error: bool = False) -> Template:
    return Template(template_name="dialer/_flash.html", context={"message": message, "error": error})


@get("/dialer", opt=READ, include_in_schema=False)
async def campaigns_page(request: Request, customers: FromQuery[str] = "") -> Template:
    """外呼管理; arriving from the customers list (发起外呼), the ticked or filtered customers are preset."""
    actor = actor_of(request)
    picked = selection.from_params(request.query_params)
    ids = picked.ids or [int(x) for x in customers.split(",") if x.strip().isdigit()]
    recs = await recordings.list_recordings(actor) if actor.can("dialer:recordings") else []
    return page("dialer/campaigns.html", request, campaigns=await campaigns.list_campaigns(actor), recordings=recs,
                devices=await api.devices_out(), modes=MODES, preset_customers=",".join(map(str, ids)),
                preset_count=len(ids), statuses=STATUSES,
                preset_filter=msgspec.json.encode(picked.filter).decode() if picked.filter is not None else "",
                can_run=actor.can("dialer:run"), advised=campaigns.ADVISED_BATCH,
                windows=", ".join(f"{a}-{b}" for a, b in CampaignConfig().windows))


@get("/dialer/campaigns", opt=READ, include_in_schema=False)
async def campaigns_list_alias() -> Redirect:
    """外呼管理 lives at /dialer; a typed or bookmarked /dialer/campaigns lands there too."""
    return Redirect("/dialer")


@post("/dialer/campaigns", opt=RUN, include_in_schema=False, status_code=200)
async def create_campaign_page(request: Request) -> Template | ClientRedirect:
    actor = actor_of(request)
    form = await request.form()
    numbers: list[str] = []
    upload = form.get("file")
    try:
        if isinstance(upload, UploadFile) and upload.filename:
            numbers = campaigns.numbers_from_file(await upload.read(), upload.filename)
        numbers += [n for n in _v(form, "numbers").replace("，", ",").replace("\n", ",").split(",") if n.strip()]
        ids = [int(x) for x in _v(form, "customer_ids").replace("，", ",").split(",") if x.strip().isdigit()]
        devices = _device_specs(form.getall("device", []), form.getall("slot", []))
        config: dict[str, Any] = {}
        if _v(form, "gap_s"):
            config["gap_s"] = float(_v(form, "gap_s"))
        if _v(form, "rotation"):
            config["rotation"] = _v(form, "rotation")
        if _v(form, "windows"):
            config["windows"] = _windows(_v(form, "windows"))
        if _v(form, "holidays_shown") == "1":
            config["public_holidays"] = "CN" if _v(form, "public_holidays") == "1" else ""
        if _v(form, "always") == "1":
            config.update(windows=[["00:00", "23:59"]], weekdays=[0, 1, 2, 3, 4, 5, 6], public_holidays="")
        chosen = selection.from_params({"selection": "filter", "filter": _v(form, "filter")}) if _v(
            form, "filter") else None
        data = CampaignIn(name=_v(form, "name") or "外呼任务", customer_ids=ids, numbers=numbers,
                          filter=msgspec.to_builtins(chosen.filter) if chosen and chosen.filter else None,
                          recording_id=int(_v(form, "recording_id")) if _v(form, "recording_id").isdigit() else None,
                          mode=_v(form, "mode") or "prompt", devices=devices, config=config,  # type: ignore[arg-type]
                          start=_v(form, "start") == "1")
        out = await api.create_campaign(actor, data)
    except (DialerInputError, InvalidInput, ValueError, msgspec.ValidationError) as exc:
        return _flash(getattr(exc, "message", None) or getattr(exc, "detail", str(exc)), error=True)
    return ClientRedirect(redirect_to=f"/dialer/campaigns/{out.id}")


def _windows(text: str) -> list[list[str]]:
    """"9:00-12:00，13:30～18:00" → [["09:00", "12:00"], ["13:30", "18:00"]]; the engine checks the times."""
    out = []
    for part in re.split(r"[,，;；、\s]+", text.strip()):
        if not part:
            continue
        found = re.fullmatch(r"(\d{1,2}):(\d{2})\s*[-–—~～至到]\s*(\d{1,2}):(\d{2})", part)
        if found is None:
            raise DialerInputError(f"外呼时段写法应为 09:00-12:00，多个用逗号分隔（收到：{part}）",
                                   f"calling windows look like 09:00-12:00, separated by commas (got: {part})")
        h1, m1, h2, m2 = found.groups()
        out.append([f"{int(h1):02d}:{m1}", f"{int(h2):02d}:{m2}"])
    return out


def _device_specs(devices: list[Any], slots: list[Any]) -> list[DeviceSpec]:
    """Ticked boxes (all their slots) and ticked slots ("box:slot"); a slot ticks its box too."""
    chosen: dict[int, list[int]] = {int(d): [] for d in devices if str(d).isdigit()}
    for value in slots:
        box, _sep, slot = str(value).partition(":")
        if box.isdigit() and slot.isdigit():
            chosen.setdefault(int(box), []).append(int(slot))
    return [DeviceSpec(device=d, slots=sorted(set(s))) for d, s in chosen.items()]


@get("/dialer/campaigns/{campaign_id:int}", opt=READ, include_in_schema=False)
async def console_page(request: Request, campaign_id: FromPath[int]) -> Template:
    actor = actor_of(request)
    c = await campaigns.get(actor, campaign_id)
    recent = await calls.list_calls(actor, campaign_id=campaign_id, limit=20)
    return page("dialer/console.html", request, c=c, calls=recent, dispositions=calls.DISPOSITIONS,
                causes=calls.CAUSES, modes=MODES, statuses=STATUSES, console_text=_console_text(),
                online=runtime.current() is not None)


def _console_text() -> dict[str, Any]:
    """The live console script's words, in the page's language."""
    return {
        "status": {k: _(v) for k, v in STATUSES.items()},
        "agent": {k: _(v) for k, v in AGENT_STATES.items()},
        "line": {k: _(v) for k, v in LINE_STATES.items()},
        "listened": _("，已听 {s} 秒"), "seconds": _(" {s} 秒"),
        "blocked": _("疑似封停"), "locked": _("冷却中"), "usable": _("可用"), "slot": _("{box} 卡{slot}"),
        "idle_sim": _("未在用（信号在切换到此卡时读取）"),
        "totals": _("已拨 {dials} · 接通 {answered} · 有效 {effective} · 放弃 {abandoned} · 销售 {agent}"),
    }


@post("/dialer/campaigns/{campaign_id:int}/{op:str}", opt=RUN, include_in_schema=False, status_code=200)
async def campaign_op_page(request: Request, campaign_id: FromPath[int], op: FromPath[str]) -> Template:
    actor = actor_of(request)
    if op not in campaigns.TRANSITIONS:
        return _flash("未知操作 / unknown operation", error=True)
    try:
        out = await api.campaign_op(actor, campaign_id, op)
    except DialerInputError as exc:
        return _flash(exc.message, error=True)
    status = _("外呼任务：{status}").format(status=_(STATUSES.get(out.status, out.status)))
    return _flash(f"{status} {out.status_reason}".strip())


@post("/dialer/calls/{call_id:int}/disposition", opt=READ, include_in_schema=False, status_code=200)
async def disposition_page(request: Request, call_id: FromPath[int]) -> Template:
    form = await request.form()
    import datetime as dt

    nxt = _v(form, "next_contact")
    try:
        data = DispositionIn(disposition=_v(form, "disposition"), note=_v(form, "note"),
                             next_contact=dt.date.fromisoformat(nxt) if nxt else None)
        out = await api.dispose(actor_of(request), call_id, data)
    except (DialerInputError, ValueError) as exc:
        return _flash(getattr(exc, "message", str(exc)), error=True)
    return _flash(f"已保存：{out.disposition} / saved")


@get("/dialer/calls", opt=READ, include_in_schema=False)
async def calls_page(request: Request, campaign_id: FromQuery[int | None] = None,
                     number: FromQuery[str] = "") -> Template:
    actor = actor_of(request)
    rows = await calls.list_calls(actor, campaign_id=campaign_id, number=number, limit=200)
    return page("dialer/calls.html", request, calls=rows, can_listen=actor.can("dialer:listen"),
                dispositions=calls.DISPOSITIONS, causes=calls.CAUSES, number=number)


@get("/dialer/customer/{customer_id:int}/calls", opt=READ, include_in_schema=False)
async def customer_calls_tab(request: Request, customer_id: FromPath[int]) -> Template:
    from core.customers.access import readable

    actor = actor_of(request)
    await readable(actor, customer_id)
    rows = await calls.list_calls(actor, customer_id=customer_id, limit=100)
    return Template(template_name="dialer/_calls_table.html",
                    context={"calls": rows, "can_listen": actor.can("dialer:listen"), "customer_id": customer_id,
                             "causes": calls.CAUSES})


@get("/dialer/dial", opt=RUN, include_in_schema=False)
async def dial_page(request: Request, number: FromQuery[str] = "", customer_id: FromQuery[int | None] = None
                    ) -> Template:
    actor = actor_of(request)
    recs = await recordings.list_recordings(actor) if actor.can("dialer:recordings") else []
    return page("dialer/dial.html", request, devices=await api.devices_out(), recordings=recs, number=number,
                customer_id=customer_id, call_types=CALL_TYPES, dial_text=_dial_text())


CALL_TYPES = ["业务联系", "回访", "售后", "其他"]  # stored in Chinese (拨打记录's 类型), shown in the page's language


def _dial_text() -> dict[str, Any]:
    """The dial pad script's words, in the page's language: the call's progress, not driver event names."""
    return {"dialing": _("拨号中… #{id}"), "hungup": _("已挂断"),
            "events": {"CallDialing": _("拨号中…"), "CallAlerting": _("振铃中…"), "CallAnswered": _("已接通，通话中"),
                       "CallEnded": _("通话结束"), "PromptFinished": _("去电放音结束")}}


DIMS = {"user": "按人员", "department": "按部门", "campaign": "按任务", "sim": "按 SIM", "day": "按日", "week": "按周",
        "month": "按月"}


@get("/dialer/stats", opt={"permission": "dialer:stats"}, include_in_schema=False)
async def stats_page(request: Request, by: FromQuery[str] = "user", start: FromQuery[str] = "",
                     end: FromQuery[str] = "") -> Template:
    """外呼统计: a GET form (dimension, date range; the last 30 days by default), a chart, the table, exports."""
    import datetime as dt

    from core.web.i18n import gettext as _
    from plugins.dialer import charts
    from plugins.dialer.engine.calendar import zone

    by = by if by in stats.BY else "user"
    today = dt.datetime.now(zone(stats.TZ)).date()
    error = ""
    rows: list = []
    try:
        first = dt.date.fromisoformat(start) if start.strip() else today - dt.timedelta(days=29)
        last = dt.date.fromisoformat(end) if end.strip() else today
    except ValueError:
        first, last = today - dt.timedelta(days=29), today
        error = "日期格式应为 YYYY-MM-DD / dates must be YYYY-MM-DD"
    if not error:
        try:
            rows = await stats.stats(actor_of(request), by, first, last)
        except DialerInputError as exc:
            error = exc.message
    title = _("外呼统计") + " · " + _(DIMS[by])
    if by in stats.TIME_BY:
        x_label = {"day": _("日期"), "week": _("周"), "month": _("月份")}[by]
        chart = charts.time_chart(rows, title, x_label, ident="stats-chart")
    else:
        chart = charts.bar_chart(rows, title, ident="stats-chart")
    params = {"by": by, "start": first.isoformat(), "end": last.isoformat()}
    totals = stats.total_of(rows, by)
    return page("dialer/stats.html", request, rows=rows, by=by, dims=DIMS, start=first, end=last, chart=chart,
                params=params, error=error, totals=totals)


@get("/dialer/recordings", opt={"permission": "dialer:recordings"}, include_in_schema=False)
async def recordings_page(request: Request) -> Template:
    return page("dialer/recordings.html", request, recordings=await recordings.list_recordings(actor_of(request)),
                note=converter_note(), accept=ACCEPT, max_seconds=MAX_SECONDS)


@post("/dialer/recordings", opt={"permission": "dialer:recordings"}, include_in_schema=False, status_code=200)
async def recording_upload_page(request: Request) -> Template | ClientRedirect:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return _flash("请选择音频文件 / choose an audio file", error=True)
    try:
        await recordings.create(actor_of(request), _v(form, "name"), await upload.read(), upload.filename or "",
                                float(_v(form, "handover_s") or 0), _v(form, "shared") == "1")
    except (DialerInputError, ValueError) as exc:
        return _flash(getattr(exc, "message", str(exc)), error=True)
    return ClientRedirect(redirect_to="/dialer/recordings")


STATIC = Path(__file__).parent / "static"
SCRIPTS = {"console.js", "dial.js", "recordings.js"}


@get("/dialer/static/{name:str}", opt={"public": True}, include_in_schema=False, cache_control=None)
async def static_js(name: FromPath[str]) -> Response[bytes]:
    """The pages' scripts (the CSP allows same-origin scripts only, no inline ones)."""
    if name not in SCRIPTS:
        raise NotFoundException("not found")
    return Response(await anyio.Path(STATIC / name).read_bytes(), media_type="application/javascript")


@get("/dialer/devices", opt={"permission": "dialer:devices"}, include_in_schema=False)
async def devices_page(request: Request) -> Template:
    """外呼设备: boxes, SIMs, today's use against the limits; edit forms for dialer:settings, read-only otherwise."""
    from plugins.dialer import devices

    boxes = await devices.devices_out()
    return page("dialer/devices.html", request, devices=boxes, can_edit=actor_of(request).can("dialer:settings"),
                carriers=devices.CARRIERS, fields={(d.id, s.slot): devices.form_fields(s) for d in boxes
                                                   for s in d.slots}, limits=devices.LIMITS)


SETTINGS = {"permission": "dialer:settings"}


@post("/dialer/devices/{device_id:int}", opt=SETTINGS, include_in_schema=False, status_code=200)
async def device_save_page(request: Request, device_id: FromPath[int]) -> Template:
    from plugins.dialer import devices
    from plugins.dialer.schemas import DevicePatch

    form = await request.form()
    try:
        data = msgspec.convert({"name": _v(form, "name") or None, "url": _v(form, "url") or None,
                                "dialect": _v(form, "dialect") or None,
                                "enabled": _v(form, "enabled") == "1" if _v(form, "enabled") else None}, DevicePatch)
        out = await devices.patch_device(actor_of(request), device_id, data)
    except DialerInputError as exc:
        return _flash(exc.message, error=True)
    except msgspec.ValidationError as exc:
        return _flash(f"输入无效 / invalid input: {exc}", error=True)
    return _flash(f"已保存设备 {out.name} / saved")


@post("/dialer/devices/{device_id:int}/slots/{slot:int}", opt=SETTINGS, include_in_schema=False, status_code=200)
async def slot_save_page(request: Request, device_id: FromPath[int], slot: FromPath[int]) -> Template:
    from plugins.dialer import devices
    from plugins.dialer.schemas import SlotPatch

    form = await request.form()
    try:
        data = SlotPatch(enabled=_v(form, "enabled") == "1", carrier=_v(form, "carrier"),
                         caller_number=_v(form, "caller_number"), limits=devices.limits_from_form(form.get))
        out = await devices.patch_slot(actor_of(request), device_id, slot, data)
    except DialerInputError as exc:
        return _flash(exc.message, error=True)
    except msgspec.ValidationError as exc:
        return _flash(f"输入无效 / invalid input: {exc}", error=True)
    eff = out.effective
    return _flash(f"已保存卡槽 {out.slot}：每小时 {eff.get('max_calls_per_hour') or '不限'}、每天 "
                  f"{eff.get('max_calls_per_day') or '不限'}。运行中的任务在下一次拨号决策时生效 / saved; running "
                  "campaigns apply it at their next decision")


@post("/dialer/devices/{device_id:int}/slots/{slot:int}/unlock", opt=SETTINGS, include_in_schema=False,
      status_code=200)
async def slot_unlock_page(request: Request, device_id: FromPath[int], slot: FromPath[int]
                           ) -> Template | ClientRedirect:
    from plugins.dialer import devices
    from plugins.dialer.schemas import UnlockIn

    form = await request.form()
    try:
        data = msgspec.convert({"reason": _v(form, "reason")}, UnlockIn)
    except msgspec.ValidationError:
        return _flash("请填写解锁原因（最多 200 字） / a reason (up to 200 characters) is required", error=True)
    try:
        await devices.unlock_slot(actor_of(request), device_id, slot, data)
    except DialerInputError as exc:
        return _flash(exc.message, error=True)
    return ClientRedirect(redirect_to="/dialer/devices")


@post("/dialer/settings/store-check", opt=SETTINGS, include_in_schema=False, status_code=200)
async def store_check_page() -> Template:
    """测试连接 under 外呼设置 (the settings page's action): the same check as
    `POST /api/v1/dialer/recordings/store/check`, answered as a line of HTML next to the button."""
    from plugins.dialer import recording_store

    out = await recording_store.check_s3()
    timings = f" ({out.put_ms:g} / {out.get_ms:g} / {out.delete_ms:g} ms)" if out.ok else ""
    return Template(template_str='<span class="{{ "ok" if ok else "error" }}" role="status">'
                                 '{{ "✓" if ok else "✗" }} {{ message }}{{ timings }}</span>',
                    context={"ok": out.ok, "message": out.message, "timings": timings})


PAGE_ROUTES = [static_js, campaigns_page, campaigns_list_alias, create_campaign_page, console_page, campaign_op_page,
               disposition_page, calls_page, customer_calls_tab, dial_page, stats_page, recordings_page,
               recording_upload_page, devices_page, device_save_page, slot_save_page, slot_unlock_page,
               store_check_page]
