"""Typed settings: each section is a msgspec Struct with defaults, stored as JSON in `settings`."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import msgspec

from core.audit.log import diff_of, record
from core.db import write_tx
from core.hooktypes import SettingsSection
from core.perms.actor import Actor
from core.plugins import collect_sync
from core.settings.tables import Setting


class SettingsError(ValueError):
    pass


def sections(pm) -> dict[str, SettingsSection]:
    return {s.key: s for s in collect_sync(pm.hook.settings_sections)}


def section_for(pm, key: str) -> SettingsSection:
    found = sections(pm).get(key)
    if found is None:
        raise SettingsError(f"未知的设置项 / unknown settings section: {key!r}")
    return found


async def load(section: SettingsSection) -> Any:
    row = await Setting.select(Setting.value).where(Setting.key == section.key).first()
    if row is None:
        return section.schema()
    try:
        return msgspec.json.decode(row["value"], type=section.schema)
    except msgspec.ValidationError:
        return section.schema()  # a stored value from an older schema: fall back to defaults


_cache: dict[str, tuple[float, Any]] = {}


async def load_cached(section: SettingsSection, ttl: float = 60.0) -> Any:
    """`load`, remembered for `ttl` seconds: for settings read on every request. Saving through this
    process forgets it at once; other server processes see a change within `ttl`."""
    hit = _cache.get(section.key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    value = await load(section)
    _cache[section.key] = (time.monotonic() + ttl, value)
    return value


def forget_cached() -> None:
    """Drop every remembered section (after a restore, or between tests)."""
    _cache.clear()


def validate(section: SettingsSection, data: dict[str, Any], *, strict: bool = True) -> Any:
    """Check a submitted dict against the section's Struct: unknown keys and bad values are errors.

    `strict` (the JSON API) refuses a value of the wrong type, e.g. "400" for a number; the admin page's
    form sends every value as text and validates with `strict=False`, which parses such strings."""
    known = set(section.schema.__struct_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(f"未知的设置 / unknown setting: {', '.join(unknown)}")
    current = msgspec.to_builtins(section.schema())
    current.update(data)
    try:
        return msgspec.convert(current, type=section.schema, strict=strict)
    except (msgspec.ValidationError, ValueError) as exc:
        raise SettingsError(f"设置无效 / invalid setting: {exc}") from exc


async def save(section: SettingsSection, data: dict[str, Any], actor: Actor, *, strict: bool = True) -> Any:
    before = await load(section)
    merged = msgspec.to_builtins(before)
    merged.update(data)
    value = validate(section, merged, strict=strict)
    encoded = msgspec.json.encode(value).decode()
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        exists = await Setting.exists().where(Setting.key == section.key)
        if exists:
            await Setting.update({Setting.value: encoded, Setting.updated_at: now}).where(Setting.key == section.key)
        else:
            await Setting.insert(Setting(key=section.key, value=encoded, updated_at=now))
        await record(actor, "update", "settings", section.key,
                     diff=diff_of(msgspec.to_builtins(before), msgspec.to_builtins(value)))
    _cache.pop(section.key, None)
    return value
