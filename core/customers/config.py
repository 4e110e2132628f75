"""客户设置: the typed settings section (customer types, levels, sources, follow-up methods, warnings)."""

from __future__ import annotations

import msgspec

from core.hooktypes import SettingsSection
from core.settings.store import load

DEFAULT_TYPES = ["潜在", "意向", "现有", "代理合作", "供应商", "无效"]


class CustomerSettings(msgspec.Struct, kw_only=True):
    types: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_TYPES))
    levels: list[str] = msgspec.field(default_factory=lambda: ["A", "B", "C", "D"])
    sources: list[str] = msgspec.field(default_factory=lambda: ["电话营销", "网络", "展会", "转介绍", "其他"])
    methods: list[str] = msgspec.field(default_factory=lambda: ["电话", "上门", "远程", "微信", "邮件"])
    warn_days: int = 30  # 预警: not contacted for this many days
    import_max_rows: int = 200_000
    import_max_bytes: int = 50_000_000


SECTION = SettingsSection(key="customers", label="客户设置", schema=CustomerSettings, permission="customers:settings")


async def current() -> CustomerSettings:
    return await load(SECTION)
