"""角色权限: roles, their grants with scopes, and allowed customer types."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post, put
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.response import Template

from core import host
from core.audit.log import record
from core.db import write_tx
from core.perms.actor import SCOPES
from core.perms.registry import all_permissions
from core.perms.tables import Role, RoleGrant
from core.web.responses import actor_of, page

ROLES_EDIT = {"permission": "roles:edit"}


class GrantOut(msgspec.Struct):
    permission: str
    scope: str


class RoleOut(msgspec.Struct):
    id: int
    key: str
    name: str
    builtin: bool
    customer_types: list[str]
    grants: list[GrantOut]


class RoleIn(msgspec.Struct):
    key: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    customer_types: list[str] = []
    grants: list[GrantOut] = []


class GrantsIn(msgspec.Struct):
    grants: list[GrantOut]
    customer_types: list[str] | None = None


class PermissionOut(msgspec.Struct):
    key: str
    label: str
    label_en: str
    scoped: bool


async def roles_out() -> list[RoleOut]:
    roles = await Role.select().order_by(Role.id)
    grants: dict[int, list[GrantOut]] = {}
    for g in await RoleGrant.select().order_by(RoleGrant.permission):
        grants.setdefault(g["role"], []).append(GrantOut(permission=g["permission"], scope=g["scope"]))
    return [RoleOut(id=r["id"], key=r["key"], name=r["name"], builtin=r["builtin"],
                    customer_types=[t for t in r["customer_types"].split(",") if t], grants=grants.get(r["id"], []))
            for r in roles]


def _check_grants(grants: list[GrantOut]) -> None:
    known = {p.key for p in all_permissions(host.current().pm)}
    for grant in grants:
        if grant.permission not in known:
            raise ValidationException(f"未知权限 / unknown permission: {grant.permission}")
        if grant.scope not in SCOPES:
            raise ValidationException(f"未知范围 / unknown scope: {grant.scope} (own, department, subtree, all)")


async def _set_grants(request: Request, role_id: int, data: GrantsIn) -> None:
    _check_grants(data.grants)
    before = {g.permission: g.scope for r in await roles_out() if r.id == role_id for g in r.grants}
    async with write_tx():
        await RoleGrant.delete().where(RoleGrant.role == role_id)
        if data.grants:
            await RoleGrant.insert(*[RoleGrant(role=role_id, permission=g.permission, scope=g.scope)
                                     for g in data.grants])
        if data.customer_types is not None:
            await Role.update({Role.customer_types: ",".join(data.customer_types)}).where(Role.id == role_id)
        after = {g.permission: g.scope for g in data.grants}
        diff = {k: [before.get(k), after.get(k)]
                for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}
        await record(actor_of(request), "update", "role", role_id, diff=diff)


@get("/api/v1/permissions", tags=["roles"], opt=ROLES_EDIT)
async def list_permissions() -> list[PermissionOut]:
    return [PermissionOut(key=p.key, label=p.label, label_en=p.label_en, scoped=p.scoped)
            for p in all_permissions(host.current().pm)]


@get("/api/v1/roles", tags=["roles"], opt=ROLES_EDIT)
async def list_roles() -> list[RoleOut]:
    return await roles_out()


@post("/api/v1/roles", tags=["roles"], opt=ROLES_EDIT, status_code=201)
async def create_role(request: Request, data: JSONBody[RoleIn]) -> RoleOut:
    _check_grants(data.grants)
    if await Role.exists().where(Role.key == data.key):
        raise ValidationException(f"角色标识已存在 / role key already exists: {data.key}")
    async with write_tx():
        role_id = (await Role.insert(Role(key=data.key, name=data.name, builtin=False,
                                          customer_types=",".join(data.customer_types))).returning(Role.id))[0]["id"]
        await record(actor_of(request), "create", "role", role_id, diff={"key": [None, data.key]})
        await _set_grants(request, role_id, GrantsIn(grants=data.grants))
    return next(r for r in await roles_out() if r.id == role_id)


@put("/api/v1/roles/{role_id:int}/grants", tags=["roles"], opt=ROLES_EDIT)
async def put_grants(request: Request, role_id: FromPath[int], data: JSONBody[GrantsIn]) -> RoleOut:
    """Replace a role's grants (each a permission with a scope) and, optionally, its customer types."""
    if not await Role.exists().where(Role.id == role_id):
        raise NotFoundException("角色不存在 / no such role")
    await _set_grants(request, role_id, data)
    return next(r for r in await roles_out() if r.id == role_id)


async def _roles_page(request: Request, role: int | None, saved: bool) -> Template:
    roles = await roles_out()
    current = next((r for r in roles if r.id == role), roles[0] if roles else None)
    return page("admin/roles.html", request, roles=roles, current=current, scopes=SCOPES, saved=saved,
                permissions=all_permissions(host.current().pm),
                granted={g.permission: g.scope for g in current.grants} if current else {})


@get("/admin/roles", include_in_schema=False, opt=ROLES_EDIT)
async def roles_page(request: Request, role: FromQuery[int | None] = None) -> Template:
    return await _roles_page(request, role, saved=False)


@post("/admin/roles/{role_id:int}", include_in_schema=False, opt=ROLES_EDIT, status_code=200)
async def roles_save_form(
    request: Request, role_id: FromPath[int],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    """The role editor posts one field per permission (`perm:<key>` = scope or empty)."""
    if not await Role.exists().where(Role.id == role_id):
        raise NotFoundException("角色不存在 / no such role")
    grants = [GrantOut(permission=k.removeprefix("perm:"), scope=v) for k, v in data.items()
              if k.startswith("perm:") and v]
    types = [t.strip() for t in data.get("customer_types", "").replace("，", ",").split(",") if t.strip()]
    await _set_grants(request, role_id, GrantsIn(grants=grants, customer_types=types))
    return await _roles_page(request, role_id, saved=True)


ROUTES = [list_permissions, list_roles, create_role, put_grants, roles_page, roles_save_form]
