"""Calls over the threshold become a follow-up (联系记录) on the customer, with the recording attached.

The attachment is a copy of the recording in core's follow-up attachments (local disk, readable — and its
downloads audited — for whoever may read the customer); it is read from the call's own recording store (local
or S3), and the retention job deletes the copy together with the recording."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import structlog

from core.auth.actors import load_actor
from core.customers.activity import add_followup
from core.customers.attachments import attach
from core.customers.schemas import FollowupIn
from core.db import write_tx
from plugins.dialer import recording_store
from plugins.dialer.tables import Call

log = structlog.get_logger("dialer.followups")
FOLLOWUP_MIN_S = 10.0


async def _new_customer(actor, call_id: int, e164: str) -> int | None:
    """外呼 reached a number of no customer: a new potential customer, when the setting says so."""
    from core.customers.phones import national_digits
    from core.customers.records import create_customer
    from core.customers.schemas import CustomerIn
    from plugins.dialer.settings import current

    if not (await current()).create_unknown_customer:
        return None
    try:
        out = await create_customer(actor, CustomerIn(name=f"来电客户 {national_digits(e164)}", kind="individual",
                                                      type="潜在", source="外呼", phones=[e164]))
    except Exception as exc:  # e.g. the number belongs to a customer the caller cannot see
        log.info("unknown_customer_not_created", call=call_id, error=str(exc))
        return None
    cid = out["id"] if isinstance(out, dict) else out.id
    async with write_tx():
        await Call.update({Call.customer: cid}).where(Call.id == call_id)
    return cid


async def _recording_bytes(call_id: int) -> bytes | None:
    """The call's recording from the store its row names; None when there is none or it cannot be read now."""
    row = await Call.select(Call.recording_file, Call.recording_store, Call.recording_location,
                            Call.recording_purged_at).where(
        Call.id == call_id).first()
    if row and row["recording_file"] and row["recording_purged_at"] is None:
        try:
            store = await recording_store.store_for(row["recording_store"], row["recording_location"])
            return await store.read(row["recording_file"])
        except (recording_store.NotStored, recording_store.StoreUnavailable) as exc:
            log.warning("followup_recording_unreadable", call=call_id, error=str(exc))
            return None
    return None


async def followup_for_call(call_id: int, *, min_talk_s: float = FOLLOWUP_MIN_S,
                            recording: Path | None = None) -> int | None:
    """Create the follow-up once (the call row remembers it). Returns its id, or None.

    The recording attached is read through the store the call row names. `recording` is ignored (kept for
    callers that still pass the local path; the row is the one source of truth)."""
    row = await Call.select().where(Call.id == call_id).first()
    if row is None or row["followup"] is not None or row["user"] is None:
        return None
    if not row["answered"] or row["talk_s"] <= min_talk_s:
        return None
    actor = await load_actor(row["user"])
    if actor is None:
        return None
    if row["customer"] is None:
        row["customer"] = await _new_customer(actor, call_id, row["number"])
        if row["customer"] is None:
            return None
    who = "外呼" if row["kind"] == "campaign" else "直拨"
    summary = (f"{who}电话 {row['number']}，通话 {row['talk_s']:.0f} 秒" +
               ("，销售接听" if row["taken_over"] else "") + (f"。{row['note']}" if row["note"] else ""))
    try:
        async with write_tx():
            f = await add_followup(actor, FollowupIn(
                customer_id=row["customer"], contact_id=row["contact"], at=row["dial_at"] or dt.datetime.now(dt.UTC),
                kind=row["call_type"][:64], method="电话", summary=summary, next_at=row["next_contact"]))
            await Call.update({Call.followup: f.id}).where(Call.id == call_id)
        audio = await _recording_bytes(call_id)
        if audio:
            await attach(actor, f.id, recording_store.attachment_name(call_id), audio, "audio/wav")
        return f.id
    except Exception as exc:  # the call record itself is already safe; the follow-up is best effort
        log.warning("followup_failed", call=call_id, error=str(exc))
        return None
