"""The queue worker: sends queued and due scheduled messages exactly once, retries with back-off.

A row is claimed by a conditional UPDATE (`state = 'queued'` → `'sending'` with a lease), so two workers
— two servers, or the job and the kick loop — never send the same row. Everything lives in the
database, so a restart loses nothing; a row found still `sending` after its lease is not sent again
(it may have gone out) but marked failed with that reason for a person to retry.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import AsyncExitStack
from typing import Any

import anyio
import structlog

from core import do_not_contact
from core.db import write_tx
from core.host import SHANGHAI
from plugins.sms import config, counters
from plugins.sms.channels import registry
from plugins.sms.channels.base import ChannelUnavailable, Outcome, Session
from plugins.sms.schemas import DrainOut
from plugins.sms.tables import SmsMessage

log = structlog.get_logger(__name__)
LEASE = dt.timedelta(minutes=5)
RENEW_AFTER_S = 60.0
CHUNK = 100
REPORT_WINDOW = dt.timedelta(days=3)
INTERRUPTED = ("发送过程中断（可能已发出），为避免重复未自动重发，请核实后手动重发 / "
               "sending was interrupted (it may have gone out); not resent automatically to avoid a duplicate")
OPTED_OUT = "该号码已退订，未发送 / the number opted out; not sent"


async def recover_interrupted(now: dt.datetime) -> int:
    async with write_tx():
        rows = await SmsMessage.update({
            SmsMessage.state: "failed", SmsMessage.reason: INTERRUPTED, SmsMessage.claimed_until: None,
            SmsMessage.updated_at: now,
        }).where((SmsMessage.state == "sending") & (SmsMessage.claimed_until < now)).returning(SmsMessage.id)
    return len(rows)


async def claim(now: dt.datetime, limit: int = CHUNK) -> list[dict[str, Any]]:
    """Take up to `limit` due rows for this worker; rows another worker took in between are not returned."""
    async with write_tx():
        due = await SmsMessage.select(SmsMessage.id).where(
            (SmsMessage.state == "queued") & (SmsMessage.next_attempt_at <= now)
        ).order_by(SmsMessage.next_attempt_at).order_by(SmsMessage.id).limit(limit)
        if not due:
            return []
        return await SmsMessage.update({
            SmsMessage.state: "sending", SmsMessage.claimed_until: now + LEASE,
            SmsMessage.attempts: SmsMessage.attempts + 1, SmsMessage.updated_at: now,
        }).where(SmsMessage.id.is_in([r["id"] for r in due]) & (SmsMessage.state == "queued")).returning(
            SmsMessage.id, SmsMessage.number, SmsMessage.text, SmsMessage.parts, SmsMessage.channel,
            SmsMessage.attempts)


async def _renew(ids: list[int], until: dt.datetime) -> None:
    async with write_tx():
        await SmsMessage.update({SmsMessage.claimed_until: until}).where(
            SmsMessage.id.is_in(ids) & (SmsMessage.state == "sending"))


async def _send_all(session: Session, rows: list[dict[str, Any]], blocked: set[str],
                    results: dict[int, Outcome], claimed_at: dt.datetime) -> None:
    started = time.monotonic()
    renewed = [started]

    async def one(row: dict[str, Any]) -> None:
        if time.monotonic() - renewed[0] > RENEW_AFTER_S:  # a slow modem: keep the lease of what is left
            renewed[0] = time.monotonic()
            left = [r["id"] for r in rows if r["id"] not in results]
            await _renew(left, claimed_at + LEASE + dt.timedelta(seconds=renewed[0] - started))
        if row["number"] in blocked:
            results[row["id"]] = Outcome(ok=False, retryable=False, error=OPTED_OUT)
            return
        results[row["id"]] = await session.send(row["number"], row["text"], row["parts"])

    if session.concurrency <= 1:
        for row in rows:
            await one(row)
        return
    limiter = anyio.CapacityLimiter(session.concurrency)

    async def limited(row: dict[str, Any]) -> None:
        async with limiter:
            await one(row)

    async with anyio.create_task_group() as tg:
        for row in rows:
            tg.start_soon(limited, row)


def _backoff(settings: config.SmsSettings, attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=settings.retry_base_s * 2 ** max(0, attempts - 1))


async def _record(rows: list[dict[str, Any]], results: dict[int, Outcome], settings: config.SmsSettings,
                  now: dt.datetime, out: DrainOut) -> None:
    sim_parts: dict[str, int] = {}
    async with write_tx():
        for row in rows:
            res = results.get(row["id"]) or Outcome(ok=False, error="未发送 / not attempted")
            mine = (SmsMessage.id == row["id"]) & (SmsMessage.state == "sending")
            values: dict[Any, Any] = {SmsMessage.claimed_until: None, SmsMessage.updated_at: now}
            if res.ok:
                values |= {SmsMessage.state: "sent", SmsMessage.sent_at: now, SmsMessage.sim: res.sim,
                           SmsMessage.provider_id: res.provider_id[:64], SmsMessage.reason: ""}
                if res.sim:
                    sim_parts[res.sim] = sim_parts.get(res.sim, 0) + row["parts"]
                out.sent += 1
            elif res.defer_until is not None:
                values |= {SmsMessage.state: "queued", SmsMessage.next_attempt_at: res.defer_until,
                           SmsMessage.attempts: SmsMessage.attempts - 1, SmsMessage.reason: res.error}
                out.deferred += 1
            elif res.retryable and row["attempts"] < settings.max_attempts:
                values |= {SmsMessage.state: "queued", SmsMessage.reason: res.error,
                           SmsMessage.next_attempt_at: now + _backoff(settings, row["attempts"])}
                out.retried += 1
            else:
                values |= {SmsMessage.state: "failed", SmsMessage.reason: res.error}
                out.failed += 1
            await SmsMessage.update(values).where(mine)
        day = counters.local_day(now)
        for sim, parts in sim_parts.items():
            await counters.bump("sim", sim, day, parts)


class Sessions:
    """Channel sessions opened once per drain and shared by its chunks (one box connection, one HTTP pool)."""

    def __init__(self, stack: AsyncExitStack, settings: config.SmsSettings, now: dt.datetime) -> None:
        self.stack = stack
        self.settings = settings
        self.now = now
        self.open: dict[str, Session] = {}
        self.broken: dict[str, str] = {}

    async def get(self, name: str) -> Session | str:
        """The session, or why there is none (bilingual)."""
        if name in self.open:
            return self.open[name]
        if name in self.broken:
            return self.broken[name]
        channel = registry.CHANNELS.get(name)
        reason = channel.configured(self.settings) if channel else f"未知的短信通道 {name} / unknown channel {name}"
        if channel is None or reason:
            self.broken[name] = reason
            return reason
        try:
            self.open[name] = await self.stack.enter_async_context(channel.open(self.settings, self.now))
        except ChannelUnavailable as exc:
            self.broken[name] = str(exc)
            return str(exc)
        return self.open[name]


async def _process(rows: list[dict[str, Any]], sessions: Sessions, out: DrainOut) -> None:
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_channel.setdefault(row["channel"] or sessions.settings.default_channel, []).append(row)
    results: dict[int, Outcome] = {}
    blocked = await do_not_contact.blocked(r["number"] for r in rows)  # 退订 and every other module's list
    for name, group in by_channel.items():
        session = await sessions.get(name)
        if isinstance(session, str):
            for row in group:
                results[row["id"]] = Outcome(ok=False, error=session)
            continue
        await _send_all(session, group, blocked, results, sessions.now)
    await _record(rows, results, sessions.settings, sessions.now, out)


async def poll_reports(settings: config.SmsSettings, now: dt.datetime) -> int:
    """Delivery reports from channels that give them (the gateway): sent → delivered, or failed."""
    done = 0
    for name, channel in registry.CHANNELS.items():
        if not channel.reports_delivery or channel.configured(settings):
            continue
        rows = await SmsMessage.select(SmsMessage.id, SmsMessage.provider_id).where(
            (SmsMessage.channel == name) & (SmsMessage.state == "sent") & (SmsMessage.provider_id != "")
            & (SmsMessage.sent_at > now - REPORT_WINDOW)).limit(500)
        if not rows:
            continue
        try:
            async with channel.open(settings, now) as session:
                reports = await session.reports([r["provider_id"] for r in rows])
        except ChannelUnavailable:
            continue
        if not reports:
            continue
        ids = {r["provider_id"]: r["id"] for r in rows}
        async with write_tx():
            for rep in reports:
                if rep.provider_id not in ids:
                    continue
                values: dict[Any, Any] = {SmsMessage.updated_at: now}
                if rep.state == "delivered":
                    values |= {SmsMessage.state: "delivered", SmsMessage.delivered_at: now}
                else:
                    values |= {SmsMessage.state: "failed", SmsMessage.reason: f"未送达：{rep.error} / not delivered"}
                await SmsMessage.update(values).where(
                    (SmsMessage.id == ids[rep.provider_id]) & (SmsMessage.state == "sent"))
                done += 1
    return done


async def drain(*, now: dt.datetime | None = None, max_messages: int | None = None) -> DrainOut:
    """Send everything due now (within sending hours), then poll delivery reports."""
    now = now or dt.datetime.now(dt.UTC)
    settings = await config.current()
    out = DrainOut(interrupted=await recover_interrupted(now))
    if config.within_hours(settings, now.astimezone(SHANGHAI)):
        async with AsyncExitStack() as stack:
            sessions = Sessions(stack, settings, now)
            while max_messages is None or out.claimed < max_messages:
                rows = await claim(now, CHUNK if max_messages is None else min(CHUNK, max_messages - out.claimed))
                if not rows:
                    break
                out.claimed += len(rows)
                await _process(rows, sessions, out)
    out.delivered = await poll_reports(settings, now)
    return out


_kick: dict[str, anyio.Event] = {}


def kick() -> None:
    """Wake the worker loop (after a send-now) so messages go out at once."""
    event = _kick.get("event")
    if event is not None:
        event.set()


async def run_job() -> None:
    await drain()


async def worker_loop() -> None:
    """In the server: drain when kicked, and every `worker_every_s` seconds anyway."""
    while True:
        _kick["event"] = anyio.Event()
        try:
            await drain()
        except Exception:
            log.exception("sms drain failed")
        settings = await config.current()
        with anyio.move_on_after(max(1, settings.worker_every_s)):
            await _kick["event"].wait()
