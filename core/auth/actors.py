"""Loading an `Actor` (roles, widest scope per permission, allowed customer types) for a user."""

from __future__ import annotations

from core.auth.tables import User
from core.perms.actor import Actor, widest
from core.perms.tables import Role, RoleGrant, UserRole


async def load_actor(user_id: int, **context) -> Actor | None:
    user = await User.select(
        User.id, User.username, User.display_name, User.department, User.active, User.lang
    ).where(User.id == user_id).first()
    if user is None or not user["active"]:
        return None
    role_ids = [r["role"] for r in await UserRole.select(UserRole.role).where(UserRole.user == user_id)]
    roles = []
    if role_ids:
        roles = await Role.select(Role.id, Role.key, Role.customer_types).where(Role.id.is_in(role_ids))
    grants: dict[str, str] = {}
    if role_ids:
        query = RoleGrant.select(RoleGrant.permission, RoleGrant.scope).where(RoleGrant.role.is_in(role_ids))
        for grant in await query:
            grants[grant["permission"]] = widest(grants.get(grant["permission"]), grant["scope"])
    types: set[str] | None = set()
    for role in roles:
        allowed = [t for t in role["customer_types"].split(",") if t]
        if not allowed:
            types = None
            break
        types.update(allowed)
    return Actor(
        user_id=user["id"],
        username=user["username"],
        display_name=user["display_name"],
        department_id=user["department"],
        grants=grants,
        role_keys=[r["key"] for r in roles],
        customer_types=sorted(types) if types is not None else None,
        lang=user["lang"] or "zh-CN",
        **context,
    )
