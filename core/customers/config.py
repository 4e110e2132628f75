"""客户设置: the typed settings section (customer types, levels, sources, follow-up methods, warnings)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from core.hooktypes import SettingsSection
from core.settings.store import load

DEFAULT_TYPES = ["潜在", "意向", "现有", "代理合作", "供应商", "无效"]


class CustomerSettings(msgspec.Struct, kw_only=True):
    types: Annotated[list[str], msgspec.Meta(
        title="客户类型", description="每行一个；新建和导入客户时只能选这些，导入未填类型时用第一个")] = msgspec.field(
        default_factory=lambda: list(DEFAULT_TYPES))
    levels: Annotated[list[str], msgspec.Meta(title="客户级别", description="每行一个，如 A、B、C、D")] = msgspec.field(
        default_factory=lambda: ["A", "B", "C", "D"])
    sources: Annotated[list[str], msgspec.Meta(title="客户来源", description="每行一个")] = msgspec.field(
        default_factory=lambda: ["电话营销", "网络", "展会", "转介绍", "其他"])
    methods: Annotated[list[str], msgspec.Meta(
        title="跟进方式", description="每行一个；写跟进记录时可选")] = msgspec.field(
        default_factory=lambda: ["电话", "上门", "远程", "微信", "邮件"])
    warn_days: Annotated[int, msgspec.Meta(
        title="未联系预警天数", description="单位：天；超过此天数未联系的客户出现在提醒中")] = 30
    import_max_rows: Annotated[int, msgspec.Meta(
        title="导入最大行数", description="一次导入客户的文件最多行数")] = 200_000
    import_max_bytes: Annotated[int, msgspec.Meta(
        title="导入文件大小上限", description="单位：字节（50000000 = 50 MB）")] = 50_000_000


SECTION = SettingsSection(key="customers", label="客户设置", schema=CustomerSettings, permission="customers:settings")


async def current() -> CustomerSettings:
    return await load(SECTION)
