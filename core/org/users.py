"""Creating, changing, enabling and disabling users — with seats enforced and every change audited."""

from __future__ import annotations

import datetime as dt

from core.audit.log import diff_of, record
from core.auth import sessions
from core.auth.passwords import check_strength, hash_password
from core.auth.tables import User
from core.db import write_tx
from core.licence import LicenceStatus
from core.org.tables import Department
from core.perms.actor import Actor
from core.perms.tables import Role, UserRole


class UserError(ValueError):
    pass


async def _check_seat(licence: LicenceStatus) -> None:
    active = await User.count().where(User.active == True)  # noqa: E712
    if active >= licence.seats:
        raise UserError(
            f"许可证席位已满（{licence.seats} 个）/ all {licence.seats} licensed seats are in use: "
            "disable a user or upgrade the licence"
        )


async def _role_ids(keys: list[str]) -> list[int]:
    rows = await Role.select(Role.id, Role.key).where(Role.key.is_in(keys)) if keys else []
    missing = sorted(set(keys) - {r["key"] for r in rows})
    if missing:
        raise UserError(f"未知角色 / unknown role: {', '.join(missing)}")
    return [r["id"] for r in rows]


async def create_user(
    *,
    username: str,
    password: str,
    display_name: str = "",
    role_keys: list[str],
    department_id: int | None = None,
    licence: LicenceStatus,
    actor: Actor,
) -> int:
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise UserError("用户名不能为空、不能含空格、最长 64 位 / username must be 1–64 characters without spaces")
    try:
        check_strength(password)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    role_ids = await _role_ids(role_keys)
    if department_id is not None and not await Department.exists().where(Department.id == department_id):
        raise UserError(f"部门不存在 / no such department: {department_id}")
    password_hash = await hash_password(password)
    async with write_tx():
        if await User.exists().where(User.username == username):
            raise UserError(f"用户名已存在 / username already taken: {username}")
        await _check_seat(licence)
        rows = await User.insert(User(
            username=username, display_name=display_name or username, password_hash=password_hash,
            department=department_id, active=True, created_at=dt.datetime.now(dt.UTC),
        )).returning(User.id)
        user_id = rows[0]["id"]
        if role_ids:
            await UserRole.insert(*[UserRole(user=user_id, role=rid) for rid in role_ids])
        await record(actor, "create", "user", user_id, diff={
            "username": [None, username], "department": [None, department_id], "roles": [None, role_keys]})
    return user_id


async def update_user(user_id: int, changes: dict, actor: Actor, licence: LicenceStatus) -> None:
    """Change display name, department, roles, active flag, password or IP exemption."""
    before = await User.select().where(User.id == user_id).first()
    if before is None:
        raise UserError("用户不存在 / no such user")
    values: dict = {}
    for key in ("display_name", "department", "ip_exempt", "lang", "phone", "email"):
        if key in changes:
            values[getattr(User, key)] = changes[key]
    if "password" in changes:
        try:
            check_strength(changes["password"])
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        values[User.password_hash] = await hash_password(changes["password"])
    role_ids = await _role_ids(changes["roles"]) if "roles" in changes else None
    async with write_tx():
        if changes.get("active") is True and not before["active"]:
            await _check_seat(licence)
        if "active" in changes:
            values[User.active] = bool(changes["active"])
        if values:
            await User.update(values).where(User.id == user_id)
        if role_ids is not None:
            await UserRole.delete().where(UserRole.user == user_id)
            if role_ids:
                await UserRole.insert(*[UserRole(user=user_id, role=rid) for rid in role_ids])
        after = await User.select().where(User.id == user_id).first()
        diff = diff_of(before, after)
        if "password" in changes:
            diff["password"] = ["***", "***"]
        if "roles" in changes:
            diff["roles"] = [None, changes["roles"]]
        await record(actor, "update", "user", user_id, diff=diff)
    if changes.get("active") is False or "password" in changes:
        await sessions.end_all_for(user_id)
