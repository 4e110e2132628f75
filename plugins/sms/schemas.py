"""The msgspec Structs at the edges: what the API takes and gives."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import Meta

from core.customers.schemas import ListQuery

Text = Annotated[str, Meta(max_length=2000)]


class RecipientIn(msgspec.Struct, kw_only=True):
    number: Annotated[str, Meta(max_length=64)]
    name: Annotated[str, Meta(max_length=100)] = ""


class SendIn(msgspec.Struct, kw_only=True):
    """One send. Recipients from any mix of: numbers, imported rows, customer ids, a customer list filter."""

    text: Text = ""
    template_id: int | None = None
    numbers: list[str] = []
    recipients: list[RecipientIn] = []
    customer_ids: list[int] = []
    filter: ListQuery | None = None
    contacts: Annotated[str, Meta(pattern="^(primary|all)$")] = "primary"
    scheduled_at: dt.datetime | None = None
    channel: Annotated[str, Meta(pattern="^(|box|gateway)$")] = ""
    skip_invalid: bool = False


class Skipped(msgspec.Struct, kw_only=True):
    number: str
    reason: str
    customer_id: int | None = None


class Recipient(msgspec.Struct, kw_only=True):
    number: str  # E.164
    name: str = ""  # contact or imported name
    customer_id: int | None = None
    contact_id: int | None = None
    customer_name: str = ""


class SampleOut(msgspec.Struct, kw_only=True):
    number: str
    name: str
    customer_name: str
    text: str
    parts: int


class PreviewOut(msgspec.Struct, kw_only=True):
    channel: str
    recipients: int
    skipped: list[Skipped]
    encoding: str
    chars: int
    parts_per_message: int  # the longest filled text
    parts_total: int
    cost_fen: int
    cost: str  # "¥1.25"
    send_at: dt.datetime
    samples: list[SampleOut]
    warnings: list[str] = []
    balance: str | None = None


class SendOut(msgspec.Struct, kw_only=True):
    batch_id: int
    queued: int
    skipped: list[Skipped]
    parts_total: int
    cost_fen: int
    send_at: dt.datetime


class BatchOut(msgspec.Struct, kw_only=True):
    id: int
    user_id: int | None
    user_name: str
    text: str
    channel: str
    purpose: str
    scheduled_at: dt.datetime | None
    created_at: dt.datetime
    recipients: int
    skipped: int
    parts: int
    cost_fen: int
    cancelled: bool
    states: dict[str, int]


class MessageOut(msgspec.Struct, kw_only=True):
    id: int
    batch_id: int | None
    user_id: int | None
    customer_id: int | None
    contact_id: int | None
    number: str
    name: str
    text: str
    parts: int
    channel: str
    state: str
    reason: str
    attempts: int
    sim: str
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None


class InboxOut(msgspec.Struct, kw_only=True):
    id: int
    number: str
    text: str
    received_at: dt.datetime
    source: str
    customer_id: int | None
    contact_id: int | None
    owner_id: int | None
    opt_out: bool
    followup_id: int | None


class TemplateIn(msgspec.Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    body: Text
    shared: bool = False


class TemplatePatch(msgspec.Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    body: Text | None = None
    shared: bool | None = None


class TemplateOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    body: str
    shared: bool
    owner_id: int | None
    fields: list[str]
    parts: int


class OptOutIn(msgspec.Struct, kw_only=True):
    number: Annotated[str, Meta(max_length=64)]
    note: Annotated[str, Meta(max_length=500)] = ""


class OptOutOut(msgspec.Struct, kw_only=True):
    number: str
    source: str
    note: str
    created_at: dt.datetime


class FollowupFromReplyIn(msgspec.Struct, kw_only=True):
    summary: Annotated[str, Meta(max_length=2000)] = ""


class ImportOut(msgspec.Struct, kw_only=True):
    recipients: list[RecipientIn]
    invalid: list[Skipped]
    duplicates: int


class BalanceOut(msgspec.Struct, kw_only=True):
    channel: str
    balance: str | None
    detail: str = ""


class DrainOut(msgspec.Struct, kw_only=True):
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    interrupted: int = 0
    delivered: int = 0
