"""The dialer API's msgspec Structs (request and response bodies)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

Name = Annotated[str, Meta(min_length=1, max_length=200)]


class DeviceSpec(msgspec.Struct, kw_only=True):
    device: int
    slots: list[int] = []


class CampaignIn(msgspec.Struct, kw_only=True):
    name: Name
    customer_ids: list[int] = []
    contact_ids: list[int] = []
    filter: dict[str, Any] | None = None  # a customers ListQuery (any list filter of the CRM)
    numbers: list[str] = []  # raw numbers (an uploaded file is parsed into these)
    recording_id: int | None = None
    mode: Literal["prompt", "auto_handover", "manual"] = "prompt"
    devices: list[DeviceSpec] = []
    config: dict[str, Any] = {}  # engine CampaignConfig overrides (gap_s, ring_timeout_s, windows, rotation…)
    start: bool = False


class CampaignOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    owner_id: int | None
    owner_name: str = ""
    status: str
    status_reason: str
    mode: str
    recording_id: int | None
    total: int
    removed_invalid: int
    removed_duplicate: int
    removed_dnc: int
    removed_scope: int
    dialed: int
    answered: int
    effective: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    warning: str = ""


class CallOut(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    call_type: str
    campaign_id: int | None
    user_id: int | None
    customer_id: int | None
    contact_id: int | None
    number: str
    caller_number: str
    device_name: str
    slot: int
    iccid: str
    state: str  # 已接 / 未接
    answered: bool
    cause: str
    dial_at: dt.datetime
    answer_at: dt.datetime | None
    end_at: dt.datetime | None
    ring_s: float
    talk_s: float
    total_s: float
    listened_s: float
    taken_over: bool
    abandoned: bool
    effective: bool
    disposition: str
    note: str
    next_contact: dt.date | None
    has_recording: bool
    followup_id: int | None
    recording_purged_at: dt.datetime | None = None  # deleted by the retention setting (外呼设置)


class DispositionIn(msgspec.Struct, kw_only=True):
    disposition: Annotated[str, Meta(max_length=32)]  # 意向 | 无意向 | 不要再打 | 空号 | 回拨 …
    note: Annotated[str, Meta(max_length=2000)] = ""
    next_contact: dt.date | None = None


class RecordingOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    owner_id: int | None
    shared: bool
    duration_s: float
    handover_s: float
    size: int
    created_at: dt.datetime


class RecordingPatch(msgspec.Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    handover_s: Annotated[float, Meta(ge=0, le=600)] | None = None
    shared: bool | None = None


class DeviceIn(msgspec.Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    url: Annotated[str, Meta(min_length=1, max_length=255)]
    dialect: Literal["auto", "quectel", "simcom"] = "auto"
    slots: int = 5


class SlotUsageOut(msgspec.Struct, kw_only=True):
    """Today's (Asia/Shanghai) use of a SIM, from dialer_sim_usage."""

    day: dt.date
    calls: int = 0
    connected: int = 0
    talk_minutes: float = 0.0


class SlotOut(msgspec.Struct, kw_only=True):
    slot: int
    enabled: bool
    carrier: str
    caller_number: str
    limits: dict[str, Any]  # this slot's own overrides (null = that limit switched off)
    blocked: bool
    lock_reason: str
    locked: bool = False  # locked until a time or by hand, in the database or a campaign running here
    locked_until: dt.datetime | None = None
    effective: dict[str, Any] = {}  # the limits that apply: the carrier preset with the overrides on top
    preset: dict[str, Any] = {}  # the carrier preset alone
    usage: SlotUsageOut | None = None


Off = Literal["off"]


class SlotLimitsIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A slot's own limits. null (or a missing field) = use the carrier preset; "off" = no such limit."""

    max_calls_per_hour: int | Off | None = None
    max_calls_per_day: int | Off | None = None
    max_connected_per_day: int | Off | None = None
    max_talk_minutes_per_day: float | Off | None = None
    max_talk_minutes_per_month: float | Off | None = None
    month_reset_day: int | None = None
    min_gap_s: float | None = None
    max_single_call_s: float | Off | None = None
    consecutive_fail_limit: int | None = None  # 0 = no lock for it
    consecutive_no_answer_limit: int | None = None
    consecutive_short_limit: int | None = None
    short_call_s: float | None = None
    cooldown_s: float | None = None  # -1 = locked until unlocked by hand
    min_signal: int | None = None
    blocked_after_barred: int | None = None


class SlotPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Change a SIM slot. A missing (null) field is left as it is; `limits`, when given, replaces every override."""

    enabled: bool | None = None
    carrier: Annotated[str, Meta(max_length=16)] | None = None  # a carrier preset key; "" = ordinary
    caller_number: Annotated[str, Meta(max_length=40)] | None = None  # 主叫号码; "" = unknown
    limits: SlotLimitsIn | None = None


class DevicePatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    url: Annotated[str, Meta(min_length=1, max_length=255)] | None = None
    dialect: Literal["auto", "quectel", "simcom"] | None = None
    enabled: bool | None = None


class UnlockIn(msgspec.Struct, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=200)]  # why the operator puts the SIM back in rotation


class DeviceOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    url: str
    dialect: str
    enabled: bool
    online: bool
    slots: list[SlotOut]


class DirectDialIn(msgspec.Struct, kw_only=True):
    number: Annotated[str, Meta(min_length=3, max_length=40)]
    device_id: int | None = None
    slot: Annotated[int, Meta(ge=1, le=5)] | None = None
    recording_id: int | None = None
    call_type: Annotated[str, Meta(max_length=32)] = "业务联系"
    customer_id: int | None = None


class DncIn(msgspec.Struct, kw_only=True):
    numbers: list[str]
    source: Annotated[str, Meta(max_length=32)] = "manual"
    reason: Annotated[str, Meta(max_length=500)] = ""


class StatRow(msgspec.Struct, kw_only=True):
    key: str
    label: str
    dials: int
    answered: int
    answer_rate: float
    effective: int
    talk_s: float
    avg_talk_s: float
    abandoned: int
    abandoned_rate: float
    active_hours: int = 0  # distinct Asia/Shanghai clock hours (date + hour) with at least one dial
    calls_per_hour: float = 0.0  # dials / active_hours (0 without dials): the dialing pace, idle hours excluded
