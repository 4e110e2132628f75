"""The seeded roles — 管理员 admin, 销售经理 manager, 销售 sales — and keeping their grants current.

Admin holds every permission with scope "all"; managers get record permissions over their department
and below, salespeople over their own records (`default_scope`). A permission is seeded
into a built-in role once; an admin who later removes it is not overruled.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from core.db import write_tx
from core.hooktypes import Permission
from core.perms.registry import all_permissions
from core.perms.tables import Role, RoleGrant
from core.settings.tables import Setting

BUILTIN = {"admin": "管理员", "manager": "销售经理", "sales": "销售"}
ADMIN_ONLY_RESOURCES = {"users", "org", "roles", "audit", "settings", "licence", "backup", "plugins", "loginlog"}
MANAGER_EXTRA = {"users:read", "loginlog:read"}
SEEDED_KEY = "builtin_roles.seeded"


def default_scope(role: str, permission: Permission) -> str | None:
    resource = permission.key.split(":", 1)[0]
    if role == "admin":
        return "all"
    if resource in ADMIN_ONLY_RESOURCES and permission.key not in MANAGER_EXTRA:
        return None
    if role == "manager":
        return "subtree" if permission.scoped else "all"
    if permission.key in MANAGER_EXTRA or permission.key.endswith((":assign", ":settings", ":import", ":purge")):
        return None
    return "own" if permission.scoped else "all"


async def sync_builtin_roles(pm) -> int:
    """Create missing built-in roles and seed permissions they have not seen yet. Returns grants added."""
    perms = all_permissions(pm)
    added = 0
    async with write_tx():
        row = await Setting.select(Setting.value).where(Setting.key == SEEDED_KEY).first()
        seeded: dict[str, list[str]] = msgspec.json.decode(row["value"]) if row else {}
        for key, name in BUILTIN.items():
            role = await Role.select(Role.id).where(Role.key == key).first()
            if role is None:
                role = (await Role.insert(Role(key=key, name=name, builtin=True)).returning(Role.id))[0]
            done = set(seeded.get(key, []))
            for perm in perms:
                if perm.key in done:
                    continue
                scope = default_scope(key, perm)
                if scope and not await RoleGrant.exists().where(
                        (RoleGrant.role == role["id"]) & (RoleGrant.permission == perm.key)):
                    await RoleGrant.insert(RoleGrant(role=role["id"], permission=perm.key, scope=scope))
                    added += 1
                done.add(perm.key)
            seeded[key] = sorted(done)
        value = msgspec.json.encode(seeded).decode()
        if row:
            await Setting.update({Setting.value: value}).where(Setting.key == SEEDED_KEY)
        else:
            await Setting.insert(Setting(key=SEEDED_KEY, value=value, updated_at=dt.datetime.now(dt.UTC)))
    return added
