"""Channels by name, chosen per message or by the settings' default."""

from __future__ import annotations

from plugins.sms.channels.base import Channel
from plugins.sms.channels.box import BoxChannel
from plugins.sms.channels.gateway import GatewayChannel
from plugins.sms.config import SmsSettings
from plugins.sms.errors import sms_error

CHANNELS: dict[str, Channel] = {"box": BoxChannel(), "gateway": GatewayChannel()}


def get(name: str) -> Channel:
    channel = CHANNELS.get(name)
    if channel is None:
        raise sms_error(f"未知的短信通道 {name!r}", f"unknown SMS channel {name!r}")
    return channel


def check_configured(name: str, settings: SmsSettings) -> None:
    if not name:
        raise sms_error("没有配置短信通道", "no SMS channel configured")
    reason = get(name).configured(settings)
    if reason:
        raise sms_error(*reason.split(" / ", 1)) if " / " in reason else sms_error(reason, reason)
