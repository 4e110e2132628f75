"""短信设置: channels, limits (外呼设置's daily SMS cap per user, per-SIM daily/monthly), hours, price."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from core.hooktypes import SettingsSection
from core.settings import store

CHANNELS = ("box", "gateway")
NEED_DIALER = ("需要云外呼模块的设备，或在短信设置中填写盒子端口 / needs the boxes of the auto-dialer module, "
               "or set the box port in the SMS settings")


class SmsSettings(msgspec.Struct, kw_only=True):
    default_channel: Annotated[str, msgspec.Meta(
        title="默认发送通道", description="box = 短信猫盒子，gateway = HTTP 短信网关")] = "box"  # box | gateway
    # Where the box channel's boxes come from: "dialer" = the boxes the 云外呼 module holds (in the server
    # or on a salesperson's 电话助手; texts received on them land in 收信记录), "url" = SMS opens `box_url`
    # itself (a box on the server when the dialer is not licensed), "auto" = "url" when `box_url` is set,
    # else "dialer".
    box_source: Annotated[Literal["auto", "dialer", "url"], msgspec.Meta(
        title="盒子来源",
        description="dialer = 使用云外呼模块的盒子；url = 短信模块自己打开下面的盒子端口；"
                    "auto = 填了盒子端口用 url，否则用 dialer")] = "auto"
    box_url: Annotated[str, msgspec.Meta(
        title="盒子端口",
        description="串口（如 /dev/ttyUSB2）或 sim://名称；留空 = 未配置")] = ""  # serial port or sim://NAME
    box_dialect: Annotated[str, msgspec.Meta(
        title="盒子指令集", description="auto、quectel 或 simcom；一般保持 auto")] = "auto"
    sim_slots: Annotated[str, msgspec.Meta(
        title="可发短信的卡槽", description="卡槽编号 1–5，用逗号分隔，如 1,2,3")] = "1,2,3,4,5"
    sim_daily_limit: Annotated[int, msgspec.Meta(
        title="每卡每日上限", description="单位：条；每张卡每天（本地时间）最多发送；0 = 不限")] = 200
    sim_monthly_limit: Annotated[int, msgspec.Meta(
        title="每卡每月上限", description="单位：条；每张卡每个自然月最多发送；0 = 不限")] = 3000
    gateway_url: Annotated[str, msgspec.Meta(
        title="网关地址", description="如 https://sms.example.com/api；留空 = 未配置网关")] = ""
    gateway_key: Annotated[str, msgspec.Meta(title="网关密钥", description="以 Bearer 令牌方式发送给网关")] = ""
    gateway_sender: Annotated[str, msgspec.Meta(title="网关发送方", description="发送方号码或名称，由网关决定")] = ""
    signature: Annotated[str, msgspec.Meta(
        title="短信签名", description="加在每条短信开头，如 【外呼宝】")] = ""  # put before every text
    user_daily_cap: Annotated[int, msgspec.Meta(
        title="每人每日上限", description="单位：条；每人每天（本地时间）最多提交；0 = 不限")] = 500
    hours_start: Annotated[str, msgspec.Meta(
        title="发送开始时间",
        description="HH:MM（北京时间）；时段外的短信排队等到时段开始")] = "08:00"  # Asia/Shanghai
    hours_end: Annotated[str, msgspec.Meta(
        title="发送结束时间", description="HH:MM；与开始时间相同 = 全天发送；可跨午夜")] = "21:00"
    max_parts: Annotated[int, msgspec.Meta(
        title="最长短信条数", description="单位：条；长短信最多拆成几条")] = 10
    price_fen_per_part: Annotated[int, msgspec.Meta(
        title="每条价格", description="单位：分；仅用于发送前的费用预估（5 = ¥0.05）")] = 5
    max_attempts: Annotated[int, msgspec.Meta(
        title="最多尝试次数", description="可重试的失败，最多尝试发送几次")] = 4
    retry_base_s: Annotated[int, msgspec.Meta(
        title="重试间隔", description="单位：秒；依次等待 1、2、4…倍")] = 60
    worker_every_s: Annotated[int, msgspec.Meta(
        title="发送队列检查间隔", description="单位：秒；服务器每隔多久检查一次待发短信")] = 10


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
