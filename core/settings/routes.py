"""Settings pages and API: every section from the `settings_sections` hook, validated by its Struct."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post, put
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from litestar.params import Body, FromPath, JSONBody
from litestar.response import Template

from core import host
from core.settings.store import SettingsError, load, save, sections
from core.web.responses import actor_of, page


def _section(request: Request, key: str):
    found = sections(host.current().pm).get(key)
    if found is None:
        raise NotFoundException(f"未知的设置项 / unknown settings section: {key}")
    if not actor_of(request).can(found.permission):
        raise PermissionDeniedException(f"没有权限 / permission required: {found.permission}")
    return found


def _fields(value: Any) -> list[dict[str, Any]]:
    info = msgspec.inspect.type_info(type(value))
    out = []
    for field in info.fields:
        kind = type(field.type).__name__
        out.append({"name": field.name, "value": getattr(value, field.name), "kind": kind})
    return out


@get("/api/v1/settings/{key:str}", tags=["settings"])
async def get_settings(request: Request, key: FromPath[str]) -> dict[str, Any]:
    return msgspec.structs.asdict(await load(_section(request, key)))


@put("/api/v1/settings/{key:str}", tags=["settings"])
async def put_settings(request: Request, key: FromPath[str], data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    """Change some settings of a section; unknown names and invalid values are refused, nothing is saved."""
    try:
        value = await save(_section(request, key), data, actor_of(request))
    except SettingsError as exc:
        raise ValidationException(str(exc)) from exc
    return msgspec.structs.asdict(value)


async def _settings_page(request: Request, errors: dict[str, str] | None = None, saved: str = "") -> Template:
    visible = [s for s in sections(host.current().pm).values() if actor_of(request).can(s.permission)]
    forms = [{"key": s.key, "label": s.label, "fields": _fields(await load(s))} for s in visible]
    return page("admin/settings.html", request, forms=forms, errors=errors or {}, saved=saved)


@get("/admin/settings", include_in_schema=False, opt={"permission": "settings:edit"})
async def settings_page(request: Request) -> Template:
    return await _settings_page(request)


def _from_form(section, form: dict[str, str]) -> dict[str, Any]:
    """Form fields are strings: turn them into the Struct's field types (booleans come from checkboxes)."""
    info = msgspec.inspect.type_info(section.schema)
    data: dict[str, Any] = {}
    for field in info.fields:
        kind = field.type
        if isinstance(kind, msgspec.inspect.BoolType):
            data[field.name] = form.get(field.name) in ("on", "true", "1")
        elif field.name in form:
            data[field.name] = form[field.name]
    return data


@post("/admin/settings/{key:str}", include_in_schema=False, status_code=200)
async def settings_form(request: Request, key: FromPath[str],
                        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template:
    section = _section(request, key)
    try:
        await save(section, _from_form(section, data), actor_of(request))
    except SettingsError as exc:
        return await _settings_page(request, errors={key: str(exc)})
    return await _settings_page(request, saved=key)


ROUTES = [get_settings, put_settings, settings_page, settings_form]
