"""系统清理: purge login-log and audit rows older than their retention (the audit chain stays verifiable)."""

from __future__ import annotations

import datetime as dt

from core import host
from core.audit.log import purge_before
from core.auth.tables import LoginFailure, LoginLog
from core.db import write_tx
from core.perms.actor import system_actor
from core.settings.core_settings import CoreSettings
from core.settings.store import load, section_for


async def purge_old_logs() -> dict[str, int]:
    settings: CoreSettings = await load(section_for(host.current().pm, "core"))
    now = dt.datetime.now(dt.UTC)
    login_cutoff = now - dt.timedelta(days=settings.login_log_retention_days)
    async with write_tx():
        logins = await LoginLog.count().where(LoginLog.at < login_cutoff)
        await LoginLog.delete().where(LoginLog.at < login_cutoff)
        await LoginFailure.delete().where(LoginFailure.at < now - dt.timedelta(days=1))
    audits = await purge_before(now - dt.timedelta(days=settings.audit_retention_days), system_actor("cleanup"))
    return {"login_log": logins, "audit": audits}
