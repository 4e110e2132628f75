"""短信设置: channels, limits (外呼设置's daily SMS cap per user, per-SIM daily/monthly), hours, price."""

from __future__ import annotations

import datetime as dt
import os

import msgspec

from core.hooktypes import SettingsSection
from core.settings import store

SIMULATED_BOX_ENV = "WAIHUBAO_SIMULATED_BOX"
SIMULATED_BOX_URL = "sim://sms-box"
CHANNELS = ("box", "gateway")


class SmsSettings(msgspec.Struct, kw_only=True):
    default_channel: str = "box"  # box | gateway
    box_url: str = ""  # serial port (/dev/ttyUSB2) or sim://NAME; empty = no box configured
    box_dialect: str = "auto"
    sim_slots: str = "1,2,3,4,5"  # slots allowed to send SMS
    sim_daily_limit: int = 200  # per SIM and local day; 0 = unlimited
    sim_monthly_limit: int = 3000  # per SIM and calendar month; 0 = unlimited
    gateway_url: str = ""  # e.g. https://sms.example.com/api ; empty = no gateway configured
    gateway_key: str = ""
    gateway_sender: str = ""
    signature: str = ""  # e.g. 【外呼宝】, put before every text
    user_daily_cap: int = 500  # messages one person may queue per local day; 0 = unlimited
    hours_start: str = "08:00"  # sending hours (Asia/Shanghai); messages outside wait for the window
    hours_end: str = "21:00"
    max_parts: int = 10  # longest message, in parts
    price_fen_per_part: int = 5  # for the preview: 5 fen = ¥0.05 per part
    max_attempts: int = 4
    retry_base_s: int = 60  # back-off: base, 2×base, 4×base…
    worker_every_s: int = 10


SECTION = SettingsSection(key="sms", label="短信设置", schema=SmsSettings, permission="sms:settings")


async def current() -> SmsSettings:
    return await store.load(SECTION)


def simulated() -> bool:
    return os.environ.get(SIMULATED_BOX_ENV, "") not in ("", "0", "false")


def box_url(settings: SmsSettings) -> str:
    """The configured port; under `serve --simulated-box` a simulated box when none is configured."""
    if settings.box_url:
        return settings.box_url
    return SIMULATED_BOX_URL if simulated() else ""


def enabled_slots(settings: SmsSettings) -> list[int]:
    out = []
    for part in settings.sim_slots.replace("，", ",").split(","):
        part = part.strip()
        if part.isdigit() and 1 <= int(part) <= 5 and int(part) not in out:
            out.append(int(part))
    return out


def parse_hhmm(value: str, default: dt.time) -> dt.time:
    try:
        hour, minute = (int(x) for x in value.split(":"))
        return dt.time(hour, minute)
    except (ValueError, TypeError):
        return default


def within_hours(settings: SmsSettings, local: dt.datetime) -> bool:
    start = parse_hhmm(settings.hours_start, dt.time(8))
    end = parse_hhmm(settings.hours_end, dt.time(21))
    now = local.time()
    if start == end:
        return True
    if start < end:
        return start <= now < end
    return now >= start or now < end  # a window across midnight


def next_window(settings: SmsSettings, local: dt.datetime) -> dt.datetime:
    """The next moment (local) sending hours open, or `local` itself inside them."""
    if within_hours(settings, local):
        return local
    start = parse_hhmm(settings.hours_start, dt.time(8))
    candidate = local.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
    return candidate if candidate > local else candidate + dt.timedelta(days=1)
