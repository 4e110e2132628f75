"""The EV-FWT 785 box as an SMS channel: SIM chosen under per-SIM daily/monthly limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.host import SHANGHAI
from drivers.ev_fwt785 import Box
from drivers.ev_fwt785.errors import BoxDisconnectedError, BoxError, CommandError, InvalidArgument, SlotError
from plugins.sms import config, counters
from plugins.sms.channels import boxlink
from plugins.sms.channels.base import Outcome, Report, Session
from plugins.sms.config import SmsSettings

NO_SIM = "短信盒子没有可发短信的SIM卡 / the box has no SIM able to send SMS"


def sim_key(url: str, slot: int) -> str:
    return f"{url}#{slot}"


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


class BoxChannel:
    name = "box"
    label = "短信盒子"
    reports_delivery = False

    def configured(self, settings: SmsSettings) -> str:
        if not config.box_url(settings):
            return "没有配置短信通道：请在短信设置中填写短信盒子端口 / no SMS channel configured: set the box port"
        if not config.enabled_slots(settings):
            return f"{NO_SIM}：短信设置中未启用任何卡槽 / no slot is enabled in the SMS settings"
        return ""

    @asynccontextmanager
    async def open(self, settings: SmsSettings, now: dt.datetime) -> AsyncIterator[Session]:
        url = config.box_url(settings)
        async with boxlink.lock_for(url), boxlink.borrow(url, settings.box_dialect) as box:
            yield BoxSession(box, url, settings, now)

    async def balance(self, settings: SmsSettings) -> str | None:
        return None
