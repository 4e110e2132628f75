"""The EV-FWT 785 box as an SMS channel: SIM chosen under per-SIM daily/monthly limits.

Two sources of boxes (短信设置 `box_source`): the boxes the 云外呼 module holds — in the server or on a
salesperson's 电话助手 — reached through its published `box_sims` / `box_sms_send` hooks (`DialerSession`),
or a port SMS opens itself (`BoxSession`, for a box on the server when the dialer is not licensed).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from core import host
from core.host import SHANGHAI
from core.plugins import call_published, collect_sync
from drivers.ev_fwt785 import Box
from drivers.ev_fwt785.errors import BoxDisconnectedError, BoxError, CommandError, InvalidArgument, SlotError
from plugins.sms import config, counters
from plugins.sms.channels import boxlink
from plugins.sms.channels.base import ChannelUnavailable, Outcome, Report, Session
from plugins.sms.config import SmsSettings

NO_SIM = "短信盒子没有可发短信的SIM卡 / the box has no SIM able to send SMS"
NO_DIALER_BOX = ("没有配置短信通道：云外呼模块当前没有连接的设备，请启动电话助手或连接设备 / no SMS channel: "
                 "the auto-dialer holds no box right now; start the agent (电话助手) or attach a box")
DIALER_LOCK = "dialer://"  # sends through the dialer's boxes are serial within this process, like one port


def sim_key(box: str, slot: int) -> str:
    """A SIM's counter key: the box (its port for SMS's own box, its device name for the dialer's) and slot."""
    return f"{box}#{slot}"


def _next_midnight(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(SHANGHAI)
    return (local.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)).astimezone(dt.UTC)


