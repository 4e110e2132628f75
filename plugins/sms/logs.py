"""发信记录: batches and per-recipient messages within the reader's scope; cancel and retry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.exceptions import NotFoundException

from core.audit.log import record
from core.auth.tables import User
from core.db import write_tx
from core.perms.actor import Actor
from core.perms.scope import get_in_scope, scope_where, where_all
from plugins.sms.errors import sms_error
from plugins.sms.schemas import BatchOut, MessageOut
from plugins.sms.tables import SmsBatch, SmsMessage

READ = "sms:read"
STATES = ("queued", "sending", "sent", "delivered", "failed", "cancelled")


def message_out(r: dict[str, Any]) -> MessageOut:
    return MessageOut(
        id=r["id"], batch_id=r["batch"], user_id=r["user"], customer_id=r["customer"], contact_id=r["contact"],
        number=r["number"], name=r["name"], text=r["text"], parts=r["parts"], channel=r["channel"],
        state=r["state"], reason=r["reason"], attempts=r["attempts"], sim=r["sim"],
        next_attempt_at=r["next_attempt_at"], created_at=r["created_at"], sent_at=r["sent_at"],
        delivered_at=r["delivered_at"])


async def _message_where(actor: Actor) -> Any:
    return await scope_where(actor, READ, owner=SmsMessage.user, department=SmsMessage.department)


async def messages(actor: Actor, *, batch_id: int | None = None, customer_id: int | None = None,
                   state: str = "", q: str = "", limit: int = 200, before_id: int | None = None) -> list[MessageOut]:
    clause = where_all(
        await _message_where(actor),
        SmsMessage.batch == batch_id if batch_id is not None else None,
        SmsMessage.customer == customer_id if customer_id is not None else None,
        SmsMessage.state == state if state else None,
        (SmsMessage.number.like(f"%{q.strip()}%") | SmsMessage.name.like(f"%{q.strip()}%")) if q.strip() else None,
        SmsMessage.id < before_id if before_id is not None else None,
    )
    query = SmsMessage.select().order_by(SmsMessage.id, ascending=False).limit(min(max(limit, 1), 1000))
    return [message_out(r) for r in await (query.where(clause) if clause is not None else query)]


async def state_counts(batch_ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {b: {} for b in batch_ids}
    if not batch_ids:
        return out
    rows = await SmsMessage.raw(
        "SELECT batch, state, COUNT(*) AS n FROM sms_messages WHERE batch IN ({}) GROUP BY batch, state".format(
            ", ".join(str(int(b)) for b in batch_ids)))
    for r in rows:
        out.setdefault(r["batch"], {})[r["state"]] = r["n"]
    return out


async def batches(actor: Actor, *, limit: int = 100, batch_id: int | None = None) -> list[BatchOut]:
    clause = where_all(await scope_where(actor, READ, owner=SmsBatch.user, department=SmsBatch.department),
                       SmsBatch.id == batch_id if batch_id is not None else None)
    query = SmsBatch.select().order_by(SmsBatch.id, ascending=False).limit(min(max(limit, 1), 500))
    rows = await (query.where(clause) if clause is not None else query)
    counts = await state_counts([r["id"] for r in rows])
    users = {r["id"]: r["display_name"] for r in await User.select(User.id, User.display_name).where(
        User.id.is_in(sorted({r["user"] for r in rows if r["user"]}) or [0]))}
    return [BatchOut(
        id=r["id"], user_id=r["user"], user_name=users.get(r["user"], "系统") if r["user"] else "系统", text=r["text"],
        channel=r["channel"], purpose=r["purpose"], scheduled_at=r["scheduled_at"], created_at=r["created_at"],
        recipients=r["recipients"], skipped=r["skipped"], parts=r["parts"], cost_fen=r["cost_fen"],
        cancelled=r["cancelled_at"] is not None, states=counts.get(r["id"], {})) for r in rows]


async def batch(actor: Actor, batch_id: int) -> BatchOut:
    found = await batches(actor, batch_id=batch_id)
    if not found:
        raise NotFoundException("发送批次不存在 / batch not found")
    return found[0]


async def cancel(actor: Actor, batch_id: int) -> int:
    """Cancel what has not gone out yet (queued or scheduled); returns how many were cancelled."""
    await get_in_scope(actor, READ, SmsBatch, batch_id, owner=SmsBatch.user, department=SmsBatch.department)
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        rows = await SmsMessage.update({
            SmsMessage.state: "cancelled", SmsMessage.reason: "已取消 / cancelled", SmsMessage.updated_at: now,
        }).where((SmsMessage.batch == batch_id) & (SmsMessage.state == "queued")).returning(SmsMessage.id)
        await SmsBatch.update({SmsBatch.cancelled_at: now}).where(SmsBatch.id == batch_id)
        await record(actor, "cancel", "sms_batch", batch_id, meta={"cancelled": len(rows)})
    return len(rows)


async def retry(actor: Actor, message_id: int) -> MessageOut:
    """Queue a failed message again (a person's decision, e.g. after an interrupted send was checked)."""
    await get_in_scope(actor, READ, SmsMessage, message_id, owner=SmsMessage.user, department=SmsMessage.department)
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        rows = await SmsMessage.update({
            SmsMessage.state: "queued", SmsMessage.attempts: 0, SmsMessage.next_attempt_at: now,
            SmsMessage.reason: "", SmsMessage.updated_at: now,
        }).where((SmsMessage.id == message_id) & (SmsMessage.state == "failed")).returning(*SmsMessage.all_columns())
        if not rows:
            raise sms_error("只有发送失败的短信可以重发", "only a failed message can be retried")
        await record(actor, "retry", "sms_message", message_id)
    return message_out(rows[0])


async def failed_count(actor: Actor, since: dt.datetime) -> int:
    clause = where_all(await _message_where(actor), SmsMessage.state == "failed", SmsMessage.updated_at >= since)
    return await SmsMessage.count().where(clause)
