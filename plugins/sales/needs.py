"""需求挖掘: customer needs with a type, a state and a reminder cycle (next due date), in scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from msgspec import UNSET

from core import host
from core.audit.log import diff_of, record
from core.customers.errors import field_error
from core.customers.ownership import user_department
from core.customers.tables import Contact
from core.db import write_tx
from core.perms.actor import Actor
from core.perms.scope import where_all
from plugins.sales import access, rules
from plugins.sales.records import customer_names, names_of, raise_if
from plugins.sales.schemas import NeedIn, NeedOut, NeedPatch
from plugins.sales.settings import SalesSettings
from plugins.sales.settings import current as current_settings
from plugins.sales.tables import Need

CLOSED_STATES = ("已满足", "已放弃")


def to_out(r: dict[str, Any], customers: dict[int, str], owners: dict[int, str]) -> NeedOut:
    return NeedOut(
        id=r["id"], customer_id=r["customer"], customer_name=customers.get(r["customer"], ""), contact_id=r["contact"],
        title=r["title"], type=r["type"], state=r["state"], content=r["content"], cycle_days=r["cycle_days"],
        next_due=r["next_due"], last_done=r["last_done"], owner_id=r["owner"],
        owner_name=owners.get(r["owner"], "") if r["owner"] else "", department_id=r["department"],
        created_at=r["created_at"], updated_at=r["updated_at"],
    )


async def _outs(rows: list[dict[str, Any]]) -> list[NeedOut]:
    customers = await customer_names({r["customer"] for r in rows})
    owners = await names_of({r["owner"] for r in rows if r["owner"]})
    return [to_out(r, customers, owners) for r in rows]


def _check(settings: SalesSettings, values: dict[str, Any], errors: list[dict[str, Any]]) -> None:
    rules.check_choice("需求类型", values.get("type", ""), settings.need_types, errors)
    if "state" in values:
        rules.check_choice("需求状态", values["state"], settings.need_states, errors)


async def _check_contact(customer_id: int, contact_id: int | None, errors: list[dict[str, Any]]) -> None:
    if contact_id is not None and not await Contact.exists().where(
            (Contact.id == contact_id) & (Contact.customer == customer_id)):
        errors.append(field_error("联系人", f"联系人 {contact_id} 不属于该客户", f"contact {contact_id} is not of this "
                                  "customer"))


async def create(actor: Actor, data: NeedIn) -> NeedOut:
    settings = await current_settings()
    await access.customer_for(actor, data.customer_id)
    errors: list[dict[str, Any]] = []
    state = data.state or settings.need_states[0]
    _check(settings, {"type": data.type, "state": state}, errors)
    await _check_contact(data.customer_id, data.contact_id, errors)
    owner, department = actor.user_id, actor.department_id
    if data.owner_id is not None and data.owner_id != actor.user_id:
        try:
            owner, department = data.owner_id, await user_department(data.owner_id)
        except Exception as exc:  # InvalidInput with a message fit for users
            errors.append(field_error("负责人", str(getattr(exc, "message", exc)), str(getattr(exc, "message", exc))))
    raise_if(errors)
    today = host.today()
    next_due = data.next_due or (today + dt.timedelta(days=data.cycle_days) if data.cycle_days else None)
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        rows = await Need.insert(Need(
            customer=data.customer_id, contact=data.contact_id, title=data.title.strip(), type=data.type, state=state,
            content=data.content, cycle_days=data.cycle_days, next_due=next_due, owner=owner, department=department,
            created_at=now, updated_at=now,
        )).returning(*Need.all_columns())
        await record(actor, "create", "need", rows[0]["id"],
                     diff={"title": [None, data.title], "customer": [None, data.customer_id], "state": [None, state]})
    return (await _outs(rows))[0]


async def update(actor: Actor, need_id: int, patch: NeedPatch) -> NeedOut:
    before = await access.need_in_scope(actor, need_id, access.NEEDS_EDIT)
    settings = await current_settings()
    fields = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not UNSET}
    errors: list[dict[str, Any]] = []
    _check(settings, fields, errors)
    after: dict[str, Any] = {k: fields[k] for k in ("title", "type", "state", "content", "cycle_days", "next_due")
                             if k in fields}
    if "contact_id" in fields:
        await _check_contact(before["customer"], fields["contact_id"], errors)
        after["contact"] = fields["contact_id"]
    if "owner_id" in fields and fields["owner_id"] != before["owner"]:
        try:
            after["department"] = await user_department(fields["owner_id"])
            after["owner"] = fields["owner_id"]
        except Exception as exc:
            errors.append(field_error("负责人", str(getattr(exc, "message", exc)), str(getattr(exc, "message", exc))))
    raise_if(errors)
    changes = {k: v for k, v in after.items() if v != before.get(k)}
    if changes:
        async with write_tx():
            await Need.update({getattr(Need, k): v for k, v in changes.items()} | {
                Need.updated_at: dt.datetime.now(dt.UTC)}).where(Need.id == need_id)
            await record(actor, "update", "need", need_id, diff=diff_of({k: before[k] for k in changes}, changes))
    return await detail(actor, need_id)


async def mark_done(actor: Actor, need_id: int) -> NeedOut:
    """跟进一次: today becomes the last follow-up; the next due date moves one cycle on."""
    before = await access.need_in_scope(actor, need_id, access.NEEDS_EDIT)
    today = host.today()
    next_due = today + dt.timedelta(days=before["cycle_days"]) if before["cycle_days"] else None
    async with write_tx():
        await Need.update({Need.last_done: today, Need.next_due: next_due, Need.updated_at: dt.datetime.now(dt.UTC)}
                          ).where(Need.id == need_id)
        await record(actor, "update", "need", need_id, diff={"last_done": [before["last_done"], today],
                                                              "next_due": [before["next_due"], next_due]})
    return await detail(actor, need_id)


async def detail(actor: Actor, need_id: int) -> NeedOut:
    return (await _outs([await access.need_in_scope(actor, need_id)]))[0]


async def list_needs(actor: Actor, *, customer_id: int | None = None, state: str = "", due_by: dt.date | None = None,
                     mine: bool = False, limit: int = 200) -> list[NeedOut]:
    clause = where_all(
        await access.need_where(actor),
        Need.customer == customer_id if customer_id is not None else None,
        Need.state == state if state else None,
        (Need.next_due <= due_by) & Need.state.not_in(list(CLOSED_STATES)) if due_by else None,
        Need.owner == actor.user_id if mine else None,
    )
    select = Need.select()
    rows = await (select.where(clause) if clause is not None else select).order_by(Need.id, ascending=False).limit(
        limit)
    return await _outs(rows)
