"""Core's own settings section (系统设置). Titles and descriptions label the admin page (zh-CN msgids)."""

from __future__ import annotations

from typing import Annotated

import msgspec


class CoreSettings(msgspec.Struct, kw_only=True):
    company_name: Annotated[str, msgspec.Meta(
        max_length=100, title="公司名称", description="本系统所属公司的名称，最多 100 字")] = "外呼宝"
    timezone: Annotated[str, msgspec.Meta(
        max_length=64, title="时区", description="IANA 时区名，如 Asia/Shanghai")] = "Asia/Shanghai"
    default_region: Annotated[str, msgspec.Meta(
        min_length=2, max_length=2, title="默认国家/地区", description="两位国家/地区代码，如 CN")] = "CN"
    audit_retention_days: Annotated[int, msgspec.Meta(
        ge=30, le=3650, title="操作日志保留天数",
        description="单位：天（30–3650）；每日清理任务删除更早的操作日志")] = 365
    login_log_retention_days: Annotated[int, msgspec.Meta(
        ge=30, le=3650, title="登录日志保留天数",
        description="单位：天（30–3650）；每日清理任务删除更早的登录记录")] = 365
    session_idle_hours: Annotated[int, msgspec.Meta(
        ge=1, le=72, title="登录空闲超时",
        description="单位：小时（1–72）；超过此时长无操作需重新登录")] = 12
