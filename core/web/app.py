"""The Litestar app factory: core's and plugins' routes, templates, the guard, errors, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import structlog
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.logging.config import StructLoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from core import host
from core.db.engine import close_engine, open_engine
from core.db.migrations import ensure_migrated
from core.jobs import scheduler_loop
from core.perms.builtin_roles import sync_builtin_roles
from core.plugins import collect_sync
from core.web import i18n
from core.web.errors import handle_exception
from core.web.guards import access_guard
from core.web.middleware import RequestContextMiddleware, add_response_headers
from core.web.templating import configure_jinja

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATE_DIR = Path(__file__).parent / "templates"
log = structlog.get_logger(__name__)
SHUTDOWN_GRACE = 10.0  # seconds a running round of jobs gets to finish at shutdown


def create_app(*, run_jobs: bool = True, check_migrations: bool = True, manage_engine: bool = True) -> Litestar:
    """`manage_engine=False` leaves opening and closing the database to the caller (tests)."""
    h = host.current()
    pm = h.pm
    template_dirs = [TEMPLATE_DIR, *collect_sync(pm.hook.template_dirs)]
    for directory in template_dirs:
        locale_dir = Path(directory).parent / "locale"
        if locale_dir.is_dir():
            i18n.add_locale_dir(locale_dir)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if manage_engine:
            await open_engine()
        try:
            if check_migrations:
                await ensure_migrated()
                await sync_builtin_roles(pm)
            stop, scheduler_done = anyio.Event(), anyio.Event()

            async def scheduler() -> None:
                try:
                    await scheduler_loop(collect_sync(pm.hook.jobs), stop)
                finally:
                    scheduler_done.set()

            async with anyio.create_task_group() as tg:
                if run_jobs:
                    tg.start_soon(scheduler)
                    for task in collect_sync(pm.hook.background_tasks):
                        tg.start_soon(task)
                else:
                    scheduler_done.set()
                yield
                stop.set()
                with anyio.move_on_after(SHUTDOWN_GRACE):
                    await scheduler_done.wait()  # let a running round of jobs finish its writes
                tg.cancel_scope.cancel()
        finally:
            if manage_engine:
                await close_engine()

    return Litestar(
        route_handlers=[
            *collect_sync(pm.hook.route_handlers),
            create_static_files_router(path="/static", directories=[STATIC_DIR], opt={"public": True},
                                       include_in_schema=False, cache_control=None),
        ],
        guards=[access_guard],
        middleware=[RequestContextMiddleware()],
        before_send=[add_response_headers],
        exception_handlers={Exception: handle_exception},
        lifespan=[lifespan],
        plugins=[HTMXPlugin()],
        template_config=TemplateConfig(directory=template_dirs, engine=JinjaTemplateEngine,
                                       engine_callback=configure_jinja),
        openapi_config=OpenAPIConfig(title="外呼宝 Waihubao API", version="1", path="/schema",
                                     render_plugins=[ScalarRenderPlugin()]),
        # Loggers are not cached on first use, so a later `structlog.configure` (or
        # `structlog.testing.capture_logs`) takes effect for every module-level logger.
        logging_config=StructLoggingConfig(log_exceptions="never", cache_logger_on_first_use=False),
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024),
        request_max_body_size=50 * 1024 * 1024,
        debug=False,
    )
