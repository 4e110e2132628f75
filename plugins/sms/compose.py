"""Composing a send: recipients, text per recipient, checks, preview (count and cost), and queueing.

Everything is checked before anything is written: empty or over-long text, invalid numbers (unless
`skip_invalid`), a schedule in the past, no channel configured, a box with no SIM allowed to send, the
sender's daily cap. Opted-out and duplicate numbers are skipped and reported, never queued.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import msgspec

from core import do_not_contact
from core.audit.log import record
from core.db import write_tx
from core.host import SHANGHAI
from core.perms.actor import Actor
from plugins.sms import config, counters, fill, library, recipients, segments
from plugins.sms.channels.registry import check_configured
from plugins.sms.errors import sms_error
from plugins.sms.schemas import PreviewOut, Recipient, RecipientIn, SampleOut, SendIn, SendOut, Skipped
from plugins.sms.tables import SmsBatch, SmsMessage

SEND = "sms:send"
SCHEDULE_GRACE = dt.timedelta(minutes=1)
SCHEDULE_MAX = dt.timedelta(days=90)
INSERT_CHUNK = 500


class Planned(msgspec.Struct, kw_only=True):
    recipient: Recipient
    text: str
    parts: int


class Plan(msgspec.Struct, kw_only=True):
    channel: str
    body: str
    template_id: int | None
    send_at: dt.datetime
    items: list[Planned]
    skipped: list[Skipped]
    warnings: list[str]
    price_fen: int
    encoding: str


def _check_actor(actor: Actor) -> None:
    if not actor.can(SEND):
        from litestar.exceptions import PermissionDeniedException

        raise PermissionDeniedException(f"没有权限 / permission required: {SEND}")


async def _body(actor: Actor, data: SendIn, settings: config.SmsSettings) -> tuple[str, int | None]:
    body = data.text
    if data.template_id is not None:
        template = await library.get(actor, data.template_id)
        body = body or template.body
    library.check_body(body)
    signature = settings.signature.strip()
    if signature and not body.startswith(signature):
        body = signature + body
    return body, data.template_id


def _send_at(data: SendIn, now: dt.datetime) -> dt.datetime:
    when = data.scheduled_at
    if when is None:
        return now
    if when.tzinfo is None:
        raise sms_error("定时时间需要带时区（如 +08:00）", "the scheduled time needs a time zone (e.g. +08:00)")
    if when < now - SCHEDULE_GRACE:
        local = when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        raise sms_error(f"定时发送时间 {local} 已经过去", f"the scheduled time {local} is in the past")
    if when > now + SCHEDULE_MAX:
        raise sms_error("定时发送最多提前 90 天", "a send can be scheduled at most 90 days ahead")
    return max(when, now)


async def _recipients(actor: Actor, data: SendIn) -> tuple[list[Recipient], list[Skipped]]:
    typed = [*data.recipients, *(RecipientIn(number=n) for n in data.numbers)]
    if not typed and not data.customer_ids and data.filter is None:
        raise sms_error("请填写收信号码或选择客户", "no recipients: give numbers or pick customers")
    loose, invalid = recipients.from_numbers(typed)
    if invalid and not data.skip_invalid:
        shown = "；".join(s.reason for s in invalid[:5])
        more = f" 等 {len(invalid)} 个" if len(invalid) > 5 else ""
        raise sms_error(f"无效号码{more}：{shown}", f"{len(invalid)} invalid number(s)",
                        errors=[{"row": None, "column": "number", "message": s.reason} for s in invalid[:100]])
    await recipients.link_customers(actor, loose)
    picked: list[Recipient] = []
    skipped: list[Skipped] = list(invalid)
    if data.customer_ids or data.filter is not None:
        picked, no_mobile = await recipients.from_customers(actor, data.customer_ids, data.filter, data.contacts)
        skipped += no_mobile
    unique, dups = recipients.dedupe([*picked, *loose])
    skipped += dups
    blocked = await do_not_contact.blocked(r.number for r in unique)
    kept = []
    for r in unique:
        if r.number in blocked:
            skipped.append(Skipped(number=r.number, customer_id=r.customer_id,
                                   reason="该号码已退订或谢绝来电 / the number opted out"))
        else:
            kept.append(r)
    return kept, skipped


async def plan(actor: Actor, data: SendIn, *, now: dt.datetime | None = None) -> Plan:
    _check_actor(actor)
    now = now or dt.datetime.now(dt.UTC)
    settings = await config.current()
    channel = data.channel or settings.default_channel
    check_configured(channel, settings)
    body, template_id = await _body(actor, data, settings)
    send_at = _send_at(data, now)
    kept, skipped = await _recipients(actor, data)
    if not kept:
        reasons = "；".join(sorted({s.reason for s in skipped}))[:300]
        raise sms_error(f"没有可发送的号码（{reasons}）", "nothing to send: every number was skipped",
                        errors=[{"row": None, "column": "number", "message": f"{s.number} {s.reason}"}
                                for s in skipped[:100]])
    items: list[Planned] = []
    cache: dict[str, int] = {}
    for r in kept:
        text = fill.fill(body, customer_name=r.customer_name, contact_name=r.name, number=r.number)
        if text not in cache:
            cache[text] = segments.count(text).parts
        items.append(Planned(recipient=r, text=text, parts=cache[text]))
    longest = max(items, key=lambda p: p.parts)
    if longest.parts > settings.max_parts:
        info = segments.count(longest.text)
        raise sms_error(
            f"短信过长：{info.chars} 字需拆成 {info.parts} 条，最多 {settings.max_parts} 条",
            f"the text is too long: {info.parts} parts ({info.encoding}), at most {settings.max_parts}")
    warnings = []
    local = send_at.astimezone(SHANGHAI)
    if not config.within_hours(settings, local):
        opens = config.next_window(settings, local)
        warnings.append(f"不在发送时段 {settings.hours_start}–{settings.hours_end}，将于 {opens:%m-%d %H:%M} 发送 / "
                        f"outside sending hours: sends at {opens:%m-%d %H:%M}")
    if any(not p.recipient.customer_name for p in items) and "{客户名称}" in body:
        warnings.append("部分号码没有对应客户，{客户名称} 将为空 / some numbers have no customer: {客户名称} is blank")
    return Plan(channel=channel, body=body, template_id=template_id, send_at=send_at, items=items, skipped=skipped,
                warnings=warnings, price_fen=settings.price_fen_per_part,
                encoding=segments.count(longest.text).encoding)


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


async def preview(actor: Actor, data: SendIn, *, now: dt.datetime | None = None) -> PreviewOut:
    p = await plan(actor, data, now=now)
    total = sum(i.parts for i in p.items)
    longest = max(p.items, key=lambda i: i.parts)
    return PreviewOut(
        channel=p.channel, recipients=len(p.items), skipped=p.skipped, encoding=p.encoding,
        chars=len(longest.text), parts_per_message=longest.parts, parts_total=total,
        cost_fen=total * p.price_fen, cost=_yuan(total * p.price_fen), send_at=p.send_at,
        samples=[SampleOut(number=i.recipient.number, name=i.recipient.name, customer_name=i.recipient.customer_name,
                           text=i.text, parts=i.parts) for i in p.items[:5]],
        warnings=p.warnings,
    )


def idem_key(batch_id: int, purpose: str, number: str, text: str) -> str:
    if purpose:
        digest = hashlib.sha256(f"{purpose}|{number}|{text}".encode()).hexdigest()[:48]
        return f"p:{digest}"
    return f"b{batch_id}:{number}"


async def _check_cap(actor: Actor, count: int, now: dt.datetime, settings: config.SmsSettings) -> None:
    if actor.user_id is None or settings.user_daily_cap <= 0:
        return
    used = await counters.day_total("user", str(actor.user_id), counters.local_day(now))
    if used + count > settings.user_daily_cap:
        raise sms_error(
            f"超过每日短信上限：今日已发 {used} 条，本次 {count} 条，上限 {settings.user_daily_cap} 条",
            f"daily SMS cap exceeded: {used} sent today + {count} > {settings.user_daily_cap}")


async def send(actor: Actor, data: SendIn, *, now: dt.datetime | None = None, purpose: str = "") -> SendOut:
    now = now or dt.datetime.now(dt.UTC)
    p = await plan(actor, data, now=now)
    settings = await config.current()
    async with write_tx():
        items = p.items
        skipped = list(p.skipped)
        if purpose:
            keys = {idem_key(0, purpose, i.recipient.number, i.text): i for i in items}
            existing = {r["idem_key"] for r in await SmsMessage.select(SmsMessage.idem_key).where(
                SmsMessage.idem_key.is_in(list(keys)))} if keys else set()
            items = [i for k, i in keys.items() if k not in existing]
            skipped += [Skipped(number=i.recipient.number, reason="已为此用途发送过 / already sent for this purpose")
                        for k, i in keys.items() if k in existing]
            if not items:
                return SendOut(batch_id=0, queued=0, skipped=skipped, parts_total=0, cost_fen=0, send_at=p.send_at)
        await _check_cap(actor, len(items), now, settings)
        total = sum(i.parts for i in items)
        batch = (await SmsBatch.insert(SmsBatch(
            user=actor.user_id, department=actor.department_id, text=p.body, template=p.template_id,
            channel=p.channel, purpose=purpose[:100], scheduled_at=data.scheduled_at and p.send_at,
            recipients=len(items), skipped=len(skipped), parts=total, cost_fen=total * p.price_fen,
            created_at=now)).returning(SmsBatch.id))[0]["id"]
        rows = [SmsMessage(
            batch=batch, user=actor.user_id, department=actor.department_id, customer=i.recipient.customer_id,
            contact=i.recipient.contact_id, number=i.recipient.number, name=i.recipient.name[:100], text=i.text,
            parts=i.parts, channel=p.channel, state="queued", attempts=0, next_attempt_at=p.send_at,
            idem_key=idem_key(batch, purpose, i.recipient.number, i.text), created_at=now, updated_at=now,
        ) for i in items]
        for start in range(0, len(rows), INSERT_CHUNK):
            await SmsMessage.insert(*rows[start : start + INSERT_CHUNK])
        if actor.user_id is not None:
            await counters.bump("user", str(actor.user_id), counters.local_day(now), len(items))
        await record(actor, "send", "sms_batch", batch, meta={
            "recipients": len(items), "skipped": len(skipped), "channel": p.channel, "parts": total,
            "scheduled_at": p.send_at.isoformat() if data.scheduled_at else None, "purpose": purpose})
    return SendOut(batch_id=batch, queued=len(items), skipped=skipped, parts_total=total,
                   cost_fen=total * p.price_fen, send_at=p.send_at)


async def send_from_hook(to: list[str], text: str, actor: Actor, purpose: str) -> dict[str, Any]:
    out = await send(actor, SendIn(text=text, numbers=list(to), skip_invalid=True), purpose=purpose)
    return msgspec.to_builtins(out)
