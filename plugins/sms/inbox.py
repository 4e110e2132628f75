"""收信记录: texts received by the box, linked to the customer whose number matches; TD/退订 opts out;
a reply can become a follow-up (the customers' own follow-up service)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.audit.log import record
from core.customers import activity
from core.customers.schemas import FollowupIn
from core.customers.tables import ContactPhone, Customer
from core.db import write_tx
from core.perms.actor import Actor
from core.perms.scope import get_in_scope, scope_where, where_all
from plugins.sms import optout
from plugins.sms.errors import sms_error
from plugins.sms.numbers import try_any
from plugins.sms.schemas import InboxOut
from plugins.sms.tables import SmsInbox, SmsMessage

READ = "sms:read"


def out(r: dict[str, Any]) -> InboxOut:
    return InboxOut(id=r["id"], number=r["number"], text=r["text"], received_at=r["received_at"], source=r["source"],
                    customer_id=r["customer"], contact_id=r["contact"], owner_id=r["owner"], opt_out=r["opt_out"],
                    followup_id=r["followup_id"])


async def _link(number: str) -> dict[str, Any]:
    """Who the sender is: the last message we sent to the number, else a customer's contact phone."""
    last = await SmsMessage.select(SmsMessage.user, SmsMessage.department, SmsMessage.customer,
                                   SmsMessage.contact).where(SmsMessage.number == number).order_by(
        SmsMessage.id, ascending=False).first()
    if last and last["customer"] is not None:
        return {"owner": last["user"], "department": last["department"], "customer": last["customer"],
                "contact": last["contact"]}
    phone = await ContactPhone.select(ContactPhone.customer, ContactPhone.contact).where(
        ContactPhone.e164 == number).order_by(ContactPhone.id).first()
    if phone:
        cust = await Customer.select(Customer.owner, Customer.department).where(
            Customer.id == phone["customer"]).first()
        owner = last["user"] if last else (cust or {}).get("owner")
        dept = last["department"] if last else (cust or {}).get("department")
        return {"owner": owner, "department": dept, "customer": phone["customer"], "contact": phone["contact"]}
    if last:
        return {"owner": last["user"], "department": last["department"], "customer": None, "contact": None}
    return {"owner": None, "department": None, "customer": None, "contact": None}


async def ingest(sender: str, text: str, *, received_at: dt.datetime | None = None, source: str = "") -> InboxOut:
    number = try_any(sender)
    link = await _link(number)
    stop = optout.is_opt_out_reply(text)
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        rows = await SmsInbox.insert(SmsInbox(
            number=number, text=text, received_at=received_at or now, source=source[:64], opt_out=stop,
            created_at=now, **link)).returning(*SmsInbox.all_columns())
        if stop:
            await optout.add(number, source="reply", actor=None, note=text[:200])
    return out(rows[0])


async def _where(actor: Actor) -> Any:
    return await scope_where(actor, READ, owner=SmsInbox.owner, department=SmsInbox.department)


async def listing(actor: Actor, *, customer_id: int | None = None, q: str = "", limit: int = 200) -> list[InboxOut]:
    clause = where_all(await _where(actor), SmsInbox.customer == customer_id if customer_id is not None else None,
                       (SmsInbox.number.like(f"%{q.strip()}%") | SmsInbox.text.like(f"%{q.strip()}%"))
                       if q.strip() else None)
    query = SmsInbox.select().order_by(SmsInbox.received_at, ascending=False).limit(limit)
    return [out(r) for r in await (query.where(clause) if clause is not None else query)]


async def make_followup(actor: Actor, inbox_id: int, summary: str = "") -> InboxOut:
    row = await get_in_scope(actor, READ, SmsInbox, inbox_id, owner=SmsInbox.owner, department=SmsInbox.department)
    if row["customer"] is None:
        raise sms_error("这条短信没有关联客户，无法记为联系记录", "this text is not linked to a customer")
    if row["followup_id"] is not None:
        raise sms_error("这条短信已记为联系记录", "this text is already a follow-up")
    followup = await activity.add_followup(actor, FollowupIn(
        customer_id=row["customer"], contact_id=row["contact"], at=row["received_at"], method="短信",
        kind="短信回复", summary=summary or f"短信回复（{row['number']}）：{row['text']}"))
    async with write_tx():
        rows = await SmsInbox.update({SmsInbox.followup_id: followup.id}).where(
            (SmsInbox.id == inbox_id) & SmsInbox.followup_id.is_null()).returning(*SmsInbox.all_columns())
        await record(actor, "followup", "sms_inbox", inbox_id, meta={"followup": followup.id})
    if not rows:
        raise sms_error("这条短信已记为联系记录", "this text is already a follow-up")
    return out(rows[0])
