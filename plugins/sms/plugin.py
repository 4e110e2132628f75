"""The SMS plugin's hooks."""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.hooktypes import PluginManifest
from plugins.sms import hookspecs as published_hookspecs

MANIFEST = PluginManifest(name="sms", title="手机短信", version="0.1.0", module="sms",
                          description="短信发送、群发、定时、模板、收发记录")
HOOKSPECS = published_hookspecs


@hookimpl
def piccolo_apps() -> list[str]:
    return ["plugins.sms.piccolo_app"]
