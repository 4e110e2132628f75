"""msgspec Structs at the edges: what the API and the pages take in and give back."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Short = Annotated[str, Meta(max_length=64)]
Long = Annotated[str, Meta(max_length=5000)]


class PhoneIn(msgspec.Struct, kw_only=True):
    raw: Annotated[str, Meta(max_length=64)]


class ContactIn(msgspec.Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    title: Short = ""
    role: Short = ""
    importance: Short = ""
    gender: Short = ""
    birthday: dt.date | None = None
    phones: list[str] = []
    email: Annotated[str, Meta(max_length=255)] = ""
    wechat: Short = ""
    notes: Long = ""
    employed: bool = True


class ContactPatch(msgspec.Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)] | UnsetType = UNSET
    title: Short | UnsetType = UNSET
    role: Short | UnsetType = UNSET
    importance: Short | UnsetType = UNSET
    gender: Short | UnsetType = UNSET
    birthday: dt.date | UnsetType | None = UNSET
    phones: list[str] | UnsetType = UNSET
    email: Annotated[str, Meta(max_length=255)] | UnsetType = UNSET
    wechat: Short | UnsetType = UNSET
    notes: Long | UnsetType = UNSET
    employed: bool | UnsetType = UNSET


class CustomerIn(msgspec.Struct, kw_only=True):
    name: Name
    kind: Annotated[str, Meta(pattern="^(enterprise|individual)$")] = "enterprise"
    credit_code: Short = ""
    type: Short = "潜在"
    category: Short = ""
    level: Short = ""
    industry: Short = ""
    province: Short = ""
    city: Short = ""
    source: Short = ""
    address: Annotated[str, Meta(max_length=255)] = ""
    website: Annotated[str, Meta(max_length=255)] = ""
    needs: Long = ""
    tags: list[Annotated[str, Meta(min_length=1, max_length=50)]] = []
    custom: dict[str, Any] = {}
    owner_id: int | None = None  # None: the creator
    is_public: bool = False
    contacts: list[ContactIn] = []
    phones: list[str] = []  # for an individual: the automatic contact's phones


class CustomerPatch(msgspec.Struct, kw_only=True):
    name: Name | UnsetType = UNSET
    kind: Annotated[str, Meta(pattern="^(enterprise|individual)$")] | UnsetType = UNSET
    credit_code: Short | UnsetType = UNSET
    type: Short | UnsetType = UNSET
    category: Short | UnsetType = UNSET
    level: Short | UnsetType = UNSET
    industry: Short | UnsetType = UNSET
    province: Short | UnsetType = UNSET
    city: Short | UnsetType = UNSET
    source: Short | UnsetType = UNSET
    address: Annotated[str, Meta(max_length=255)] | UnsetType = UNSET
    website: Annotated[str, Meta(max_length=255)] | UnsetType = UNSET
    needs: Long | UnsetType = UNSET
    tags: list[Annotated[str, Meta(min_length=1, max_length=50)]] | UnsetType = UNSET
    custom: dict[str, Any] | UnsetType = UNSET
    is_public: bool | UnsetType = UNSET


class ContactOut(msgspec.Struct, kw_only=True):
    id: int
    customer_id: int
    name: str
    title: str
    role: str
    importance: str
    gender: str
    birthday: dt.date | None
    phones: list[str]
    email: str
    wechat: str
    notes: str
    employed: bool
    is_primary: bool


class CustomerOut(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    name: str
    credit_code: str
    type: str
    category: str
    level: str
    industry: str
    province: str
    city: str
    source: str
    address: str
    website: str
    needs: str
    tags: list[str]
    custom: dict[str, Any]
    owner_id: int | None
    department_id: int | None
    pool_id: int | None
    pre_owner_id: int | None
    pooled_at: dt.datetime | None
    is_public: bool
    last_followup_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    contacts: list[ContactOut] = []
    starred: bool = False
    warnings: list[str] = []


class ListQuery(msgspec.Struct, kw_only=True):
    """A list request: the view, a keyword, filters on any field (custom ones as `custom`), sort, cursor."""

    view: Annotated[str, Meta(pattern="^(mine|all|stars|shared_with_me|shared_by_me|public|pool)$")] = "mine"
    q: Annotated[str, Meta(max_length=100)] = ""
    kind: str = ""
    type: str = ""
    category: str = ""
    level: str = ""
    industry: str = ""
    province: str = ""
    city: str = ""
    source: str = ""
    tag: str = ""
    owner_id: int | None = None
    department_id: int | None = None
    pool_id: int | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    not_contacted_days: int | None = None
    custom: dict[str, str] = {}
    sort: Annotated[str, Meta(pattern="^(id|name|created_at|updated_at|type)$")] = "id"
    desc: bool = True
    after: str = ""
    limit: Annotated[int, Meta(ge=1, le=500)] = 50


class CustomerRow(msgspec.Struct, kw_only=True):
    id: int
    name: str
    kind: str
    type: str
    level: str
    industry: str
    province: str
    city: str
    source: str
    tags: str
    owner_id: int | None
    owner_name: str = ""
    department_id: int | None
    pool_id: int | None
    is_public: bool
    last_followup_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class Page(msgspec.Struct, kw_only=True):
    items: list[CustomerRow]
    next: str = ""


class FollowupIn(msgspec.Struct, kw_only=True):
    customer_id: int
    at: dt.datetime | None = None
    contact_id: int | None = None
    kind: Short = ""
    method: Short = "电话"
    summary: Annotated[str, Meta(max_length=10000)] = ""
    next_at: dt.date | None = None
    plan_id: int | None = None


class FollowupOut(msgspec.Struct, kw_only=True):
    id: int
    customer_id: int
    contact_id: int | None
    user_id: int | None
    plan_id: int | None
    at: dt.datetime
    kind: str
    method: str
    summary: str
    next_at: dt.date | None


class PlanIn(msgspec.Struct, kw_only=True):
    customer_id: int
    due_at: dt.datetime
    subject: Annotated[str, Meta(max_length=2000)] = ""
    contact_id: int | None = None
    user_id: int | None = None


class PlanOut(msgspec.Struct, kw_only=True):
    id: int
    customer_id: int
    contact_id: int | None
    user_id: int | None
    due_at: dt.datetime
    subject: str
    done_at: dt.datetime | None


class ShareIn(msgspec.Struct, kw_only=True):
    user_id: int | None = None
    department_id: int | None = None
    level: Annotated[str, Meta(pattern="^(read|edit)$")] = "read"


class AssignIn(msgspec.Struct, kw_only=True):
    to_user_id: int
    customer_ids: list[int] = []
    filter: ListQuery | None = None  # assign everything matching a filter (客户分派)
    reason: Annotated[str, Meta(max_length=500)] = ""


class ReasonIn(msgspec.Struct, kw_only=True):
    reason: Annotated[str, Meta(max_length=500)] = ""
    pool_id: int | None = None


class HandoverIn(msgspec.Struct, kw_only=True):
    from_user_id: int
    to_user_id: int
    reason: Annotated[str, Meta(max_length=500)] = ""


class MergeIn(msgspec.Struct, kw_only=True):
    keep_id: int
    merge_id: int


class PoolIn(msgspec.Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    remind_days: Annotated[int, Meta(ge=0, le=365)] = 3
    daily_claim_limit: Annotated[int, Meta(ge=0)] = 0
    pre_owner_block_days: Annotated[int, Meta(ge=0, le=3650)] = 0
    max_owned: Annotated[int, Meta(ge=0)] = 0
    is_default: bool = False
    member_user_ids: list[int] = []
    member_department_ids: list[int] = []


class PoolRuleIn(msgspec.Struct, kw_only=True):
    kind: Annotated[str, Meta(pattern="^(no_followup|no_opportunity|not_won)$")] = "no_followup"
    days: Annotated[int, Meta(ge=1, le=3650)] = 30
    customer_type: Short = ""
    level: Short = ""
    exempt_won: bool = True
    exempt_open_opportunity: bool = False


class PoolOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    remind_days: int
    daily_claim_limit: int
    pre_owner_block_days: int
    max_owned: int
    is_default: bool
    rules: list[dict[str, Any]] = []


class FieldDefIn(msgspec.Struct, kw_only=True):
    key: Annotated[str, Meta(pattern="^[a-z][a-z0-9_]{0,63}$")]
    label: Annotated[str, Meta(min_length=1, max_length=100)]
    kind: Annotated[str, Meta(pattern="^(text|number|date|choice|multi)$")] = "text"
    options: list[str] = []
    required: bool = False
