"""SMS on a customer's timeline, and the reminder for failed sends."""

from __future__ import annotations

import datetime as dt

from core.hooktypes import Reminder, TimelineEntry
from core.host import SHANGHAI
from core.perms.actor import Actor
from core.perms.scope import scope_where, where_all
from plugins.sms import logs
from plugins.sms.tables import SmsInbox, SmsMessage

READ = "sms:read"
STATE_LABELS = {"queued": "待发送", "sending": "发送中", "sent": "已发送", "delivered": "已送达", "failed": "发送失败",
                "cancelled": "已取消"}


async def entries(actor: Actor, customer_id: int, limit: int = 100) -> list[TimelineEntry]:
    if not actor.can(READ):
        return []
    out: list[TimelineEntry] = []
    mine = await scope_where(actor, READ, owner=SmsMessage.user, department=SmsMessage.department)
    for r in await SmsMessage.select().where(where_all(SmsMessage.customer == customer_id, mine)).order_by(
            SmsMessage.id, ascending=False).limit(limit):
        out.append(TimelineEntry(at=r["sent_at"] or r["created_at"], kind="sms_out",
                                 title=f"短信（{STATE_LABELS.get(r['state'], r['state'])}）→ {r['number']}",
                                 summary=r["text"], href=f"/sms/sent?batch={r['batch']}" if r["batch"] else None))
    theirs = await scope_where(actor, READ, owner=SmsInbox.owner, department=SmsInbox.department)
    for r in await SmsInbox.select().where(where_all(SmsInbox.customer == customer_id, theirs)).order_by(
            SmsInbox.id, ascending=False).limit(limit):
        out.append(TimelineEntry(at=r["received_at"], kind="sms_in", title=f"收到短信 ← {r['number']}",
                                 summary=r["text"], href="/sms/inbox"))
    return out


async def failed_reminder(actor: Actor, today: dt.date) -> list[Reminder]:
    if not actor.can(READ):
        return []
    since = dt.datetime.combine(today - dt.timedelta(days=7), dt.time(), SHANGHAI).astimezone(dt.UTC)
    count = await logs.failed_count(actor, since)
    if not count:
        return []
    return [Reminder(key="sms.failed", label="短信发送失败", count=count, href="/sms/sent?state=failed",
                     severity="warning")]