def _next_month(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(SHANGHAI).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (local + dt.timedelta(days=32)).replace(day=1).astimezone(dt.UTC)


class BoxSession:
    concurrency = 1

    def __init__(self, box: Box, url: str, settings: SmsSettings, now: dt.datetime) -> None:
        self.box = box
        self.url = url
        self.settings = settings
        self.now = now
        self.day = counters.local_day(now)
        self.slots = config.enabled_slots(settings)
        self.usage: dict[int, tuple[int, int]] = {}
        self.bad: dict[int, str] = {}
        self.checked: set[int] = set()

    async def _usage(self, slot: int) -> tuple[int, int]:
        if slot not in self.usage:
            key = sim_key(self.url, slot)
            self.usage[slot] = (await counters.day_total("sim", key, self.day),
                                await counters.month_total("sim", key, self.day))
        return self.usage[slot]

    def _under(self, usage: tuple[int, int], parts: int) -> tuple[bool, bool]:
        s = self.settings
        daily_ok = s.sim_daily_limit <= 0 or usage[0] + parts <= s.sim_daily_limit
        monthly_ok = s.sim_monthly_limit <= 0 or usage[1] + parts <= s.sim_monthly_limit
        return daily_ok, monthly_ok

    async def _usable(self, slot: int) -> bool:
        if slot in self.bad:
            return False
        if slot in self.checked:
            return True
        try:
            if slot != self.box._active_slot:
                status = await self.box.select_slot(slot)
            else:
                status = await self.box.slot_status()
        except SlotError as exc:
            self.bad[slot] = str(exc)
            return False
        reg = status.registration
        if not status.present or status.sim_state != "READY" or reg is None or not reg.registered:
            self.bad[slot] = f"slot {slot}: {status.sim_state}"
            return False
        self.checked.add(slot)
        return True

    async def _pick(self, parts: int) -> int | Outcome:
        active = self.box._active_slot
        order = sorted(self.slots, key=lambda s: (s != active, s))
        over_day = over_month = 0
        for slot in order:
            if slot in self.bad:
                continue
            daily_ok, monthly_ok = self._under(await self._usage(slot), parts)
            if not monthly_ok:
                over_month += 1
                continue
            if not daily_ok:
                over_day += 1
                continue
            if await self._usable(slot):
                return slot
        if over_day or over_month:
            until = _next_midnight(self.now) if over_day else _next_month(self.now)
            return Outcome(ok=False, defer_until=until,
                           error="所有SIM卡已达短信上限，顺延发送 / every SIM reached its SMS limit; deferred")
        detail = "；".join(f"{v}" for v in self.bad.values())
        return Outcome(ok=False, retryable=True, error=f"{NO_SIM}（{detail or '未启用任何卡槽'}）")

    async def send(self, number: str, text: str, parts: int) -> Outcome:
        picked = await self._pick(parts)
        if isinstance(picked, Outcome):
            return picked
        slot = picked
        try:
            refs = await self.box.send_sms(number, text, max_parts=max(self.settings.max_parts, parts))
        except InvalidArgument as exc:
            return Outcome(ok=False, retryable=False, error=f"号码或内容无法发送：{exc} / cannot send: {exc}")
        except CommandError as exc:
            self.checked.discard(slot)
            return Outcome(ok=False, error=f"短信盒子拒绝发送：{exc} / the box refused: {exc}")
        except (BoxDisconnectedError, BoxError) as exc:
            return Outcome(ok=False, error=f"短信盒子连接中断：{exc} / box error: {exc}")
        day, month = self.usage[slot]
        self.usage[slot] = (day + parts, month + parts)
        return Outcome(ok=True, provider_id=",".join(str(r) for r in refs), sim=sim_key(self.url, slot))

    async def reports(self, provider_ids: list[str]) -> list[Report]:
        return []  # the driver does not ask for status reports


def dialer_devices() -> list[dict[str, Any]] | None:
    """The boxes the 云外呼 module holds right now ({"device", "where", "online"}); None when that module is
    not installed or not licensed in this server."""
    hook = getattr(host.current().pm.hook, "box_devices", None)
    if hook is None or not hook.has_spec():
        return None
    return collect_sync(hook)


async def dialer_sims() -> list[dict[str, Any]] | None:
    """The dialer's SIM slots right now; None when the dialer module is absent or unlicensed."""
    return await call_published(host.current().pm, "box_sims")


async def request_id(number: str, text: str, used: set[int]) -> str:
    """A stable id for the message being sent: the worker's row (state `sending`, same number and text, not
    yet sent in this session) plus how often a person re-queued it. An automatic retry of the same row keeps
    the id, so the dialer never sends it twice; a person's 重发 after checking makes a new one."""
    from core.audit.tables import AuditEvent
    from plugins.sms.tables import SmsMessage

    rows = await SmsMessage.select(SmsMessage.id).where(
        (SmsMessage.state == "sending") & (SmsMessage.number == number) & (SmsMessage.text == text)).order_by(
        SmsMessage.id)
    row_id = next((r["id"] for r in rows if r["id"] not in used), None)
    if row_id is None:
        return f"sms:adhoc:{uuid.uuid4().hex}"  # not a queued message (a direct call): nothing to retry
    used.add(row_id)
    again = await AuditEvent.count().where((AuditEvent.entity == "sms_message") & (AuditEvent.action == "retry")
                                          & (AuditEvent.entity_id == str(row_id)))
    return f"sms:{row_id}" if not again else f"sms:{row_id}/r{again}"


class DialerSession:
    """Texts through the dialer's boxes: SIMs from `box_sims` under this module's per-SIM limits, each text
    sent with `box_sms_send` under a stable request id (sent once even when the answer is lost)."""

    concurrency = 1

    def __init__(self, sims: list[dict[str, Any]], settings: SmsSettings, now: dt.datetime) -> None:
        self.settings = settings
        self.now = now
        self.day = counters.local_day(now)
        enabled = set(config.enabled_slots(settings))
        self.sims = [s for s in sims if s.get("online") and s["slot"] in enabled]
        self.usage: dict[str, tuple[int, int]] = {}
        self.bad: dict[str, str] = {}
        self.used: set[int] = set()

    async def _usage(self, key: str) -> tuple[int, int]:
        if key not in self.usage:
            self.usage[key] = (await counters.day_total("sim", key, self.day),
                               await counters.month_total("sim", key, self.day))
        return self.usage[key]

    def _under(self, usage: tuple[int, int], parts: int) -> tuple[bool, bool]:
        s = self.settings
        return (s.sim_daily_limit <= 0 or usage[0] + parts <= s.sim_daily_limit,
                s.sim_monthly_limit <= 0 or usage[1] + parts <= s.sim_monthly_limit)

    async def _candidates(self, parts: int) -> list[dict[str, Any]] | Outcome:
        """SIMs to try in order: the active slot of each box first (no radio switch), boxes a campaign or a
        call holds only on their active slot; none under the limits → defer to midnight or the 1st."""
        order = sorted(self.sims, key=lambda s: (s.get("active") is not True, bool(s.get("busy")), s["device"],
                                                 s["slot"]))
        out: list[dict[str, Any]] = []
        over_day = over_month = 0
        for sim in order:
            key = sim_key(sim["device"], sim["slot"])
            if key in self.bad or sim["device"] in self.bad or (sim.get("busy") and sim.get("active") is False):
                continue
            daily_ok, monthly_ok = self._under(await self._usage(key), parts)
            if not monthly_ok:
                over_month += 1
            elif not daily_ok:
                over_day += 1
            else:
                out.append(sim)
        if out:
            return out
        if over_day or over_month:
            until = _next_midnight(self.now) if over_day else _next_month(self.now)
            return Outcome(ok=False, defer_until=until,
                           error="所有SIM卡已达短信上限，顺延发送 / every SIM reached its SMS limit; deferred")
        detail = "；".join(self.bad.values())
        return Outcome(ok=False, error=f"{NO_SIM}（{detail or '未启用任何卡槽 / no usable slot'}）")

    async def send(self, number: str, text: str, parts: int) -> Outcome:
        picked = await self._candidates(parts)
        if isinstance(picked, Outcome):
            return picked
        rid = await request_id(number, text, self.used)
        for sim in picked:
            got = await call_published(host.current().pm, "box_sms_send", to=number, text=text,
                                       device=sim["device"], slot=sim["slot"], request_id=rid)
            if not got:
                return Outcome(ok=False, error=config.NEED_DIALER)
            answer = got[0]
            if answer["ok"]:
                key = sim_key(answer["device"], answer["slot"])
                day, month = await self._usage(key)
                self.usage[key] = (day + parts, month + parts)
                return Outcome(ok=True, provider_id=",".join(str(r) for r in answer.get("refs", [])), sim=key)
            code = answer.get("code", "")
            if code in ("busy", "slot"):  # this SIM cannot text now: the next one may
                self.bad[sim_key(sim["device"], sim["slot"])] = answer["error"]
                continue
            if code == "offline":
                self.bad[sim["device"]] = answer["error"]
                continue
            # invalid (never sendable), unknown (it may have gone out: a person checks), or pending/timeout/
            # refused: retried later with the same id, never on another box meanwhile
            return Outcome(ok=False, retryable=code not in ("invalid", "unknown"), error=answer["error"])
        detail = "；".join(self.bad.values())
        return Outcome(ok=False, error=f"{NO_SIM}（{detail}）")

    async def reports(self, provider_ids: list[str]) -> list[Report]:
        return []


class BoxChannel:
    name = "box"
    label = "短信盒子"
    reports_delivery = False

    def configured(self, settings: SmsSettings) -> str:
        if config.box_source(settings) == "dialer":
            held = dialer_devices()
            if held is None:
                return config.NEED_DIALER
            if not held:
                return NO_DIALER_BOX
        elif not config.box_url(settings):
            return "没有配置短信通道：请在短信设置中填写短信盒子端口 / no SMS channel configured: set the box port"
        if not config.enabled_slots(settings):
            return f"{NO_SIM}：短信设置中未启用任何卡槽 / no slot is enabled in the SMS settings"
        return ""

    @asynccontextmanager
    async def open(self, settings: SmsSettings, now: dt.datetime) -> AsyncIterator[Session]:
        if config.box_source(settings) == "dialer":
            async with boxlink.lock_for(DIALER_LOCK):
                sims = await dialer_sims()
                if sims is None:
                    raise ChannelUnavailable(config.NEED_DIALER)
                if not any(s.get("online") for s in sims):
                    raise ChannelUnavailable(NO_DIALER_BOX)
                yield DialerSession(sims, settings, now)
            return
        url = config.box_url(settings)
        async with boxlink.lock_for(url), boxlink.borrow(url, settings.box_dialect) as box:
            yield BoxSession(box, url, settings, now)

    async def balance(self, settings: SmsSettings) -> str | None:
        return None
