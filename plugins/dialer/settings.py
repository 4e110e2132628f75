"""外呼设置: the dialer's settings section (edited on the admin settings page)."""

from __future__ import annotations

import msgspec

from core.hooktypes import SettingsSection


class DialerSettings(msgspec.Struct, kw_only=True):
    followup_min_s: float = 10.0  # calls longer than this become a follow-up with the recording
    create_unknown_customer: bool = False  # an answered number of no customer becomes a 潜在 customer
    user_max_per_day: int = 400  # daily cap of dials per salesperson (campaign default)
    sim_max_per_day: int = 0  # campaign-wide daily cap per SIM under the SIM's own limit (0 = none)
    recording_retention_days: int = 0  # 0 = keep call recordings (purge is not built yet)


SECTION = SettingsSection(key="dialer", label="外呼设置", schema=DialerSettings, permission="dialer:settings")


async def current() -> DialerSettings:
    from core.settings.store import load

    try:
        return await load(SECTION)
    except Exception:  # no settings table in a bare test database: defaults
        return DialerSettings()
