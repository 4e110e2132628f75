"""Timeline entries on the customer page: opportunities created, their stage changes, needs recorded."""

from __future__ import annotations

from core.hooktypes import TimelineEntry
from core.perms.actor import Actor
from core.perms.scope import where_all
from plugins.sales import access
from plugins.sales.money import yuan
from plugins.sales.records import names_of
from plugins.sales.tables import Need, Opportunity, StageHistory


async def entries(actor: Actor, customer_id: int) -> list[TimelineEntry]:
    """Core has checked the customer; each kind is still filtered by its own permission and scope."""
    out: list[TimelineEntry] = []
    if actor.can(access.READ):
        opps = await Opportunity.select(Opportunity.id, Opportunity.number, Opportunity.name, Opportunity.amount_fen,
                                        Opportunity.created_at).where(
            where_all(Opportunity.customer == customer_id, await access.opportunity_where(actor)))
        by_id = {o["id"]: o for o in opps}
        history = await StageHistory.select().where(
            StageHistory.opportunity.is_in(list(by_id)) & (StageHistory.from_value.is_not_null())) if by_id else []
        names = await names_of({h["user"] for h in history if h["user"]})
        for o in opps:
            out.append(TimelineEntry(at=o["created_at"], kind="opportunity", title=f"新建销售机会 {o['number']}",
                                     summary=f"{o['name']}（¥{yuan(o['amount_fen'])}）",
                                     href=f"/sales/opportunities/{o['id']}"))
        for h in history:
            label = "阶段" if h["field"] == "stage" else "状态"
            o = by_id[h["opportunity"]]
            out.append(TimelineEntry(at=h["at"], kind="opportunity_stage", title=f"销售机会{label}变更",
                                     summary=f"{o['name']}：{h['from_value']} → {h['to_value']}",
                                     href=f"/sales/opportunities/{o['id']}",
                                     actor_name=names.get(h["user"], "") if h["user"] else ""))
    if actor.can(access.NEEDS_READ):
        needs = await Need.select(Need.id, Need.title, Need.type, Need.created_at).where(
            where_all(Need.customer == customer_id, await access.need_where(actor)))
        out.extend(TimelineEntry(at=n["created_at"], kind="need", title="记录客户需求",
                                 summary=f"{n['title']}{'（' + n['type'] + '）' if n['type'] else ''}") for n in needs)
    return out
