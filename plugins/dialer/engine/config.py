"""Engine parameters: per-SIM limits (with carrier presets that are only defaults) and campaign pacing.

No figure here is a carrier's official limit (none was found, see the dialer reference §3.3); they
err low and every one is configurable.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

import msgspec

Mode = Literal["prompt", "auto_handover", "manual"]
Rotation = Literal["sequential", "least_used_today", "sticky_until_limit"]
Outcome = Literal["answered", "busy", "no_answer", "rejected", "unreachable", "network_failure", "failed"]
MIN_RING_TIMEOUT_S = 15.0
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ConfigError(ValueError):
    """Bad engine parameters; the message is Chinese / English."""


class SimLimits(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Per-SIM limits. None (or 0 for the consecutive-* limits) switches a limit off."""

    max_calls_per_hour: int | None = 15
    max_calls_per_day: int | None = 60
    max_connected_per_day: int | None = None
    max_talk_minutes_per_day: float | None = None
    max_talk_minutes_per_month: float | None = None
    month_reset_day: int = 1
    min_gap_s: float = 20.0
    max_single_call_s: float | None = 1800.0
    consecutive_fail_limit: int = 3
    consecutive_no_answer_limit: int = 8
    consecutive_short_limit: int = 0
    short_call_s: float = 10.0
    cooldown_s: float = 1800.0  # lock after a consecutive-* limit; -1 = until reset by hand
    min_signal: int = 10  # CSQ rssi (0..31); below it the SIM is not used
    blocked_after_barred: int = 2  # this many "operator determined barring" (Q.850 8) in a row → blocked


# Defaults only: a slot's own limits override them field by field.
CARRIER_PRESETS: dict[str, SimLimits] = {
    "ordinary": SimLimits(),
    "telemarketing": SimLimits(max_calls_per_hour=40, max_calls_per_day=200, min_gap_s=10.0),
    "CMCC": SimLimits(),
    "CU": SimLimits(),
    "CT": SimLimits(),
}


def limits_for(carrier: str, overrides: dict[str, object] | None = None) -> SimLimits:
    base = CARRIER_PRESETS.get(carrier, CARRIER_PRESETS["ordinary"])
    if not overrides:
        return base
    merged = {**msgspec.structs.asdict(base), **overrides}
    try:
        return msgspec.convert(merged, SimLimits)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"SIM 限额设置无效 / invalid SIM limits: {exc}") from exc


class RetryRule(msgspec.Struct, frozen=True, kw_only=True):
    after_min: float = 30.0
    max_attempts: int = 3


DEFAULT_RETRY: dict[str, RetryRule] = {
    "busy": RetryRule(after_min=10, max_attempts=3),
    "no_answer": RetryRule(after_min=30, max_attempts=3),
    "rejected": RetryRule(after_min=120, max_attempts=2),
    "unreachable": RetryRule(after_min=60, max_attempts=2),
    "network_failure": RetryRule(after_min=2, max_attempts=3),
    "failed": RetryRule(after_min=5, max_attempts=3),
}


class CampaignConfig(msgspec.Struct, frozen=True, kw_only=True):
    mode: Mode = "prompt"
    ring_timeout_s: float = 30.0
    gap_s: float = 5.0  # pause between two calls on one line
    prompt_s: float = 15.0  # length of the recording
    handover_s: float = 0.0  # auto_handover: connect the salesperson after the callee listened this long
    wrapup_s: float = 20.0  # after-call work before the salesperson is free again
    effective_s: float = 30.0  # the salesperson talked at least this long → an effective conversation
    tz: str = "Asia/Shanghai"
    windows: list[tuple[str, str]] = msgspec.field(default_factory=lambda: [("09:00", "12:00"), ("13:30", "18:00")])
    weekdays: list[int] = msgspec.field(default_factory=lambda: [0, 1, 2, 3, 4])
    holidays: list[dt.date] = msgspec.field(default_factory=list)
    workdays: list[dt.date] = msgspec.field(default_factory=list)  # 调休: weekend days that are working days
    # the State Council's public holidays and 调休 weekend workdays (python-holidays); "" = weekdays only.
    # The campaign's own holidays/workdays above win over it.
    public_holidays: Literal["CN", ""] = "CN"
    retry: dict[str, RetryRule] = msgspec.field(default_factory=lambda: dict(DEFAULT_RETRY))
    callee_max_per_day: int = 2
    callee_max_per_24h: int = 3
    callee_min_gap_s: float = 120.0
    user_max_per_day: int | None = 400
    sim_max_per_day: int | None = None  # 外呼设置: a campaign-wide cap under the SIM's own limit
    rotation: Rotation = "sequential"
    abandon_cap: float = 0.03
    max_lines: int = 2


def validate(cfg: CampaignConfig) -> CampaignConfig:
    """Check what msgspec's types cannot; raise ConfigError with a bilingual message."""
    if cfg.ring_timeout_s < MIN_RING_TIMEOUT_S:
        raise ConfigError(f"振铃超时不得少于 {MIN_RING_TIMEOUT_S:g} 秒 / ring timeout must be at least "
                          f"{MIN_RING_TIMEOUT_S:g} s (got {cfg.ring_timeout_s:g})")
    if cfg.ring_timeout_s > 120:
        raise ConfigError("振铃超时不得超过 120 秒 / ring timeout must be at most 120 s")
    if cfg.gap_s < 0 or cfg.wrapup_s < 0 or cfg.prompt_s < 0 or cfg.handover_s < 0:
        raise ConfigError("时间参数不能为负 / times cannot be negative")
    if not cfg.windows:
        raise ConfigError("至少需要一个外呼时段 / at least one calling window is required")
    for start, end in cfg.windows:
        if not _HHMM.match(start) or not _HHMM.match(end):
            raise ConfigError(f"时段格式应为 HH:MM / window times must be HH:MM (got {start}-{end})")
        if start >= end:
            raise ConfigError(f"时段开始须早于结束 / window {start}-{end} ends before it starts")
    if any(d not in range(7) for d in cfg.weekdays):
        raise ConfigError("星期取值 0（周一）到 6（周日） / weekdays are 0 (Monday) to 6 (Sunday)")
    if not 0 <= cfg.abandon_cap <= 0.2:
        raise ConfigError("放弃率上限须在 0 到 20% 之间 / abandon cap must be between 0 and 20%")
    if cfg.callee_max_per_day < 1 or cfg.callee_max_per_24h < 1:
        raise ConfigError("每个号码的拨打上限至少为 1 / per-callee caps must be at least 1")
    if not 1 <= cfg.max_lines <= 10:
        raise ConfigError("线路数须在 1 到 10 之间 / lines must be between 1 and 10")
    if cfg.mode == "auto_handover" and cfg.handover_s <= 0:
        raise ConfigError("自动转接模式需要设置收听秒数 / auto hand-over needs the listened seconds (handover_s)")
    return cfg
