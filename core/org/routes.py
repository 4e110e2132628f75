"""人员 / 部门 / 职位: users and the organisation, as pages and under /api/v1."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import Request, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import Body, FromPath, JSONBody
from litestar.response import Template

from core import host
from core.audit.log import record
from core.auth.tables import User
from core.db import write_tx
from core.org.tables import Department, Position
from core.org.users import UserError, create_user, update_user
from core.perms.tables import Role, UserRole
from core.web.responses import actor_of, page

USERS_READ = {"permission": "users:read"}
USERS_EDIT = {"permission": "users:edit"}
ORG_EDIT = {"permission": "org:edit"}


class UserOut(msgspec.Struct):
    id: int
    username: str
    display_name: str
    department_id: int | None
    department: str
    active: bool
    roles: list[str]
    ip_exempt: bool
    last_login_at: str | None


class UserIn(msgspec.Struct):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    display_name: Annotated[str, msgspec.Meta(max_length=100)] = ""
    roles: list[str] = msgspec.field(default_factory=lambda: ["sales"])
    department_id: int | None = None


class UserPatch(msgspec.Struct, omit_defaults=True):
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    department_id: int | None = None
    roles: list[str] | None = None
    active: bool | None = None
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    ip_exempt: bool | None = None


class DepartmentOut(msgspec.Struct):
    id: int
    name: str
    parent_id: int | None
    members: int


class DepartmentIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    parent_id: int | None = None


async def users_out() -> list[UserOut]:
    users = await User.select(User.id, User.username, User.display_name, User.department, User.active,
                              User.ip_exempt, User.last_login_at, User.department.name.as_alias("dept_name")
                              ).order_by(User.id)
    links = await UserRole.select(UserRole.user, UserRole.role.key.as_alias("key"))
    roles: dict[int, list[str]] = {}
    for link in links:
        roles.setdefault(link["user"], []).append(link["key"])
    return [UserOut(id=u["id"], username=u["username"], display_name=u["display_name"],
                    department_id=u["department"], department=u["dept_name"] or "", active=u["active"],
                    roles=sorted(roles.get(u["id"], [])), ip_exempt=u["ip_exempt"],
                    last_login_at=u["last_login_at"].isoformat() if u["last_login_at"] else None) for u in users]


def _user_error(exc: UserError) -> ValidationException:
    return ValidationException(str(exc))


@get("/api/v1/users", tags=["org"], opt=USERS_READ)
async def list_users() -> list[UserOut]:
    return await users_out()


@post("/api/v1/users", tags=["org"], opt=USERS_EDIT, status_code=201)
async def api_create_user(request: Request, data: JSONBody[UserIn]) -> UserOut:
    """Create a user; refused when every licensed seat is taken."""
    try:
        user_id = await create_user(username=data.username, password=data.password, display_name=data.display_name,
                                    role_keys=data.roles, department_id=data.department_id,
                                    licence=host.current().refresh_licence(), actor=actor_of(request))
    except UserError as exc:
        raise _user_error(exc) from exc
    return next(u for u in await users_out() if u.id == user_id)


async def _patch_user(request: Request, user_id: int, data: UserPatch) -> None:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
    if "department_id" in changes:
        changes["department"] = changes.pop("department_id")
    if user_id == actor_of(request).user_id and changes.get("active") is False:
        raise ValidationException("不能停用自己 / you cannot disable yourself")
    try:
        await update_user(user_id, changes, actor_of(request), host.current().refresh_licence())
    except UserError as exc:
        if "no such user" in str(exc):
            raise NotFoundException(str(exc)) from exc
        raise _user_error(exc) from exc


@patch("/api/v1/users/{user_id:int}", tags=["org"], opt=USERS_EDIT)
async def api_update_user(request: Request, user_id: FromPath[int], data: JSONBody[UserPatch]) -> UserOut:
    """Change a user; disabling ends their sessions, re-enabling needs a free seat."""
    await _patch_user(request, user_id, data)
    return next(u for u in await users_out() if u.id == user_id)


async def departments_out() -> list[DepartmentOut]:
    depts = await Department.select().order_by(Department.sort).order_by(Department.id)
    counts: dict[int, int] = {}
    for u in await User.select(User.department).where(User.department.is_not_null()):
        counts[u["department"]] = counts.get(u["department"], 0) + 1
    return [DepartmentOut(id=d["id"], name=d["name"], parent_id=d["parent"], members=counts.get(d["id"], 0))
            for d in depts]


@get("/api/v1/departments", tags=["org"], opt=USERS_READ)
async def list_departments() -> list[DepartmentOut]:
    return await departments_out()


async def _create_department(request: Request, data: DepartmentIn) -> int:
    if data.parent_id is not None and not await Department.exists().where(Department.id == data.parent_id):
        raise ValidationException("上级部门不存在 / no such parent department")
    async with write_tx():
        rows = await Department.insert(Department(name=data.name.strip(), parent=data.parent_id,
                                                  created_at=dt.datetime.now(dt.UTC))).returning(Department.id)
        await record(actor_of(request), "create", "department", rows[0]["id"],
                     diff={"name": [None, data.name], "parent": [None, data.parent_id]})
    return rows[0]["id"]


@post("/api/v1/departments", tags=["org"], opt=ORG_EDIT, status_code=201)
async def api_create_department(request: Request, data: JSONBody[DepartmentIn]) -> DepartmentOut:
    dept_id = await _create_department(request, data)
    return next(d for d in await departments_out() if d.id == dept_id)


# ---- pages -----------------------------------------------------------------------------------

class UserForm(msgspec.Struct):
    username: str = ""
    password: str = ""
    display_name: str = ""
    role: str = "sales"
    department_id: str = ""


class DepartmentForm(msgspec.Struct):
    name: str = ""
    parent_id: str = ""


def _opt_int(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


async def _users_page(request: Request, error: str | None = None, notice: str | None = None) -> Template:
    return page("admin/users.html", request, users=await users_out(), departments=await departments_out(),
                roles=await Role.select(Role.key, Role.name).order_by(Role.id), error=error, notice=notice,
                seats=host.current().licence.seats)


@get("/admin/users", include_in_schema=False, opt=USERS_READ)
async def users_page(request: Request) -> Template:
    return await _users_page(request)


@post("/admin/users", include_in_schema=False, opt=USERS_EDIT, status_code=200)
async def users_create_form(
    request: Request, data: Annotated[UserForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Template:
    try:
        await create_user(username=data.username, password=data.password, display_name=data.display_name,
                          role_keys=[data.role] if data.role else [], department_id=_opt_int(data.department_id),
                          licence=host.current().refresh_licence(), actor=actor_of(request))
    except UserError as exc:
        return await _users_page(request, error=str(exc))
    return await _users_page(request, notice=f"已创建 {data.username}")


@post("/admin/users/{user_id:int}/active/{active:int}", include_in_schema=False, opt=USERS_EDIT, status_code=200)
async def users_toggle(request: Request, user_id: FromPath[int], active: FromPath[int]) -> Template:
    try:
        await _patch_user(request, user_id, UserPatch(active=bool(active)))
    except ValidationException as exc:
        return await _users_page(request, error=str(exc.detail))
    return await _users_page(request)


@get("/admin/departments", include_in_schema=False, opt=ORG_EDIT)
async def departments_page(request: Request) -> Template:
    return page("admin/departments.html", request, departments=await departments_out(),
                positions=await Position.select().order_by(Position.sort), error=None)


@post("/admin/departments", include_in_schema=False, opt=ORG_EDIT, status_code=200)
async def departments_create_form(
    request: Request, data: Annotated[DepartmentForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Template:
    error = None
    if not data.name.strip():
        error = "部门名称不能为空 / a department needs a name"
    else:
        try:
            await _create_department(request, DepartmentIn(name=data.name, parent_id=_opt_int(data.parent_id)))
        except ValidationException as exc:
            error = str(exc.detail)
    return page("admin/departments.html", request, departments=await departments_out(),
                positions=await Position.select().order_by(Position.sort), error=error)


ROUTES = [list_users, api_create_user, api_update_user, list_departments, api_create_department, users_page,
          users_create_form, users_toggle, departments_page, departments_create_form]
