"""JSON API under /api/v1/dialer (msgspec Structs in and out; the same scope rules as the pages)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody
from litestar.response import File, ServerSentEvent, ServerSentEventMessage, Stream

from core import do_not_contact
from core.customers.phones import InvalidPhone, normalise
from core.perms.actor import Actor
from core.web.responses import actor_of
from plugins.dialer import agent_server, calls, campaigns, devices, files, recording_store, recordings, runtime, stats
from plugins.dialer.audio import ACCEPT, FORMATS, MAX_SECONDS, MIN_SECONDS, RATE, converter_note
from plugins.dialer.devices import devices_out
from plugins.dialer.engine import io as i
from plugins.dialer.errors import DialerInputError
from plugins.dialer.live import HUB
from plugins.dialer.schemas import (
    CallOut,
    CampaignIn,
    CampaignOut,
    DeviceIn,
    DeviceOut,
    DevicePatch,
    DirectDialIn,
    DispositionIn,
    DncIn,
    RecordingOut,
    RecordingPatch,
    SlotOut,
    SlotPatch,
    UnlockIn,
)
from plugins.dialer.tables import CampaignNumber, Device, DeviceSlot, Dnc

RUN = "dialer:run"
READ = "dialer:read"


@dataclass
class CampaignUpload:
    file: UploadFile
    name: str
    recording_id: int | None = None
    mode: str = "prompt"
    devices: str = "[]"  # JSON list of {"device": id, "slots": [..]}
    config: str = "{}"  # JSON object of engine settings
    start: bool = False


@dataclass
class RecordingUpload:
    file: UploadFile
    name: str
    handover_s: float = 0.0
    shared: bool = False


class TakeOverIn(msgspec.Struct, kw_only=True):
    line: str | None = None


class ActionOut(msgspec.Struct, kw_only=True):
    ok: bool
    message: str = ""


class DialOut(msgspec.Struct, kw_only=True):
    key: str
    call_id: int | None


class NumberOut(msgspec.Struct, kw_only=True):
    id: int
    e164: str
    customer_id: int | None
    state: str
    attempts: int
    result: str


async def after_start(actor: Actor, out: CampaignOut) -> CampaignOut:
    """Run it here (in-process runtime), or on a connected agent; else it waits with the reason."""
    from plugins.dialer import store

    rt = runtime.current()
    if rt is not None:
        rt.start(out.id)
    elif await agent_server.HUB.command(out.id, "start"):
        await store.set_campaign_status(out.id, "running", "由电话助手运行 / run by the agent")
    else:
        await store.set_campaign_status(out.id, "waiting", runtime.NO_BOX)
    return await campaigns.get(actor, out.id)


async def create_campaign(actor: Actor, data: CampaignIn) -> CampaignOut:
    out = await campaigns.create(actor, data)
    if data.start:
        warning = out.warning
        await campaigns.transition(actor, out.id, "start")
        out = await after_start(actor, out)
        out.warning = warning
    return out


async def campaign_op(actor: Actor, campaign_id: int, op: str) -> CampaignOut:
    """start / pause / resume / stop: the database status first, then the runner (if this process has it)."""
    out = await campaigns.transition(actor, campaign_id, op)
    rt = runtime.current()
    if op == "start":
        return await after_start(actor, out)
    if rt is None or campaign_id not in rt.runners:
        if not await agent_server.HUB.command(campaign_id, op) and op == "resume":
            return await after_start(actor, out)
        return out
    inp = {"pause": i.Pause, "resume": i.Resume, "stop": i.Stop}[op](at=rt.clock())
    if not rt.command(campaign_id, inp) and op == "resume":
        return await after_start(actor, out)
    return out


async def dispose(actor: Actor, call_id: int, data: DispositionIn) -> CallOut:
    out = await calls.dispose(actor, call_id, data)  # "不要再打" reaches running engines through the DNC event
    if out.campaign_id is not None:
        await agent_server.HUB.command(out.campaign_id, "ready")
        rt = runtime.current()
        if rt is not None:
            rt.command(out.campaign_id, i.AgentReady(at=rt.clock()))
    return out


def _json_field(text: str, what: str) -> Any:
    try:
        return msgspec.json.decode(text or "null")
    except msgspec.DecodeError as exc:
        raise DialerInputError(f"{what} 不是有效的 JSON", f"{what} is not valid JSON") from exc


class CampaignApi(Controller):
    path = "/api/v1/dialer/campaigns"
    tags = ("dialer",)

    @get("/", opt={"permission": READ})
    async def list(self, request: Request) -> list[CampaignOut]:
        return await campaigns.list_campaigns(actor_of(request))

    @post("/", opt={"permission": RUN}, status_code=201)
    async def create(self, request: Request, data: JSONBody[CampaignIn]) -> CampaignOut:
        return await create_campaign(actor_of(request), data)

    @post("/upload", opt={"permission": RUN}, status_code=201)
    async def upload(self, request: Request, data: MultipartBody[CampaignUpload]) -> CampaignOut:
        """A campaign from an .xlsx/.csv of numbers (the 电话/手机/phone column, else the first)."""
        content = await data.file.read()
        numbers = campaigns.numbers_from_file(content, data.file.filename or "numbers.csv")
        body = msgspec.convert({"name": data.name, "numbers": numbers, "recording_id": data.recording_id,
                                "mode": data.mode, "devices": _json_field(data.devices, "devices") or [],
                                "config": _json_field(data.config, "config") or {}, "start": data.start}, CampaignIn)
        return await create_campaign(actor_of(request), body)

    @get("/{campaign_id:int}", opt={"permission": READ})
    async def detail(self, request: Request, campaign_id: FromPath[int]) -> CampaignOut:
        return await campaigns.get(actor_of(request), campaign_id)

    @get("/{campaign_id:int}/numbers", opt={"permission": READ})
    async def numbers(self, request: Request, campaign_id: FromPath[int]) -> list[NumberOut]:
        await campaigns.get_row(actor_of(request), campaign_id)
        rows = await CampaignNumber.select().where(CampaignNumber.campaign == campaign_id).order_by(
            CampaignNumber.position)
        return [NumberOut(id=r["id"], e164=r["e164"], customer_id=r["customer"], state=r["state"],
                          attempts=r["attempts"], result=r["result"]) for r in rows]

    @post("/{campaign_id:int}/start", opt={"permission": RUN}, status_code=200)
    async def start(self, request: Request, campaign_id: FromPath[int]) -> CampaignOut:
        return await campaign_op(actor_of(request), campaign_id, "start")

    @post("/{campaign_id:int}/pause", opt={"permission": RUN}, status_code=200)
    async def pause(self, request: Request, campaign_id: FromPath[int]) -> CampaignOut:
        return await campaign_op(actor_of(request), campaign_id, "pause")

    @post("/{campaign_id:int}/resume", opt={"permission": RUN}, status_code=200)
    async def resume(self, request: Request, campaign_id: FromPath[int]) -> CampaignOut:
        return await campaign_op(actor_of(request), campaign_id, "resume")

    @post("/{campaign_id:int}/stop", opt={"permission": RUN}, status_code=200)
    async def stop(self, request: Request, campaign_id: FromPath[int]) -> CampaignOut:
        return await campaign_op(actor_of(request), campaign_id, "stop")

    @post("/{campaign_id:int}/takeover", opt={"permission": RUN}, status_code=200)
    async def takeover(self, request: Request, campaign_id: FromPath[int],
                       data: JSONBody[TakeOverIn | None] = None) -> ActionOut:
        """Stop the prompt and put the salesperson on the call (the answered line, or `line`)."""
        await campaigns.get_row(actor_of(request), campaign_id)
        rt = runtime.current()
        runner = rt.runners.get(campaign_id) if rt else None
        if rt is None or runner is None or runner.state is None:
            if await agent_server.HUB.command(campaign_id, "takeover", (data.line or "") if data else ""):
                return ActionOut(ok=True, message="agent")
            return ActionOut(ok=False, message="外呼任务未在运行 / the campaign is not running")
        line = data.line if data and data.line else next(
            (ln.box for ln in runner.state.lines.values() if ln.status in ("answered", "prompt")), None)
        if line is None:
            return ActionOut(ok=False, message="没有可接听的通话 / no answered call to take over")
        runner.send(i.TakeOver(at=rt.clock(), line=line))
        return ActionOut(ok=True, message=line)

    @post("/{campaign_id:int}/ready", opt={"permission": RUN}, status_code=200)
    async def ready(self, request: Request, campaign_id: FromPath[int]) -> ActionOut:
        """Wrap-up done: the salesperson is free for the next call."""
        await campaigns.get_row(actor_of(request), campaign_id)
        rt = runtime.current()
        ok = rt is not None and rt.command(campaign_id, i.AgentReady(at=rt.clock()))
        return ActionOut(ok=ok)


class CallApi(Controller):
    path = "/api/v1/dialer/calls"
    tags = ("dialer",)

    @get("/", opt={"permission": READ})
    async def list(self, request: Request, campaign_id: FromQuery[int | None] = None,
                   customer_id: FromQuery[int | None] = None, number: FromQuery[str] = "",
                   answered: FromQuery[bool | None] = None, limit: FromQuery[int] = 100,
                   before_id: FromQuery[int | None] = None) -> list[CallOut]:
        return await calls.list_calls(actor_of(request), campaign_id=campaign_id, customer_id=customer_id,
                                      number=number, answered=answered, limit=limit, before_id=before_id)

    @get("/{call_id:int}", opt={"permission": READ})
    async def detail(self, request: Request, call_id: FromPath[int]) -> CallOut:
        return calls.out_of(await calls.get_row(actor_of(request), call_id))

    @post("/{call_id:int}/disposition", opt={"permission": READ}, status_code=200)
    async def disposition(self, request: Request, call_id: FromPath[int], data: JSONBody[DispositionIn]) -> CallOut:
        return await dispose(actor_of(request), call_id, data)

    @get("/{call_id:int}/recording", opt={"permission": "dialer:listen"})
    async def recording(self, request: Request, call_id: FromPath[int], download: FromQuery[bool] = False
                        ) -> Response[Any]:
        """The call's recording, streamed from the store that holds it (local disk or S3, never a bucket URL).

        Answers `Range: bytes=…` with 206 so the player can seek; 404 outside scope or when the file is
        missing, 410 once the retention setting deleted it, 503 when the store cannot be reached."""
        try:
            rec = await calls.open_recording(actor_of(request), call_id, download=download,
                                             range_header=request.headers.get("range"))
        except recording_store.RangeNotSatisfiable as exc:
            raise HTTPException(status_code=416, detail="请求的范围无效 / range not satisfiable",
                                headers={"content-range": f"bytes */{exc.size}"}) from exc
        except recording_store.StoreUnavailable:  # expected when S3 is down: say so (core hides 5xx messages)
            return Response({"error": calls.STORE_DOWN, "status": 503}, status_code=503)
        stamp = rec.row["dial_at"].strftime("%Y%m%d-%H%M%S")
        disposition = "attachment" if download else "inline"
        headers = {"accept-ranges": "bytes", "content-length": str(rec.length if rec.size else 0),
                   "content-disposition": f'{disposition}; filename="call-{call_id}-{stamp}.wav"',
                   "cache-control": "private, no-store"}
        if rec.partial:
            headers["content-range"] = f"bytes {rec.first}-{rec.last}/{rec.size}"
        return Stream(rec.chunks() if rec.size else iter([b""]), media_type="audio/wav", headers=headers,
                      status_code=206 if rec.partial else 200)


class RecordingApi(Controller):
    path = "/api/v1/dialer/recordings"
    tags = ("dialer",)

    @get("/", opt={"permission": "dialer:recordings"})
    async def list(self, request: Request) -> list[RecordingOut]:
        return await recordings.list_recordings(actor_of(request))

    @get("/formats", opt={"permission": "dialer:recordings"})
    async def formats(self) -> dict[str, Any]:
        """What an upload may be (decoded with PyAV's bundled FFmpeg) and what it is converted to."""
        return {"accepted": converter_note(), "formats": list(FORMATS), "accept": ACCEPT,
                "output": f"WAV PCM 16-bit mono {RATE} Hz", "min_seconds": MIN_SECONDS, "max_seconds": MAX_SECONDS}

    @post("/", opt={"permission": "dialer:recordings"}, status_code=201)
    async def upload(self, request: Request, data: MultipartBody[RecordingUpload]) -> RecordingOut:
        content = await data.file.read()
        return await recordings.create(actor_of(request), data.name, content, data.file.filename or "",
                                       data.handover_s, data.shared)

    @patch("/{rec_id:int}", opt={"permission": "dialer:recordings"})
    async def update(self, request: Request, rec_id: FromPath[int], data: JSONBody[RecordingPatch]) -> RecordingOut:
        return await recordings.update(actor_of(request), rec_id, data)

    @delete("/{rec_id:int}", opt={"permission": "dialer:recordings"}, status_code=204)
    async def remove(self, request: Request, rec_id: FromPath[int]) -> None:
        await recordings.delete(actor_of(request), rec_id)

    @post("/store/check", opt={"permission": "dialer:settings"}, status_code=200)
    async def store_check(self) -> recording_store.CheckOut:
        """测试连接: write, read back and delete a small object with the saved S3 settings."""
        return await recording_store.check_s3()

    @get("/{rec_id:int}/audio", opt={"permission": "dialer:recordings"})
    async def audio(self, request: Request, rec_id: FromPath[int]) -> File:
        path = await recordings.audio_path(actor_of(request), rec_id)
        return File(path=str(path), filename=f"prompt-{rec_id}.wav", media_type="audio/wav",
                    content_disposition_type="inline")


class DeviceApi(Controller):
    """外呼设备: boxes and SIM slots. Reading needs dialer:devices; every change dialer:settings (audited)."""

    path = "/api/v1/dialer/devices"
    tags = ("dialer",)

    @get("/", opt={"permission": "dialer:devices"})
    async def list(self) -> list[DeviceOut]:
        return await devices_out()

    @post("/", opt={"permission": "dialer:settings"}, status_code=201)
    async def create(self, request: Request, data: JSONBody[DeviceIn]) -> DeviceOut:
        from core.audit.log import record
        from core.db import write_tx

        if await Device.exists().where(Device.name == data.name):
            raise DialerInputError(f"设备名称“{data.name}”已存在", f"a box named {data.name!r} exists")
        if not 1 <= data.slots <= 5:
            raise DialerInputError("卡槽数须在 1 到 5 之间", "slots must be between 1 and 5")
        async with write_tx():
            dev = (await Device.insert(Device(name=data.name, url=data.url, dialect=data.dialect,
                                              owner=actor_of(request).user_id,
                                              created_at=dt.datetime.now(dt.UTC))).returning(Device.id))[0]["id"]
            for k in range(1, data.slots + 1):
                await DeviceSlot.insert(DeviceSlot(device=dev, slot=k, limits={}))
            await record(actor_of(request), "create", "dialer_device", dev, meta={"name": data.name})
        return next(d for d in await devices_out() if d.id == dev)

    @patch("/{device_id:int}", opt={"permission": "dialer:settings"})
    async def update(self, request: Request, device_id: FromPath[int], data: JSONBody[DevicePatch]) -> DeviceOut:
        """Rename (not while online or a campaign is unfinished), change the URL/dialect, enable or disable."""
        return await devices.patch_device(actor_of(request), device_id, data)

    @patch("/{device_id:int}/slots/{slot:int}", opt={"permission": "dialer:settings"})
    async def update_slot(self, request: Request, device_id: FromPath[int], slot: FromPath[int],
                          data: JSONBody[SlotPatch]) -> SlotOut:
        """Enable/disable a SIM, its carrier preset, caller number (主叫号码) and limits.

        `limits` replaces the slot's overrides: a null or missing field uses the carrier preset, "off" removes
        that limit. Campaigns running in this process apply the change at their next decision.
        """
        return await devices.patch_slot(actor_of(request), device_id, slot, data)

    @post("/{device_id:int}/slots/{slot:int}/unlock", opt={"permission": "dialer:settings"}, status_code=200)
    async def unlock_slot(self, request: Request, device_id: FromPath[int], slot: FromPath[int],
                          data: JSONBody[UnlockIn]) -> SlotOut:
        """Put a blocked or locked SIM back into rotation, with the reason (audited)."""
        return await devices.unlock_slot(actor_of(request), device_id, slot, data)


class DialApi(Controller):
    path = "/api/v1/dialer/dial"
    tags = ("dialer",)

    @post("/", opt={"permission": RUN}, status_code=201)
    async def dial(self, request: Request, data: JSONBody[DirectDialIn]) -> DialOut:
        """号码直拨 on a box and slot, with an optional outgoing prompt (去电放音)."""
        from core.customers import access
        from plugins.dialer.tables import Call, Recording

        actor = actor_of(request)
        try:
            e164 = normalise(data.number)
        except InvalidPhone as exc:
            raise DialerInputError("号码无效", str(exc)) from exc
        if await do_not_contact.blocked([e164]):
            raise DialerInputError("该号码在谢绝来电名单中", "this number is on the do-not-call list")
        rt = runtime.current()
        if rt is None or not rt.boxes:
            raise DialerInputError("没有连接的外呼设备", "no box attached")
        dev = await Device.select().where(Device.id == data.device_id).first() if data.device_id else None
        name = dev["name"] if dev else next(iter(rt.boxes))
        prompt = None
        if data.recording_id is not None:
            await recordings.get_row(actor, data.recording_id)
            rec = await Recording.select().where(Recording.id == data.recording_id).first()
            prompt = files.prompts_dir() / f"{rec['stored_name']}.wav" if rec else None
        if data.customer_id is not None:
            await access.readable(actor, data.customer_id)
        key = await rt.direct.dial(user_id=actor.user_id, department_id=actor.department_id, e164=e164,
                                   box_name=name, device_id=dev["id"] if dev else None, slot=data.slot,
                                   prompt=prompt, call_type=data.call_type, customer_id=data.customer_id,
                                   contact_id=None)
        row = await Call.select(Call.id).where(Call.attempt_key == key).first()
        return DialOut(key=key, call_id=row["id"] if row else None)

    @post("/hangup", opt={"permission": RUN}, status_code=200)
    async def hangup(self, device: FromQuery[str] = "") -> ActionOut:
        rt = runtime.current()
        if rt is None:
            return ActionOut(ok=False, message="没有连接的外呼设备 / no box attached")
        names = [device] if device else list(rt.direct.busy)
        ok = False
        for n in names:
            ok = await rt.direct.hangup(n) or ok
        return ActionOut(ok=ok)


class DncApi(Controller):
    path = "/api/v1/dialer/dnc"
    tags = ("dialer",)

    @get("/", opt={"permission": "dialer:dnc"})
    async def list(self, limit: FromQuery[int] = 500) -> list[dict[str, Any]]:
        rows = await Dnc.select(Dnc.e164, Dnc.source, Dnc.reason, Dnc.created_at).order_by(
            Dnc.id, ascending=False).limit(min(limit, 5000))
        return [dict(r) for r in rows]

    @post("/", opt={"permission": "dialer:dnc"}, status_code=200)
    async def add(self, request: Request, data: JSONBody[DncIn]) -> dict[str, int]:
        e164s = calls.normalise_all(data.numbers)
        added = await calls.add_dnc(actor_of(request), e164s, data.source, data.reason)
        return {"added": added, "already": len(set(e164s)) - added}


@get("/api/v1/dialer/stats", opt={"permission": "dialer:stats"}, tags=["dialer"])
async def stats_api(request: Request, by: FromQuery[str] = "user", start: FromQuery[dt.date | None] = None,
                    end: FromQuery[dt.date | None] = None, format: FromQuery[str] = "json") -> Any:
    """外呼统计 within the caller's scope: JSON rows, or `format=csv` / `format=xlsx` (Chinese header row).

    `calls_per_hour` = dials ÷ distinct Asia/Shanghai clock hours with at least one dial (`active_hours`).
    Exports are written to the audit log like every other export.
    """
    from core.audit.log import record

    if format not in ("json", "csv", "xlsx"):
        raise DialerInputError("格式须为 json、csv 或 xlsx", "format must be json, csv or xlsx")
    actor = actor_of(request)
    rows = await stats.stats(actor, by, start, end)
    if format == "json":
        return rows
    await record(actor, "export", "dialer_stats", meta=stats.export_meta(by, start, end, format, len(rows)))
    name = "-".join(["dialer-stats", by, *(d.isoformat() for d in (start, end) if d is not None)])
    if format == "csv":
        return Response(stats.csv_of(rows).encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{name}.csv"'})
    data = await anyio.to_thread.run_sync(stats.xlsx_of, rows, by)
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"content-disposition": f'attachment; filename="{name}.xlsx"'})


