"""msgspec Structs at the edges of the sales API and pages.

Amounts and probabilities come in loosely typed (`str | int | float`) on purpose: the service checks
them itself so a bad value gets a Chinese + English message naming the field, not a decoder error.
Amounts go out as decimal strings (msgspec encodes `Decimal` exactly).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Short = Annotated[str, Meta(max_length=64)]
Long = Annotated[str, Meta(max_length=5000)]
Loose = str | int | float
SORTS = ("id", "number", "name", "expected_close", "start_date", "amount_fen", "probability", "created_at",
         "updated_at")
Sort = Literal["id", "number", "name", "expected_close", "start_date", "amount_fen", "probability", "created_at",
               "updated_at"]


class OpportunityIn(msgspec.Struct, kw_only=True):
    name: Name
    customer_id: int
    contact_id: int | None = None
    start_date: dt.date | None = None  # today (Asia/Shanghai) when omitted
    expected_close: dt.date | None = None
    stage: str | None = None  # the first open stage when omitted
    state: str | None = None  # 跟进中 when omitted
    source: Short = ""
    importance: Short = ""
    type: Short = ""
    owner_id: int | None = None  # the creator when omitted
    probability: Loose | None = None  # the stage's default when omitted
    amount: Loose = "0"
    needs: list[Short] = []
    notes: Long = ""
    custom: dict[str, Any] = {}


class OpportunityPatch(msgspec.Struct, kw_only=True):
    name: Name | UnsetType = UNSET
    contact_id: int | UnsetType | None = UNSET
    start_date: dt.date | UnsetType = UNSET
    expected_close: dt.date | UnsetType | None = UNSET
    stage: str | UnsetType = UNSET
    state: str | UnsetType = UNSET
    source: Short | UnsetType = UNSET
    importance: Short | UnsetType = UNSET
    type: Short | UnsetType = UNSET
    owner_id: int | UnsetType = UNSET
    probability: Loose | UnsetType | None = UNSET  # None: back to the stage's default
    amount: Loose | UnsetType = UNSET
    needs: list[Short] | UnsetType = UNSET
    notes: Long | UnsetType = UNSET
    custom: dict[str, Any] | UnsetType = UNSET


class HistoryOut(msgspec.Struct, kw_only=True):
    field: str
    from_value: str | None
    to_value: str
    user_id: int | None
    user_name: str
    at: dt.datetime


class OpportunityOut(msgspec.Struct, kw_only=True):
    id: int
    number: str
    name: str
    customer_id: int
    customer_name: str
    contact_id: int | None
    start_date: dt.date
    expected_close: dt.date | None
    stage: str
    state: str
    outcome: str
    source: str
    importance: str
    type: str
    probability: int
    amount: Decimal
    weighted_amount: Decimal
    needs: list[str]
    notes: str
    custom: dict[str, Any]
    owner_id: int | None
    owner_name: str
    department_id: int | None
    closed_on: dt.date | None
    cycle_days: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    history: list[HistoryOut] = []
    followup_ids: list[int] = []


class OpportunityRow(msgspec.Struct, kw_only=True):
    id: int
    number: str
    name: str
    customer_id: int
    customer_name: str
    stage: str
    state: str
    source: str
    importance: str
    type: str
    probability: int
    amount: Decimal
    expected_close: dt.date | None
    start_date: dt.date
    owner_id: int | None
    owner_name: str
    department_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


ROW_COLUMNS: list[tuple[str, str]] = [
    ("customer_name", "客户"),
    ("stage", "阶段"),
    ("state", "状态"),
    ("amount", "金额"),
    ("probability", "可能性"),
    ("expected_close", "预计成交"),
    ("source", "来源"),
    ("importance", "重要程度"),
    ("type", "类型"),
    ("owner_name", "负责人"),
    ("start_date", "开始日期"),
    ("created_at", "创建时间"),
    ("updated_at", "更新时间"),
]
DEFAULT_COLUMNS = ["customer_name", "stage", "state", "amount", "probability", "expected_close", "owner_name"]


class Page(msgspec.Struct, kw_only=True):
    items: list[OpportunityRow]
    next: str = ""


class ListQuery(msgspec.Struct, kw_only=True):
    """Keyword and advanced filters of the opportunity list (also the export and the bulk-by-filter)."""

    q: Annotated[str, Meta(max_length=100)] = ""
    view: Literal["all", "mine", "open"] = "all"
    stage: str = ""
    state: str = ""
    outcome: str = ""
    source: str = ""
    importance: str = ""
    type: str = ""
    need: str = ""
    owner_id: int | None = None
    department_id: int | None = None
    customer_id: int | None = None
    amount_min: str = ""
    amount_max: str = ""
    close_from: dt.date | None = None
    close_to: dt.date | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    sort: Sort = "id"
    desc: bool = True
    after: str = ""
    limit: Annotated[int, Meta(ge=1, le=500)] = 50


class BulkIn(msgspec.Struct, kw_only=True):
    """批量修改: a new owner and/or a new state for the listed opportunities (all must be in scope)."""

    ids: Annotated[list[int], Meta(min_length=1, max_length=5000)]
    owner_id: int | None = None
    state: str | None = None


class Changed(msgspec.Struct, kw_only=True):
    changed: int


class LinkIn(msgspec.Struct, kw_only=True):
    followup_id: int


class FollowupForOpportunityIn(msgspec.Struct, kw_only=True):
    """Record a follow-up on the opportunity's customer and link it in one step."""

    summary: Annotated[str, Meta(min_length=1, max_length=5000)]
    method: Short = "电话"
    kind: Short = ""
    next_at: dt.date | None = None


class ColumnsIn(msgspec.Struct, kw_only=True):
    columns: list[str]


class NeedIn(msgspec.Struct, kw_only=True):
    customer_id: int
    title: Name
    contact_id: int | None = None
    type: Short = ""
    state: Short = ""  # the first need state when empty
    content: Long = ""
    cycle_days: Annotated[int, Meta(ge=0, le=3650)] = 0
    next_due: dt.date | None = None  # today + cycle when omitted and a cycle is set
    owner_id: int | None = None


class NeedPatch(msgspec.Struct, kw_only=True):
    title: Name | UnsetType = UNSET
    contact_id: int | UnsetType | None = UNSET
    type: Short | UnsetType = UNSET
    state: Short | UnsetType = UNSET
    content: Long | UnsetType = UNSET
    cycle_days: Annotated[int, Meta(ge=0, le=3650)] | UnsetType = UNSET
    next_due: dt.date | UnsetType | None = UNSET
    owner_id: int | UnsetType = UNSET


class NeedOut(msgspec.Struct, kw_only=True):
    id: int
    customer_id: int
    customer_name: str
    contact_id: int | None
    title: str
    type: str
    state: str
    content: str
    cycle_days: int
    next_due: dt.date | None
    last_done: dt.date | None
    owner_id: int | None
    owner_name: str
    department_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
