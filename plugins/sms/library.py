"""常用短信: saved texts with fields. Everyone sees their own and the shared ones; sharing needs sms:settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.exceptions import NotFoundException, PermissionDeniedException
from piccolo.columns.combination import Or

from core.audit.log import record
from core.db import write_tx
from core.perms.actor import Actor
from plugins.sms import fill, segments
from plugins.sms.errors import sms_error
from plugins.sms.schemas import TemplateIn, TemplateOut, TemplatePatch
from plugins.sms.tables import SmsTemplate

MANAGE = "sms:settings"


def out(r: dict[str, Any]) -> TemplateOut:
    return TemplateOut(id=r["id"], name=r["name"], body=r["body"], shared=r["shared"], owner_id=r["owner"],
                       fields=fill.fields_in(r["body"]), parts=segments.count(r["body"]).parts)


def _visible(actor: Actor) -> Any:
    if actor.system or actor.can(MANAGE):
        return None
    return Or(SmsTemplate.shared == True, SmsTemplate.owner == actor.user_id)  # noqa: E712


def check_body(body: str) -> None:
    if not body.strip():
        raise sms_error("短信内容不能为空", "the text is empty")
    unknown = fill.unknown_fields(body)
    if unknown:
        names = ", ".join("{" + u + "}" for u in unknown)
        raise sms_error(f"未知字段 {names}，可用字段：{{客户名称}} {{联系人}} {{手机号}}", f"unknown field(s) {names}")


async def listing(actor: Actor) -> list[TemplateOut]:
    query = SmsTemplate.select().order_by(SmsTemplate.name)
    clause = _visible(actor)
    return [out(r) for r in await (query.where(clause) if clause is not None else query)]


async def get(actor: Actor, template_id: int) -> TemplateOut:
    clause = _visible(actor)
    where = SmsTemplate.id == template_id
    row = await SmsTemplate.select().where(where & clause if clause is not None else where).first()
    if row is None:
        raise NotFoundException("短信模板不存在 / template not found")
    return out(row)


async def create(actor: Actor, data: TemplateIn) -> TemplateOut:
    check_body(data.body)
    if data.shared and not actor.can(MANAGE):
        raise PermissionDeniedException("共享模板需要短信设置权限 / sharing a template needs sms:settings")
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        rows = await SmsTemplate.insert(SmsTemplate(
            name=data.name.strip(), body=data.body, shared=data.shared, owner=actor.user_id,
            department=actor.department_id, created_at=now, updated_at=now)).returning(*SmsTemplate.all_columns())
        await record(actor, "create", "sms_template", rows[0]["id"], meta={"name": data.name})
    return out(rows[0])


async def _editable(actor: Actor, template_id: int) -> dict[str, Any]:
    row = await SmsTemplate.select().where(SmsTemplate.id == template_id).first()
    if row is None or not (actor.can(MANAGE) or row["owner"] == actor.user_id):
        raise NotFoundException("短信模板不存在 / template not found")
    return row


async def update(actor: Actor, template_id: int, patch: TemplatePatch) -> TemplateOut:
    row = await _editable(actor, template_id)
    values: dict[Any, Any] = {SmsTemplate.updated_at: dt.datetime.now(dt.UTC)}
    if patch.name is not None:
        values[SmsTemplate.name] = patch.name.strip()
    if patch.body is not None:
        check_body(patch.body)
        values[SmsTemplate.body] = patch.body
    if patch.shared is not None:
        if patch.shared != row["shared"] and not actor.can(MANAGE):
            raise PermissionDeniedException("共享模板需要短信设置权限 / sharing a template needs sms:settings")
        values[SmsTemplate.shared] = patch.shared
    async with write_tx():
        rows = await SmsTemplate.update(values).where(SmsTemplate.id == template_id).returning(
            *SmsTemplate.all_columns())
        await record(actor, "update", "sms_template", template_id)
    return out(rows[0])


async def delete(actor: Actor, template_id: int) -> None:
    await _editable(actor, template_id)
    async with write_tx():
        await SmsTemplate.delete().where(SmsTemplate.id == template_id)
        await record(actor, "delete", "sms_template", template_id)
