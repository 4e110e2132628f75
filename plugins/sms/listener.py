"""In the server: keep the configured box open, take in received texts, and lend the box to the worker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import structlog

from drivers.ev_fwt785 import Box
from drivers.ev_fwt785.errors import BoxError
from drivers.ev_fwt785.events import SmsReceived
from plugins.sms import config, inbox
from plugins.sms.channels import boxlink
from plugins.sms.schemas import InboxOut

log = structlog.get_logger(__name__)
RECHECK_S = 30.0


async def listen(url: str, dialect: str = "auto", *, until_changed: bool = True,
                 on_ingested: Callable[[InboxOut], Awaitable[None] | None] | None = None,
                 task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    """Hold `url` open and store every `SmsReceived`; returns when the configured URL changes."""
    async with Box(url, name=url, dialect=dialect) as box:
        boxlink.register(url, box)
        events = box.subscribe()
        task_status.started()
        try:
            while True:
                with anyio.move_on_after(RECHECK_S):
                    async for event in events:
                        if isinstance(event, SmsReceived):
                            stored = await inbox.ingest(event.sender, event.text, source=url)
                            if on_ingested is not None:
                                result = on_ingested(stored)
                                if result is not None:
                                    await result
                if until_changed and config.box_url(await config.current()) != url:
                    return
        finally:
            boxlink.unregister(url, box)
            events.close()


async def run_listener() -> None:
    """Background task: (re)open the configured box; back off while it cannot be opened."""
    delay = 1.0
    while True:
        settings = await config.current()
        url = config.box_url(settings)
        if not url:
            await anyio.sleep(RECHECK_S)
            continue
        try:
            await listen(url, settings.box_dialect)
            delay = 1.0
        except (BoxError, OSError) as exc:
            log.warning("sms box listener cannot open the box", url=url, error=str(exc))
            await anyio.sleep(delay)
            delay = min(delay * 2, 60.0)
