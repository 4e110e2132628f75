"""Core's own settings section (系统设置)."""

from __future__ import annotations

from typing import Annotated

import msgspec


class CoreSettings(msgspec.Struct, kw_only=True):
    company_name: Annotated[str, msgspec.Meta(max_length=100)] = "外呼宝"
    timezone: Annotated[str, msgspec.Meta(max_length=64)] = "Asia/Shanghai"
    default_region: Annotated[str, msgspec.Meta(min_length=2, max_length=2)] = "CN"
    audit_retention_days: Annotated[int, msgspec.Meta(ge=30, le=3650)] = 365
    login_log_retention_days: Annotated[int, msgspec.Meta(ge=30, le=3650)] = 365
    session_idle_hours: Annotated[int, msgspec.Meta(ge=1, le=72)] = 12