@get("/api/v1/dialer/live", opt={"permission": READ}, tags=["dialer"])
async def live(request: Request, campaign_id: FromQuery[int | None] = None) -> ServerSentEvent:
    """The live console: campaign frames and alerts pushed as server-sent events."""
    actor = actor_of(request)
    if campaign_id is not None:
        await campaigns.get_row(actor, campaign_id)
    stream = HUB.subscribe(None if actor.is_admin else actor.user_id)

    async def frames() -> AsyncIterator[ServerSentEventMessage]:
        yield ServerSentEventMessage(data=None, comment="connected")  # headers go out now, not with the first frame
        if campaign_id is not None and campaign_id in HUB.last:
            yield ServerSentEventMessage(data=msgspec.json.encode(HUB.last[campaign_id]).decode(), event="frame")
        with stream:
            while True:
                with anyio.move_on_after(15) as scope:
                    frame = await stream.receive()
                if scope.cancelled_caught:
                    yield ServerSentEventMessage(data=None, comment="keep-alive")
                    continue
                if campaign_id is not None and frame.get("campaign") != campaign_id:
                    continue
                yield ServerSentEventMessage(data=msgspec.json.encode(frame).decode(),
                                             event="alert" if frame.get("kind") == "alert" else "frame")

    return ServerSentEvent(frames())


API_ROUTES = [CampaignApi, CallApi, RecordingApi, DeviceApi, DialApi, DncApi, stats_api, live]
