"""The sales plugin's hooks."""

from __future__ import annotations

from core.hooktypes import PluginManifest

MANIFEST = PluginManifest(name="sales", title="销售管理", version="0.1.0", module="sales",
                          description="销售机会、需求挖掘、销售提醒、销售分析")
