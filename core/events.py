"""Domain events: `publish("user.disabled", payload)` calls every subscribed plugin handler in turn."""

from __future__ import annotations

import inspect
from typing import Any

import structlog

from core.plugins import collect_sync

log = structlog.get_logger(__name__)


async def publish(pm, event: str, payload: Any) -> int:
    """Returns how many handlers ran. A failing handler is logged and does not stop the others."""
    ran = 0
    for handler in collect_sync(pm.hook.event_handlers):
        if handler.event != event:
            continue
        try:
            result = handler.handle(payload)
            if inspect.isawaitable(result):
                await result
            ran += 1
        except Exception:
            log.exception("event handler failed", event_name=event)
    return ran
