"""All permissions: core's own and what plugins declare through the `permissions` hook."""

from __future__ import annotations

from core.hooktypes import Permission
from core.plugins import collect_sync


def all_permissions(pm) -> list[Permission]:
    seen: dict[str, Permission] = {}
    for perm in collect_sync(pm.hook.permissions):
        if ":" not in perm.key:
            raise ValueError(f"permission {perm.key!r} is not of the form resource:action")
        seen.setdefault(perm.key, perm)
    return sorted(seen.values(), key=lambda p: p.key)
