"""The dialer plugin's hooks."""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.hooktypes import PluginManifest

MANIFEST = PluginManifest(name="dialer", title="云外呼", version="0.1.0", module="dialer",
                          description="自动外呼、号码直拨、拨打记录、外呼统计、电话助手")


@hookimpl
def piccolo_apps() -> list[str]:
    return ["plugins.dialer.piccolo_app"]


@hookimpl
def cli_commands() -> list:
    from drivers.ev_fwt785.cli import device

    return [device]
