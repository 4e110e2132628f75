"""The small interface every SMS channel implements: open a session, send, poll delivery, report balance."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import msgspec

from plugins.sms.config import SmsSettings


class Outcome(msgspec.Struct, kw_only=True):
    """What one send attempt gave. `defer_until` (no failure counted): try again then."""

    ok: bool
    provider_id: str = ""
    sim: str = ""
    error: str = ""
    retryable: bool = True
    defer_until: dt.datetime | None = None


class Report(msgspec.Struct, kw_only=True):
    provider_id: str
    state: str  # delivered | failed
    error: str = ""


class ChannelUnavailable(Exception):
    """The channel cannot be opened at all (box unplugged, gateway down); every message retries later."""


class Session(Protocol):
    concurrency: int

    async def send(self, number: str, text: str, parts: int) -> Outcome: ...

    async def reports(self, provider_ids: list[str]) -> list[Report]: ...


class Channel(Protocol):
    name: str
    label: str
    reports_delivery: bool  # whether `Session.reports` can say more than nothing

    def configured(self, settings: SmsSettings) -> str:
        """"" when usable, else a bilingual reason."""
        ...

    def open(self, settings: SmsSettings, now: dt.datetime) -> AbstractAsyncContextManager[Session]: ...

    async def balance(self, settings: SmsSettings) -> str | None: ...
