"""The SMS plugin's hooks."""

from __future__ import annotations

from core.hooktypes import PluginManifest

MANIFEST = PluginManifest(name="sms", title="手机短信", version="0.1.0", module="sms",
                          description="短信发送、群发、定时、模板、收发记录")
