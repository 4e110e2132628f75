"""操作日志 and 登录日志: reading them needs their own permissions; IP 访问设置."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import Request, delete, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.response import Template

from core.audit.log import record
from core.audit.tables import AuditEvent
from core.auth.ip_rules import parse_cidr
from core.auth.tables import IpRule, LoginLog
from core.db import write_tx
from core.perms.scope import where_all
from core.web.responses import actor_of, page

PAGE_SIZE = 100


class AuditOut(msgspec.Struct):
    seq: int
    at: str
    actor_id: int | None
    actor_name: str
    ip: str
    action: str
    entity: str
    entity_id: str
    diff: str
    meta: str


class LoginLogOut(msgspec.Struct):
    at: str
    username: str
    ip: str
    user_agent: str
    success: bool
    reason: str


class IpRuleIn(msgspec.Struct):
    cidr: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    note: str = ""


class IpRuleOut(msgspec.Struct):
    id: int
    cidr: str
    note: str


def _parse_time(text: str | None, name: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationException(f"{name} 不是有效时间 / {name} is not an ISO date-time: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def query_audit(*, actor_id: int | None = None, entity: str | None = None, entity_id: str | None = None,
                      action: str | None = None, since: str | None = None, until: str | None = None,
                      before_seq: int | None = None, limit: int = PAGE_SIZE) -> list[AuditOut]:
    start, end = _parse_time(since, "since"), _parse_time(until, "until")
    clause = where_all(
        AuditEvent.actor_id == actor_id if actor_id is not None else None,
        AuditEvent.entity == entity if entity else None,
        AuditEvent.entity_id == entity_id if entity_id else None,
        AuditEvent.action == action if action else None,
        AuditEvent.at >= start if start else None,
        AuditEvent.at < end if end else None,
        AuditEvent.seq < before_seq if before_seq else None,
    )
    query = AuditEvent.select().order_by(AuditEvent.seq, ascending=False).limit(max(1, min(limit, 1000)))
    if clause is not None:
        query = query.where(clause)
    return [AuditOut(seq=r["seq"], at=r["at"].isoformat(), actor_id=r["actor_id"], actor_name=r["actor_name"],
                     ip=r["ip"], action=r["action"], entity=r["entity"], entity_id=r["entity_id"], diff=r["diff"],
                     meta=r["meta"]) for r in await query]


@get("/api/v1/audit", tags=["audit"], opt={"permission": "audit:read"})
async def audit_api(actor_id: FromQuery[int | None] = None, entity: FromQuery[str | None] = None,
                    entity_id: FromQuery[str | None] = None, action: FromQuery[str | None] = None,
                    since: FromQuery[str | None] = None, until: FromQuery[str | None] = None,
                    before_seq: FromQuery[int | None] = None, limit: FromQuery[int] = PAGE_SIZE) -> list[AuditOut]:
    """The operation log, newest first; filter by actor, entity, action and time; page with `before_seq`."""
    return await query_audit(actor_id=actor_id, entity=entity, entity_id=entity_id, action=action, since=since,
                             until=until, before_seq=before_seq, limit=limit)


@get("/admin/audit", include_in_schema=False, opt={"permission": "audit:read"})
async def audit_page(request: Request, actor_id: FromQuery[int | None] = None,
                     entity: FromQuery[str | None] = None, action: FromQuery[str | None] = None,
                     before_seq: FromQuery[int | None] = None) -> Template:
    rows = await query_audit(actor_id=actor_id, entity=entity, action=action, before_seq=before_seq)
    template = "admin/_audit_rows.html" if request.headers.get("hx-request") else "admin/audit.html"
    return page(template, request, rows=rows, filters={"actor_id": actor_id or "", "entity": entity or "",
                                                         "action": action or ""})


async def login_log(limit: int = PAGE_SIZE, before: str | None = None) -> list[LoginLogOut]:
    query = LoginLog.select().order_by(LoginLog.at, ascending=False).limit(max(1, min(limit, 1000)))
    start = _parse_time(before, "before")
    if start:
        query = query.where(LoginLog.at < start)
    return [LoginLogOut(at=r["at"].isoformat(), username=r["username"], ip=r["ip"], user_agent=r["user_agent"],
                        success=r["success"], reason=r["reason"]) for r in await query]


@get("/api/v1/login-log", tags=["audit"], opt={"permission": "loginlog:read"})
async def login_log_api(limit: FromQuery[int] = PAGE_SIZE, before: FromQuery[str | None] = None) -> list[LoginLogOut]:
    return await login_log(limit, before)


@get("/admin/login-log", include_in_schema=False, opt={"permission": "loginlog:read"})
async def login_log_page(request: Request) -> Template:
    return page("admin/login_log.html", request, rows=await login_log())


async def _ip_rules() -> list[IpRuleOut]:
    return [IpRuleOut(id=r["id"], cidr=r["cidr"], note=r["note"]) for r in await IpRule.select().order_by(IpRule.id)]


async def _add_ip_rule(request: Request, data: IpRuleIn) -> IpRuleOut:
    try:
        network = str(parse_cidr(data.cidr))
    except ValueError as exc:
        raise ValidationException(str(exc)) from exc
    async with write_tx():
        rule_id = (await IpRule.insert(IpRule(cidr=network, note=data.note, created_at=dt.datetime.now(dt.UTC)))
                   .returning(IpRule.id))[0]["id"]
        await record(actor_of(request), "create", "ip_rule", rule_id, diff={"cidr": [None, network]})
    return IpRuleOut(id=rule_id, cidr=network, note=data.note)


@get("/api/v1/ip-rules", tags=["audit"], opt={"permission": "settings:edit"})
async def ip_rules_api() -> list[IpRuleOut]:
    return await _ip_rules()


@post("/api/v1/ip-rules", tags=["audit"], opt={"permission": "settings:edit"}, status_code=201)
async def ip_rule_create(request: Request, data: JSONBody[IpRuleIn]) -> IpRuleOut:
    """Allow sign-in from a network (CIDR). With at least one rule, other networks are refused."""
    return await _add_ip_rule(request, data)


@delete("/api/v1/ip-rules/{rule_id:int}", tags=["audit"], opt={"permission": "settings:edit"}, status_code=204)
async def ip_rule_delete(request: Request, rule_id: FromPath[int]) -> None:
    async with write_tx():
        row = await IpRule.select().where(IpRule.id == rule_id).first()
        if row is None:
            raise NotFoundException("规则不存在 / no such rule")
        await IpRule.delete().where(IpRule.id == rule_id)
        await record(actor_of(request), "delete", "ip_rule", rule_id, diff={"cidr": [row["cidr"], None]})


@get("/admin/ip-rules", include_in_schema=False, opt={"permission": "settings:edit"})
async def ip_rules_page(request: Request) -> Template:
    return page("admin/ip_rules.html", request, rules=await _ip_rules(), error=None)


@post("/admin/ip-rules", include_in_schema=False, opt={"permission": "settings:edit"}, status_code=200)
async def ip_rules_form(request: Request,
                        data: Annotated[IpRuleIn, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template:
    error = None
    try:
        await _add_ip_rule(request, data)
    except ValidationException as exc:
        error = str(exc.detail)
    return page("admin/ip_rules.html", request, rules=await _ip_rules(), error=error)


ROUTES = [audit_api, audit_page, login_log_api, login_log_page, ip_rules_api, ip_rule_create, ip_rule_delete,
          ip_rules_page, ip_rules_form]
