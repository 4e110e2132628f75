"""Received texts into 收信记录. With the box source "url": keep the configured box open in the server,
take in what it receives and lend it to the worker. With "dialer" no box is opened here: the dialer
holds the boxes and hands each received text to the `sms_received` hook (`ingest_once`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import anyio
import structlog

from core.db import write_tx
from drivers.ev_fwt785 import Box
from drivers.ev_fwt785.errors import BoxError
from drivers.ev_fwt785.events import SmsReceived
from plugins.sms import config, inbox
from plugins.sms.channels import boxlink
from plugins.sms.numbers import try_any
from plugins.sms.schemas import InboxOut
from plugins.sms.tables import SmsInbox

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


async def ingest_once(sender: str, text: str, *, source: str, received_at: float | None) -> InboxOut | None:
    """Store a received text unless the same (source, sender, text, time of receipt) is stored already: a
    re-delivered upload from an agent lands once. None when it was a repeat."""
    at = dt.datetime.fromtimestamp(round(received_at, 3), dt.UTC) if received_at is not None else None
    async with write_tx():
        if at is not None and await SmsInbox.exists().where(
                (SmsInbox.source == source[:64]) & (SmsInbox.number == try_any(sender)) & (SmsInbox.text == text)
                & (SmsInbox.received_at == at)):
            return None
        return await inbox.ingest(sender, text, received_at=at, source=source)


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
