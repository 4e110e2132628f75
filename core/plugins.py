"""The plugin host: discovery through entry points, licence gating, and calling hooks."""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Iterable
from functools import cache
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import msgspec
import pluggy
import structlog

from core import hookspecs
from core.hooktypes import PluginManifest
from core.licence import LICENSED_MODULES, LicenceStatus

ENTRY_POINT_GROUP = "waihubao.plugins"
EXTRA_PLUGINS_ENV = "WAIHUBAO_EXTRA_PLUGINS"

log = structlog.get_logger(__name__)


class PluginInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    title: str
    version: str
    module: str | None
    enabled: bool
    builtin: bool


def _extra_modules() -> list[str]:
    """Plugin modules named in `WAIHUBAO_EXTRA_PLUGINS` (comma-separated): for development and tests."""
    return [m.strip() for m in os.environ.get(EXTRA_PLUGINS_ENV, "").split(",") if m.strip()]


def manifest_of(plugin: object) -> PluginManifest:
    manifest = getattr(plugin, "MANIFEST", None)
    if not isinstance(manifest, PluginManifest):
        name = getattr(plugin, "__name__", repr(plugin))
        raise pluggy.PluginValidationError(plugin, f"plugin {name} has no MANIFEST (core.hooktypes.PluginManifest)")
    return manifest


def build(status: LicenceStatus | None) -> pluggy.PluginManager:
    """A plugin manager holding every plugin the licence allows (all of them when `status` is None)."""
    pm = pluggy.PluginManager("waihubao")
    pm.add_hookspecs(hookspecs)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if status is not None and ep.name in LICENSED_MODULES and not status.allows(ep.name):
            pm.set_blocked(ep.name)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for path in _extra_modules():
        module = importlib.import_module(path)
        manifest = manifest_of(module)
        if status is not None and manifest.module in LICENSED_MODULES and not status.allows(manifest.module):
            pm.set_blocked(manifest.name)
            continue
        if pm.get_plugin(manifest.name) is None:
            pm.register(module, name=manifest.name)
    for plugin in pm.get_plugins():
        manifest_of(plugin)
        published = getattr(plugin, "HOOKSPECS", None)
        if published is not None:
            pm.add_hookspecs(published)
    pm.check_pending()
    return pm


@cache
def _installed() -> tuple[dict[str, str], frozenset[str]]:
    """Entry-point names with their distribution versions, and which are built in (scanning the
    installed distributions is slow, and they do not change while the process runs)."""
    eps = list(entry_points(group=ENTRY_POINT_GROUP))
    versions = {ep.name: ep.dist.version if ep.dist else "" for ep in eps}
    return versions, frozenset(ep.name for ep in eps if ep.value.startswith(("core.", "plugins.")))


def infos(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Every installed plugin, enabled or blocked by the licence, for the admin page and the API."""
    rows: dict[str, PluginInfo] = {}
    versions, builtin = _installed()
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        manifest = manifest_of(plugin)
        rows[name] = PluginInfo(
            name=name,
            title=manifest.title,
            version=manifest.version or versions.get(name, ""),
            module=manifest.module,
            enabled=True,
            builtin=name in builtin,
        )
    for name in versions:
        if name not in rows and pm.is_blocked(name):
            rows[name] = PluginInfo(
                name=name, title=name, version=versions[name], module=name, enabled=False, builtin=name in builtin
            )
    for path in _extra_modules():
        module = importlib.import_module(path)
        manifest = manifest_of(module)
        if manifest.name not in rows:
            rows[manifest.name] = PluginInfo(
                name=manifest.name, title=manifest.title, version=manifest.version,
                module=manifest.module, enabled=False, builtin=False,
            )
    return sorted(rows.values(), key=lambda p: (not p.builtin, p.name))


def flatten(results: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for result in results:
        if result is None:
            continue
        if isinstance(result, list | tuple):
            out.extend(result)
        else:
            out.append(result)
    return out


async def collect(hook: Any, **kwargs: Any) -> list[Any]:
    """Call a list-returning hook and await async implementations; the lists are concatenated."""
    results = []
    for result in hook(**kwargs):
        if inspect.isawaitable(result):
            result = await result
        results.append(result)
    return flatten(results)


def collect_sync(hook: Any, **kwargs: Any) -> list[Any]:
    return flatten(hook(**kwargs))


async def call_published(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> list[Any] | None:
    """Call a hook that another plugin publishes (its module's `HOOKSPECS`); None when that plugin is
    not installed or not licensed, so callers degrade instead of importing each other."""
    hook = getattr(pm.hook, name, None)
    if hook is None or not hook.has_spec():
        return None
    return await collect(hook, **kwargs)


def plugin_module(plugin: object) -> ModuleType | None:
    return plugin if isinstance(plugin, ModuleType) else None
