"""人员调换: a departing person's open opportunities and open needs move to the successor (with their customers)."""

from __future__ import annotations

import datetime as dt

from core.audit.log import record
from core.customers.ownership import user_department
from core.perms.actor import Actor
from plugins.sales.needs import CLOSED_STATES
from plugins.sales.tables import Need, Opportunity


async def hand_over(from_user_id: int, to_user_id: int, actor: Actor) -> dict[str, int]:
    """Runs inside core's hand-over transaction; decided (won/lost) opportunities keep their owner for the record."""
    department = await user_department(to_user_id)
    now = dt.datetime.now(dt.UTC)
    moved = await Opportunity.update({Opportunity.owner: to_user_id, Opportunity.department: department,
                                      Opportunity.updated_at: now}).where(
        (Opportunity.owner == from_user_id) & (Opportunity.outcome == "open")).returning(Opportunity.id)
    needs = await Need.update({Need.owner: to_user_id, Need.department: department, Need.updated_at: now}).where(
        (Need.owner == from_user_id) & Need.state.not_in(list(CLOSED_STATES))).returning(Need.id)
    for row in moved:
        await record(actor, "handover", "opportunity", row["id"], diff={"owner": [from_user_id, to_user_id]})
    out: dict[str, int] = {}
    if moved:
        out["opportunities"] = len(moved)
    if needs:
        out["needs"] = len(needs)
    return out
