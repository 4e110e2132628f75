"""短信设置: channels, limits (外呼设置's daily SMS cap per user, per-SIM daily/monthly), hours, price."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from core.hooktypes import SettingsSection
from core.settings import store

CHANNELS = ("box", "gateway")
NEED_DIALER = ("需要云外呼模块的设备，或在短信设置中填写盒子端口 / needs the boxes of the auto-dialer module, "
               "or set the box port in the SMS settings")


class SmsSettings(msgspec.Struct, kw_only=True):
    default_channel: str = "box"  # box | gateway
    # Where the box channel's boxes come from: "dialer" = the boxes the 云外呼 module holds (in the server
    # or on a salesperson's 电话助手; texts received on them land in 收信记录), "url" = SMS opens `box_url`
    # itself (a box on the server when the dialer is not licensed), "auto" = "url" when `box_url` is set,
    # else "dialer".
    box_source: Literal["auto", "dialer", "url"] = "auto"
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


def box_source(settings: SmsSettings) -> Literal["dialer", "url"]:
    if settings.box_source == "auto":
        return "url" if settings.box_url else "dialer"
    return settings.box_source


def box_url(settings: SmsSettings) -> str:
    """The port SMS opens itself; "" when the box channel uses the dialer's boxes (or none is configured).
    (`serve --simulated-box` needs none: the dialer's simulated box serves both.)"""
    return settings.box_url if box_source(settings) == "url" else ""


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
