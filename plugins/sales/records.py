"""销售机会: create, read, change (with stage/state history), bulk change and delete — all in scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar.exceptions import NotFoundException
from msgspec import UNSET

from core import host
from core.audit.log import diff_of, record
from core.auth.tables import User
from core.customers.errors import InvalidInput, field_error
from core.customers.ownership import user_department
from core.customers.tables import Contact, Customer
from core.db import write_tx
from core.perms.actor import Actor
from core.perms.scope import where_all
from plugins.sales import access, rules
from plugins.sales.money import parse_amount, parse_probability, weighted_yuan, yuan
from plugins.sales.numbers import next_number
from plugins.sales.reads import reads
from plugins.sales.schemas import BulkIn, HistoryOut, OpportunityIn, OpportunityOut, OpportunityPatch
from plugins.sales.settings import OPEN_STATE, SalesSettings
from plugins.sales.settings import current as current_settings
from plugins.sales.tables import FollowupLink, Opportunity, StageHistory

AUDITED = ("name", "customer", "contact", "start_date", "expected_close", "stage", "state", "source", "importance",
           "type", "probability", "amount_fen", "needs", "notes", "custom", "owner", "department", "closed_on")


def raise_if(errors: list[dict[str, Any]]) -> None:
    if errors:
        raise InvalidInput(errors[0]["message"] if len(errors) == 1 else
                           f"{len(errors)} 处输入有误：{errors[0]['message']} / {len(errors)} invalid fields",
                           errors=errors)


def search_text(number: str, name: str, customer_name: str) -> str:
    return f"{number} | {name} | {customer_name}".lower()


async def names_of(user_ids: set[int]) -> dict[int, str]:
    ids = [i for i in user_ids if i is not None]
    if not ids:
        return {}
    return {r["id"]: r["display_name"] for r in await User.select(User.id, User.display_name).where(User.id.is_in(ids))}


async def customer_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await Customer.select(Customer.id, Customer.name).where(Customer.id.is_in(list(ids)))
    return {r["id"]: r["name"] for r in rows}


def to_out(r: dict[str, Any], customer_name: str, owner_name: str) -> OpportunityOut:
    return OpportunityOut(
        id=r["id"], number=r["number"], name=r["name"], customer_id=r["customer"], customer_name=customer_name,
        contact_id=r["contact"], start_date=r["start_date"], expected_close=r["expected_close"], stage=r["stage"],
        state=r["state"], outcome=r["outcome"], source=r["source"], importance=r["importance"], type=r["type"],
        probability=r["probability"], amount=yuan(r["amount_fen"]), weighted_amount=weighted_yuan(r["weighted_x100"]),
        needs=msgspec.json.decode(r["needs"] or "[]"), notes=r["notes"],
        custom=msgspec.json.decode(r["custom"] or "{}"),
        owner_id=r["owner"], owner_name=owner_name, department_id=r["department"], closed_on=r["closed_on"],
        cycle_days=r["cycle_days"], created_at=r["created_at"], updated_at=r["updated_at"],
    )


async def _check_contact(customer_id: int, contact_id: int | None, errors: list[dict[str, Any]]) -> None:
    if contact_id is not None and not await Contact.exists().where(
            (Contact.id == contact_id) & (Contact.customer == customer_id)):
        errors.append(field_error("联系人", f"联系人 {contact_id} 不属于该客户", f"contact {contact_id} is not of this "
                                  "customer"))


async def _owner(actor: Actor, owner_id: int | None, errors: list[dict[str, Any]]) -> tuple[int | None, int | None]:
    """(owner, department): the given person's department, or the actor's own."""
    if owner_id is None or owner_id == actor.user_id:
        return actor.user_id, actor.department_id
    if actor.scope_of(access.ASSIGN) is None:
        errors.append(field_error("负责人", "指定其他负责人需要分派权限", "setting another owner needs "
                                  "opportunities:assign"))
        return actor.user_id, actor.department_id
    try:
        return owner_id, await user_department(owner_id)
    except InvalidInput as exc:
        errors.append(field_error("负责人", exc.message, exc.message))
        return actor.user_id, actor.department_id


def _check_choices(settings: SalesSettings, values: dict[str, Any], errors: list[dict[str, Any]],
                   row: int | None = None) -> None:
    rules.check_choice("来源", values.get("source", ""), settings.sources, errors, row)
    rules.check_choice("重要程度", values.get("importance", ""), settings.importance, errors, row)
    rules.check_choice("类型", values.get("type", ""), settings.types, errors, row)
    rules.check_needs(values.get("needs", []), settings.needs, errors, row)


async def validate_new(actor: Actor, data: OpportunityIn, settings: SalesSettings, errors: list[dict[str, Any]],
                       row: int | None = None, *, check_customer: bool = True) -> dict[str, Any]:
    """Column values for a new opportunity (no number yet); appends to `errors` instead of raising."""
    customer = await access.customer_for(actor, data.customer_id) if check_customer else {"id": data.customer_id}
    if check_customer:
        await _check_contact(data.customer_id, data.contact_id, errors)
    today = host.today()
    start = data.start_date or today
    changed = {"stage", "state"}
    resolved = rules.resolve(settings, data.stage or settings.first_open().name, data.state or OPEN_STATE,
                             changed if data.state else {"stage"}, errors, row)
    rules.check_dates(start, data.expected_close, errors, row)
    amount = parse_amount(data.amount, errors, row=row)
    probability = parse_probability(data.probability, errors, row=row)
    stage = settings.stage(resolved.stage)
    if probability is None:
        probability = stage.probability if stage else 0
    _check_choices(settings, {"source": data.source, "importance": data.importance, "type": data.type,
                              "needs": data.needs}, errors, row)
    custom = rules.check_custom(data.custom, errors, row)
    closed_on, cycle = rules.closing(resolved.outcome, None, None, start, today)
    return {
        "name": data.name.strip(), "customer": data.customer_id, "contact": data.contact_id, "start_date": start,
        "expected_close": data.expected_close, "stage": resolved.stage, "state": resolved.state,
        "outcome": resolved.outcome, "source": data.source, "importance": data.importance, "type": data.type,
        "probability": probability, "amount_fen": amount, "weighted_x100": amount * probability,
        "needs": msgspec.json.encode(list(dict.fromkeys(data.needs))).decode(), "notes": data.notes,
        "custom": custom, "closed_on": closed_on, "cycle_days": cycle, "customer_name": customer.get("name", ""),
    }


async def insert_new(actor: Actor, values: dict[str, Any], owner: int | None, department: int | None,
                     now: dt.datetime) -> int:
    """Insert one validated opportunity with its number, first history rows and audit entry (inside write_tx)."""
    number = await next_number(now.astimezone(host.SHANGHAI).date())
    customer_name = values.pop("customer_name", "")
    rows = await Opportunity.insert(Opportunity(
        **values, number=number, owner=owner, department=department, created_by=actor.user_id,
        search_text=search_text(number, values["name"], customer_name), created_at=now, updated_at=now,
    )).returning(Opportunity.id)
    oid = rows[0]["id"]
    await StageHistory.insert(
        StageHistory(opportunity=oid, field="stage", from_value=None, to_value=values["stage"], user=actor.user_id,
                     at=now),
        StageHistory(opportunity=oid, field="state", from_value=None, to_value=values["state"], user=actor.user_id,
                     at=now),
    )
    customer_values: dict[Any, Any] = {Customer.last_opportunity_at: now}
    if values["outcome"] == "won":
        customer_values[Customer.won_at] = now
    await Customer.update(customer_values).where(Customer.id == values["customer"])
    await record(actor, "create", "opportunity", oid,
                 diff={k: [None, values[k]] for k in AUDITED if values.get(k) not in (None, "", "[]", "{}")}
                 | {"number": [None, number], "owner": [None, owner]})
    return oid


async def create(actor: Actor, data: OpportunityIn) -> OpportunityOut:
    settings = await current_settings()
    errors: list[dict[str, Any]] = []
    values = await validate_new(actor, data, settings, errors)
    owner, department = await _owner(actor, data.owner_id, errors)
    raise_if(errors)
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        oid = await insert_new(actor, values, owner, department, now)
    return await detail(actor, oid, audit=False)


async def history_of(opportunity_id: int) -> list[HistoryOut]:
    rows = await StageHistory.select().where(StageHistory.opportunity == opportunity_id).order_by(
        StageHistory.at).order_by(StageHistory.id)
    names = await names_of({r["user"] for r in rows})
    return [HistoryOut(field=r["field"], from_value=r["from_value"], to_value=r["to_value"], user_id=r["user"],
                       user_name=names.get(r["user"], "系统") if r["user"] else "系统", at=r["at"]) for r in rows]


async def detail(actor: Actor, opportunity_id: int, *, audit: bool = True) -> OpportunityOut:
    async with reads():
        r = await access.opportunity_in_scope(actor, opportunity_id)
        customer = await customer_names({r["customer"]})
        owners = await names_of({r["owner"]})
        out = to_out(r, customer.get(r["customer"], ""), owners.get(r["owner"], "") if r["owner"] else "")
        out.history = await history_of(opportunity_id)
        out.followup_ids = [x["followup"] for x in await FollowupLink.select(FollowupLink.followup).where(
            FollowupLink.opportunity == opportunity_id).order_by(FollowupLink.id)]
    if audit:
        await record(actor, "view", "opportunity", opportunity_id)
    return out


async def _changes(actor: Actor, before: dict[str, Any], patch: OpportunityPatch, settings: SalesSettings,
                   errors: list[dict[str, Any]]) -> dict[str, Any]:
    """Column values that change, validated (owner changes need the assign scope over the record)."""
    fields = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not UNSET}
    after: dict[str, Any] = {}
    for key in ("name", "start_date", "expected_close", "source", "importance", "type", "notes"):
        if key in fields:
            after[key] = fields[key].strip() if key == "name" else fields[key]
    if "contact_id" in fields:
        await _check_contact(before["customer"], fields["contact_id"], errors)
        after["contact"] = fields["contact_id"]
    if "needs" in fields:
        after["needs"] = msgspec.json.encode(list(dict.fromkeys(fields["needs"]))).decode()
    if "custom" in fields:
        after["custom"] = rules.check_custom(fields["custom"], errors)
    _check_choices(settings, {k: fields[k] for k in ("source", "importance", "type", "needs") if k in fields}, errors)
    changed = {k for k in ("stage", "state") if k in fields and fields[k] != before[k]}
    resolved = rules.resolve(settings, fields.get("stage", before["stage"]), fields.get("state", before["state"]),
                             changed, errors, outcome=before["outcome"])
    after |= {"stage": resolved.stage, "state": resolved.state, "outcome": resolved.outcome}
    start = after.get("start_date", before["start_date"])
    rules.check_dates(start, after.get("expected_close", before["expected_close"]), errors)
    if "amount" in fields:
        after["amount_fen"] = parse_amount(fields["amount"], errors)
    if "probability" in fields and fields["probability"] is not None:
        after["probability"] = parse_probability(fields["probability"], errors)
    elif resolved.stage != before["stage"] or ("probability" in fields and fields["probability"] is None):
        stage = settings.stage(resolved.stage)
        after["probability"] = stage.probability if stage else before["probability"]
    probability = after.get("probability")
    if probability is None:
        probability = before["probability"]
    after["weighted_x100"] = after.get("amount_fen", before["amount_fen"]) * probability
    closed_on, cycle = rules.closing(resolved.outcome, before["outcome"], before["closed_on"], start, host.today())
    after |= {"closed_on": closed_on, "cycle_days": cycle}
    if "owner_id" in fields and fields["owner_id"] != before["owner"]:
        if actor.scope_of(access.ASSIGN) is None:
            errors.append(field_error("负责人", "更换负责人需要分派权限", "changing the owner needs "
                                      "opportunities:assign"))
        else:
            await access.opportunity_in_scope(actor, before["id"], access.ASSIGN)
            try:
                after["department"] = await user_department(fields["owner_id"])
                after["owner"] = fields["owner_id"]
            except InvalidInput as exc:
                errors.append(field_error("负责人", exc.message, exc.message))
    return {k: v for k, v in after.items() if v != before.get(k)}


async def apply_changes(actor: Actor, before: dict[str, Any], changes: dict[str, Any], now: dt.datetime,
                        *, action: str = "update") -> None:
    """Write validated changes with history rows, customer marks and the audit entry (inside write_tx)."""
    if not changes:
        return
    values: dict[Any, Any] = {getattr(Opportunity, k): v for k, v in changes.items()}
    values[Opportunity.updated_at] = now
    if "name" in changes:
        customer = await customer_names({before["customer"]})
        values[Opportunity.search_text] = search_text(before["number"], changes["name"],
                                                      customer.get(before["customer"], ""))
    await Opportunity.update(values).where(Opportunity.id == before["id"])
    history = [StageHistory(opportunity=before["id"], field=k, from_value=before[k], to_value=changes[k],
                            user=actor.user_id, at=now) for k in ("stage", "state") if k in changes]
    if history:
        await StageHistory.insert(*history)
    if changes.get("outcome") == "won":
        await Customer.update({Customer.won_at: now}).where(Customer.id == before["customer"])
    await record(actor, action, "opportunity", before["id"],
                 diff=diff_of({k: before[k] for k in changes if k in AUDITED}, {k: v for k, v in changes.items()
                                                                               if k in AUDITED}))


async def update(actor: Actor, opportunity_id: int, patch: OpportunityPatch) -> OpportunityOut:
    before = await access.opportunity_in_scope(actor, opportunity_id, access.EDIT)
    settings = await current_settings()
    errors: list[dict[str, Any]] = []
    changes = await _changes(actor, before, patch, settings, errors)
    raise_if(errors)
    async with write_tx():
        fresh = await Opportunity.select().where(Opportunity.id == opportunity_id).first()
        if fresh is None or fresh["updated_at"] != before["updated_at"]:
            # changed meanwhile: validate again against the current row
            before = fresh or before
            changes = await _changes(actor, before, patch, settings, errors)
            raise_if(errors)
        await apply_changes(actor, before, changes, dt.datetime.now(dt.UTC))
    return await detail(actor, opportunity_id, audit=False)


async def bulk_change(actor: Actor, data: BulkIn) -> int:
    """批量修改负责人/状态: every id editable (and assignable for an owner change), else 404 and nothing written."""
    if data.owner_id is None and data.state is None:
        raise InvalidInput("请选择新的负责人或状态 / choose a new owner or a new state")
    ids = list(dict.fromkeys(data.ids))
    clauses = [await access.opportunity_where(actor, access.EDIT)]
    if data.owner_id is not None:
        clauses.append(await access.opportunity_where(actor, access.ASSIGN))
    settings = await current_settings()
    patch = OpportunityPatch(
        owner_id=data.owner_id if data.owner_id is not None else UNSET,
        state=data.state if data.state is not None else UNSET,
    )
    now = dt.datetime.now(dt.UTC)
    changed = 0
    async with write_tx():
        rows: list[dict[str, Any]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows += await Opportunity.select().where(where_all(Opportunity.id.is_in(chunk), *clauses))
        if len(rows) != len(ids):
            raise NotFoundException("部分销售机会不存在或无权修改 / some opportunities were not found")
        for before in rows:
            errors: list[dict[str, Any]] = []
            changes = await _changes(actor, before, patch, settings, errors)
            if errors:
                raise InvalidInput(f"{before['number']}：{errors[0]['message']}", errors=errors)
            await apply_changes(actor, before, changes, now, action="bulk_update")
            changed += 1 if changes else 0
    return changed


async def delete(actor: Actor, opportunity_id: int) -> None:
    before = await access.opportunity_in_scope(actor, opportunity_id, access.DELETE)
    async with write_tx():
        await FollowupLink.delete().where(FollowupLink.opportunity == opportunity_id)
        await StageHistory.delete().where(StageHistory.opportunity == opportunity_id)
        await Opportunity.delete().where(Opportunity.id == opportunity_id)
        await record(actor, "delete", "opportunity", opportunity_id,
                     diff={k: [before[k], None] for k in ("number", "name", "customer", "stage", "amount_fen")})
