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


_SCALARS = (msgspec.inspect.StrType, msgspec.inspect.IntType, msgspec.inspect.FloatType)
_SEQUENCES = (msgspec.inspect.ListType, msgspec.inspect.SetType, msgspec.inspect.FrozenSetType,
              msgspec.inspect.VarTupleType)


def _bare(kind: msgspec.inspect.Type) -> msgspec.inspect.Type:
    """The type under `Annotated[T, Meta(title=..., description=...)]` (type_info wraps it in `Metadata`)."""
    while isinstance(kind, msgspec.inspect.Metadata):
        kind = kind.type
    return kind


def _doc(kind: msgspec.inspect.Type) -> dict[str, Any]:
    """title/description of an annotated field (the outermost Meta that says them wins)."""
    doc: dict[str, Any] = {}
    while isinstance(kind, msgspec.inspect.Metadata):
        for name, value in (kind.extra_json_schema or {}).items():
            doc.setdefault(name, value)
        kind = kind.type
    if isinstance(kind, msgspec.inspect.UnionType):  # Annotated[T, Meta(...)] | None
        for member in kind.types:
            for name, value in _doc(member).items():
                doc.setdefault(name, value)
    return doc


def _form_kind(kind: msgspec.inspect.Type) -> str:
    """How a field is edited on the page: a checkbox, a number, a line of text, a choice, one item per line,
    or JSON (lists of records, mappings and nested Structs)."""
    kind = _bare(kind)
    if isinstance(kind, msgspec.inspect.UnionType):
        others = [t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType)]
        return _form_kind(others[0]) if len(others) == 1 else "json"
    if isinstance(kind, msgspec.inspect.BoolType):
        return "bool"
    if isinstance(kind, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        return "number"
    if isinstance(kind, msgspec.inspect.LiteralType) and all(isinstance(v, str) for v in kind.values):
        return "choice"
    if isinstance(kind, _SEQUENCES) and isinstance(_bare(kind.item_type), _SCALARS):
        return "lines"
    if isinstance(kind, (msgspec.inspect.DictType, msgspec.inspect.StructType, *_SEQUENCES)):
        return "json"
    return "text"


def _fields(value: Any) -> list[dict[str, Any]]:
    """Each field of a section's value as the form shows it: `name` (the form and API key), `label` and `help`
    (from `Annotated[T, msgspec.Meta(title=..., description=...)]`, zh-CN msgids; the label falls back to the
    name), `kind`, the current `value` as text, and the `choices` of a Literal."""
    info = msgspec.inspect.type_info(type(value))
    out = []
    for field in info.fields:
        kind = _form_kind(field.type)
        doc = _doc(field.type)
        current = msgspec.to_builtins(getattr(value, field.name))
        if kind == "lines":
            current = "\n".join(str(item) for item in current)
        elif kind == "json":
            current = msgspec.json.format(msgspec.json.encode(current).decode(), indent=2)
        bare = _bare(field.type)
        out.append({"name": field.name, "label": doc.get("title") or field.name, "help": doc.get("description", ""),
                    "value": current, "kind": kind,
                    "choices": list(bare.values) if isinstance(bare, msgspec.inspect.LiteralType) else []})
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
    actor = actor_of(request)
    visible = [s for s in sections(host.current().pm).values() if actor.can(s.permission)]
    forms = [{"key": s.key, "label": s.label, "fields": _fields(await load(s)),
              "actions": sorted((a for a in s.actions if a.permission is None or actor.can(a.permission)),
                                key=lambda a: a.order)}
             for s in visible]
    return page("admin/settings.html", request, forms=forms, errors=errors or {}, saved=saved)


@get("/admin/settings", include_in_schema=False, opt={"permission": "settings:edit"})
async def settings_page(request: Request) -> Template:
    return await _settings_page(request)


def _from_form(section, form: dict[str, str]) -> dict[str, Any]:
    """Form fields are text: turn each into what its field's type expects (booleans come from checkboxes,
    lists one item per line, records as JSON); numbers are parsed by the lax validation."""
    info = msgspec.inspect.type_info(section.schema)
    data: dict[str, Any] = {}
    for field in info.fields:
        kind = _form_kind(field.type)
        if kind == "bool":
            data[field.name] = form.get(field.name) in ("on", "true", "1")
            continue
        if field.name not in form:
            continue
        text = form[field.name]
        if kind == "lines":
            data[field.name] = [line.strip() for line in text.splitlines() if line.strip()]
        elif kind == "json":
            try:
                data[field.name] = msgspec.json.decode(text)
            except msgspec.DecodeError as exc:
                raise SettingsError(f"{field.name}: 不是有效的 JSON / not valid JSON ({exc})") from exc
        elif not text.strip() and isinstance(_bare(field.type), msgspec.inspect.UnionType):
            data[field.name] = None
        else:
            data[field.name] = text
    return data


@post("/admin/settings/{key:str}", include_in_schema=False, status_code=200)
async def settings_form(request: Request, key: FromPath[str],
                        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template:
    section = _section(request, key)
    try:
        await save(section, _from_form(section, data), actor_of(request), strict=False)
    except SettingsError as exc:
        return await _settings_page(request, errors={key: str(exc)})
    return await _settings_page(request, saved=key)


ROUTES = [get_settings, put_settings, settings_page, settings_form]
