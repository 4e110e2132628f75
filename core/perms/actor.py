"""Who is acting: a user (browser session or API token) or the system (jobs, CLI)."""

from __future__ import annotations

import msgspec

SCOPES = ("own", "department", "subtree", "all")
SCOPE_RANK = {scope: rank for rank, scope in enumerate(SCOPES)}


class Actor(msgspec.Struct, kw_only=True):
    user_id: int | None
    username: str
    display_name: str
    department_id: int | None = None
    grants: dict[str, str] = {}  # permission -> widest scope over all roles
    role_keys: list[str] = []
    customer_types: list[str] | None = None  # None: every type
    ip: str = ""
    request_id: str = ""
    session_id: int | None = None
    token_id: int | None = None
    lang: str = "zh-CN"
    system: bool = False

    def can(self, permission: str) -> bool:
        return self.system or permission in self.grants

    def scope_of(self, permission: str) -> str | None:
        return "all" if self.system else self.grants.get(permission)

    @property
    def is_admin(self) -> bool:
        return self.system or "admin" in self.role_keys


def system_actor(reason: str = "system") -> Actor:
    return Actor(user_id=None, username=reason, display_name="系统", system=True)


def widest(a: str | None, b: str) -> str:
    return b if a is None or SCOPE_RANK[b] > SCOPE_RANK[a] else a
