"""Follow-ups (联系记录, core) linked to opportunities of the same customer."""

from __future__ import annotations

import datetime as dt

from core.audit.log import record
from core.customers import activity
from core.customers.errors import InvalidInput
from core.customers.schemas import FollowupIn, FollowupOut
from core.customers.tables import Followup
from core.db import write_tx
from core.perms.actor import Actor
from plugins.sales import access
from plugins.sales.schemas import FollowupForOpportunityIn
from plugins.sales.tables import FollowupLink


async def link(actor: Actor, opportunity_id: int, followup_id: int) -> None:
    opp = await access.opportunity_in_scope(actor, opportunity_id, access.EDIT)
    followup = await Followup.select(Followup.id, Followup.customer).where(Followup.id == followup_id).first()
    if followup is None or followup["customer"] != opp["customer"]:
        raise InvalidInput("该联系记录不属于此机会的客户 / the follow-up is not of this opportunity's customer")
    async with write_tx():
        if await FollowupLink.exists().where((FollowupLink.opportunity == opportunity_id)
                                             & (FollowupLink.followup == followup_id)):
            return
        await FollowupLink.insert(FollowupLink(opportunity=opportunity_id, followup=followup_id,
                                               created_at=dt.datetime.now(dt.UTC)))
        await record(actor, "link", "opportunity", opportunity_id, meta={"followup": followup_id})


async def add_followup(actor: Actor, opportunity_id: int, data: FollowupForOpportunityIn) -> FollowupOut:
    """Record a follow-up on the customer (core's rules: customer edit scope) and link it, in one transaction."""
    opp = await access.opportunity_in_scope(actor, opportunity_id, access.EDIT)
    async with write_tx():
        out = await activity.add_followup(actor, FollowupIn(customer_id=opp["customer"], summary=data.summary,
                                                            method=data.method, kind=data.kind, next_at=data.next_at))
        await link(actor, opportunity_id, out.id)
    return out


async def followups_of(actor: Actor, opportunity_id: int) -> list[FollowupOut]:
    await access.opportunity_in_scope(actor, opportunity_id)
    ids = FollowupLink.select(FollowupLink.followup).where(FollowupLink.opportunity == opportunity_id)
    rows = await Followup.select().where(Followup.id.is_in(ids)).order_by(Followup.at, ascending=False)
    return [activity.followup_out(r) for r in rows]
