"""Core pages and endpoints: home, health, modules, licence, reminders hub, backup download."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import anyio
import msgspec
from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import Body
from litestar.response import File, Template

from core import host
from core.audit.log import record
from core.backup import backup_to
from core.licence import LicenceError, install
from core.plugins import PluginInfo, collect, infos
from core.web.responses import actor_of, page

MAX_LICENCE_BYTES = 64 * 1024


class Health(msgspec.Struct):
    status: str
    database: str


class LicenceOut(msgspec.Struct):
    edition: str
    seats: int
    modules: list[str]
    phase: str
    days_left: int | None
    message: str
    licensee: str
    expires_at: str | None
    error: str | None
    restart_required: bool = False


class ReminderOut(msgspec.Struct):
    key: str
    label: str
    count: int
    href: str
    severity: str


@get("/healthz", opt={"public": True}, tags=["system"])
async def healthz() -> Health:
    from core.db import engine

    await engine().run_ddl("SELECT 1")
    return Health(status="ok", database=engine().engine_type)


@get("/", include_in_schema=False)
async def home(request: Request) -> Template:
    return page("home.html", request)


@get("/admin", include_in_schema=False)
async def admin_index(request: Request) -> Template:
    return page("admin/index.html", request)


@get("/api/v1/plugins", tags=["system"], opt={"permission": "plugins:read"})
async def list_plugins() -> list[PluginInfo]:
    """Every installed plugin, its version and whether the licence enables it."""
    return infos(host.current().pm)


@get("/admin/plugins", include_in_schema=False, opt={"permission": "plugins:read"})
async def plugins_page(request: Request) -> Template:
    return page("admin/plugins.html", request, plugins=infos(host.current().pm))


def _licence_out(restart: bool = False) -> LicenceOut:
    status = host.current().refresh_licence()
    p = status.payload
    return LicenceOut(
        edition=str(status.edition), seats=status.seats, modules=sorted(status.modules), phase=str(status.phase),
        days_left=status.days_left, message=status.message,
        licensee=(p.licensee.company or p.licensee.name) if p else "",
        expires_at=p.expires_at.isoformat() if p and p.expires_at else None, error=status.error,
        restart_required=restart,
    )


@get("/api/v1/licence", tags=["system"])
async def licence_api() -> LicenceOut:
    return _licence_out()


@get("/admin/licence", include_in_schema=False, opt={"permission": "licence:manage"})
async def licence_page(request: Request) -> Template:
    return page("admin/licence.html", request, info=_licence_out(), error=None, installed=False)


class LicenceUpload(msgspec.Struct):
    file: UploadFile


@post("/admin/licence", include_in_schema=False, opt={"permission": "licence:manage", "allow_read_only": True},
      status_code=200)
async def licence_install(
    request: Request, data: Annotated[LicenceUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
) -> Template:
    text = (await data.file.read(MAX_LICENCE_BYTES)).decode("utf-8", errors="replace")
    try:
        payload = install(text, host.today())
    except LicenceError as exc:
        return page("admin/licence.html", request, info=_licence_out(), error=str(exc), installed=False)
    await record(actor_of(request), "licence", "licence", payload.lid,
                 meta={"edition": str(payload.edition), "seats": payload.seats, "modules": payload.modules})
    return page("admin/licence.html", request, info=_licence_out(restart=True), error=None, installed=True)


@post("/api/v1/licence", tags=["system"], opt={"permission": "licence:manage", "allow_read_only": True},
      status_code=200)
async def licence_install_api(request: Request) -> LicenceOut:
    """Install a licence: the armoured text as a `text/plain` body (or a JSON string). Modules change at
    the next start."""
    raw = await request.body()
    if len(raw) > MAX_LICENCE_BYTES:
        raise ValidationException("许可证文件过大 / the licence file is too large")
    text = raw.decode("utf-8", errors="replace")
    if request.content_type[0] == "application/json":
        try:
            text = msgspec.json.decode(raw, type=str)
        except msgspec.DecodeError as exc:
            raise ValidationException("请求体应为许可证文本 / send the licence text as the body") from exc
    try:
        payload = install(text, host.today())
    except LicenceError as exc:
        raise ValidationException(str(exc)) from exc
    await record(actor_of(request), "licence", "licence", payload.lid,
                 meta={"edition": str(payload.edition), "seats": payload.seats, "modules": payload.modules})
    return _licence_out(restart=True)


async def _reminders(request: Request) -> list[ReminderOut]:
    found = await collect(host.current().pm.hook.reminders, actor=actor_of(request), today=host.today())
    return [ReminderOut(key=r.key, label=r.label, count=r.count, href=r.href, severity=r.severity) for r in found]


@get("/api/v1/reminders", tags=["system"])
async def reminders_api(request: Request) -> list[ReminderOut]:
    return await _reminders(request)


@get("/reminders", include_in_schema=False)
async def reminders_page(request: Request) -> Template:
    return page("reminders.html", request, reminders=await _reminders(request))


@get("/reminders/badge", include_in_schema=False)
async def reminders_badge(request: Request) -> Response:
    total = sum(r.count for r in await _reminders(request))
    return Response(f'<span class="badge">{total}</span>' if total else "", media_type="text/html")


@get("/admin/backup", include_in_schema=False, opt={"permission": "backup:run"})
async def backup_page(request: Request) -> Template:
    return page("admin/backup.html", request)


@get("/admin/backup/download", include_in_schema=False, opt={"permission": "backup:run"})
async def backup_download(request: Request) -> File:
    """数据备份: an online backup of the database, streamed as a download."""
    stamp = dt.datetime.now(host.SHANGHAI).strftime("%Y%m%d-%H%M%S")
    directory = Path(tempfile.mkdtemp(prefix="waihubao-backup-"))
    target = await backup_to(directory / f"waihubao-{stamp}.backup")
    size = (await anyio.Path(target).stat()).st_size
    await record(actor_of(request), "export", "backup", target.name, meta={"bytes": size})
    # The copy lives only as long as the download: a whole database must not pile up in /tmp.
    return File(path=target, filename=target.name, content_disposition_type="attachment",
                background=BackgroundTask(shutil.rmtree, directory, ignore_errors=True))


ROUTES = [healthz, home, admin_index, list_plugins, plugins_page, licence_api, licence_page, licence_install,
          licence_install_api, reminders_api, reminders_page, reminders_badge, backup_page, backup_download]
