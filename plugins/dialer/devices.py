"""外呼设备: boxes and their SIM slots — listing (with today's use), editing and unlocking, every change audited.

A slot's limits are stored as overrides over its carrier preset (`dialer_slots.limits`, JSON): a missing
field uses the preset, a null switches that limit off. A change reaches campaigns running in this process at
their next decision (`push_live`: the engine state's SIM settings are re-read from the database), and a
campaign resumed from its snapshot re-reads them too (`store.load_state`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import msgspec
from litestar.exceptions import NotFoundException

from core.audit.log import record
from core.customers.phones import InvalidPhone, normalise
from core.db import write_tx
from core.perms.actor import Actor
from plugins.dialer import runtime, store
from plugins.dialer.engine import io as i
from plugins.dialer.engine.calendar import zone
from plugins.dialer.engine.config import CARRIER_PRESETS, ConfigError, SimLimits, limits_for
from plugins.dialer.errors import DialerConflict, DialerInputError
from plugins.dialer.schemas import (
    DeviceOut,
    DevicePatch,
    SlotLimitsIn,
    SlotOut,
    SlotPatch,
    SlotUsageOut,
    UnlockIn,
)
from plugins.dialer.tables import Campaign, Device, DeviceSlot, SimUsage

# Carrier presets (defaults only; see engine/config.py). "" is a slot never given one: the ordinary preset.
CARRIERS: dict[str, tuple[str, str]] = {
    "": ("未设置（按普通卡）", "not set (ordinary)"),
    "ordinary": ("普通卡", "ordinary SIM"),
    "telemarketing": ("外呼专用卡", "telemarketing SIM"),
    "CMCC": ("中国移动", "China Mobile"),
    "CU": ("中国联通", "China Unicom"),
    "CT": ("中国电信", "China Telecom"),
}
assert set(CARRIERS) - {""} == set(CARRIER_PRESETS)


class LimitField(msgspec.Struct, frozen=True):
    name: str
    zh: str
    en: str
    unit: str  # shown after the input
    integer: bool
    can_be_off: bool  # the SimLimits field is Optional: "off" / 不限 switches it off


LIMITS: tuple[LimitField, ...] = (
    LimitField("max_calls_per_hour", "每小时最多拨打", "calls per hour", "次", True, True),
    LimitField("max_calls_per_day", "每天最多拨打", "calls per day", "次", True, True),
    LimitField("max_connected_per_day", "每天最多接通", "connected calls per day", "次", True, True),
    LimitField("max_talk_minutes_per_day", "每天最多通话", "talk minutes per day", "分钟", False, True),
    LimitField("max_talk_minutes_per_month", "每月最多通话", "talk minutes per month", "分钟", False, True),
    LimitField("month_reset_day", "每月重置日", "month reset day", "日", True, False),
    LimitField("min_gap_s", "两次拨打最短间隔", "minimum gap between dials", "秒", False, False),
    LimitField("max_single_call_s", "单次通话最长", "longest single call", "秒", False, True),
    LimitField("consecutive_fail_limit", "连续失败锁定", "lock after consecutive failures", "次（0 不锁）", True,
               False),
    LimitField("consecutive_no_answer_limit", "连续未接锁定", "lock after consecutive no-answers", "次（0 不锁）", True,
               False),
    LimitField("consecutive_short_limit", "连续短通话锁定", "lock after consecutive short calls", "次（0 不锁）", True,
               False),
    LimitField("short_call_s", "短通话阈值", "short call threshold", "秒", False, False),
    LimitField("cooldown_s", "锁定冷却", "lock cool-down", "秒（-1 手动解锁）", False, False),
    LimitField("min_signal", "最低信号", "minimum signal", "（0–31）", True, False),
    LimitField("blocked_after_barred", "运营商限制几次判为封停", "barred calls before blocked", "次（0 不判）", True,
               False),
)
assert {f.name for f in LIMITS} == set(SimLimits.__struct_fields__) == set(SlotLimitsIn.__struct_fields__)
OFF_WORDS = ("off", "不限", "关闭", "无")
MAX_VALUE = 1_000_000
UNFINISHED = ("running", "waiting", "paused")


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = msgspec.json.decode(value or "{}")
    return dict(value or {})


def _num(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def preset_of(carrier: str) -> dict[str, Any]:
    return {k: _num(v) for k, v in msgspec.structs.asdict(CARRIER_PRESETS.get(carrier or "ordinary",
                                                                              CARRIER_PRESETS["ordinary"])).items()}


def today() -> dt.date:
    return dt.datetime.now(zone("Asia/Shanghai")).date()


# ------------------------------------------------------------------ reading


def _engine_sims(name: str, slot: int) -> list[Any]:
    """This SIM's state in every campaign running in this process."""
    rt = runtime.current()
    if rt is None:
        return []
    out = []
    for runner in list(rt.runners.values()):
        sim = runner.state.sims.get(f"{name}:{slot}") if runner.state is not None else None
        if sim is not None:
            out.append(sim)
    return out


def slot_out(dev: dict[str, Any], s: dict[str, Any], usage: SlotUsageOut | None = None) -> SlotOut:
    overrides = _json(s["limits"])
    try:
        effective = {k: _num(v) for k, v in msgspec.structs.asdict(limits_for(s["carrier"], overrides)).items()}
    except ConfigError:
        effective = preset_of(s["carrier"])
    now = dt.datetime.now(dt.UTC)
    until = s["locked_until"]
    locked = until is not None and until > now
    reason, blocked = s["lock_reason"], s["blocked"]
    rt = runtime.current()
    for sim in _engine_sims(dev["name"], s["slot"]):
        if sim.locked_manual or (sim.locked_until is not None and rt is not None and sim.locked_until > rt.clock()):
            locked = True
            if sim.locked_until is not None:
                engine_until = dt.datetime.fromtimestamp(sim.locked_until, dt.UTC)
                until = max(until, engine_until) if until is not None else engine_until
            reason = reason or sim.lock_reason
        if sim.blocked:
            blocked, reason = True, reason or sim.lock_reason
    return SlotOut(slot=s["slot"], enabled=s["enabled"], carrier=s["carrier"], caller_number=s["caller_number"],
                   limits=overrides, blocked=blocked, lock_reason=reason, locked=locked,
                   locked_until=until if locked else None, effective=effective, preset=preset_of(s["carrier"]),
                   usage=usage)


async def _usage(device_ids: list[int]) -> dict[tuple[int, int], SlotUsageOut]:
    day = today()
    if not device_ids:
        return {}
    rows = await SimUsage.select().where(SimUsage.device.is_in(device_ids) & (SimUsage.day == day))
    return {(r["device"], r["slot"]): SlotUsageOut(day=day, calls=r["calls"], connected=r["connected"],
                                                   talk_minutes=round(r["talk_s"] / 60, 1)) for r in rows}


async def devices_out() -> list[DeviceOut]:
    rt = runtime.current()
    devices = await Device.select().order_by(Device.id)
    usage = await _usage([d["id"] for d in devices])
    day = today()
    out = []
    for d in devices:
        slots = await DeviceSlot.select().where(DeviceSlot.device == d["id"]).order_by(DeviceSlot.slot)
        out.append(DeviceOut(id=d["id"], name=d["name"], url=d["url"], dialect=d["dialect"], enabled=d["enabled"],
                             online=bool(rt and rt.online(d["name"])),
                             slots=[slot_out(d, s, usage.get((d["id"], s["slot"]), SlotUsageOut(day=day)))
                                    for s in slots]))
    return out


async def device_out(device_id: int) -> DeviceOut:
    for d in await devices_out():
        if d.id == device_id:
            return d
    raise NotFoundException("设备不存在 / no such box")


async def _rows(device_id: int, slot: int | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    dev = await Device.select().where(Device.id == device_id).first()
    if dev is None:
        raise NotFoundException("设备不存在 / no such box")
    if slot is None:
        return dev, None
    row = await DeviceSlot.select().where((DeviceSlot.device == device_id) & (DeviceSlot.slot == slot)).first()
    if row is None:
        raise NotFoundException("卡槽不存在 / no such slot")
    return dev, row


async def _slot_result(dev: dict[str, Any], slot: int) -> SlotOut:
    _, row = await _rows(dev["id"], slot)
    assert row is not None
    usage = (await _usage([dev["id"]])).get((dev["id"], slot), SlotUsageOut(day=today()))
    return slot_out(dev, row, usage)


# ------------------------------------------------------------------ validation


def overrides_of(limits: SlotLimitsIn) -> dict[str, Any]:
    """The JSON stored in dialer_slots.limits: only the fields set; "off" is stored as null."""
    out: dict[str, Any] = {}
    for f in LIMITS:
        value = getattr(limits, f.name)
        if value is None:
            continue
        if value == "off":
            out[f.name] = None
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise DialerInputError(f"{f.zh}须为有限的数字", f"{f.en} must be a finite number")
        if f.name == "cooldown_s" and value == -1:
            out[f.name] = -1.0
            continue
        if value < 0:
            raise DialerInputError(f"{f.zh}不能为负数", f"{f.en} cannot be negative")
        if value > MAX_VALUE:
            raise DialerInputError(f"{f.zh}不能超过 {MAX_VALUE}", f"{f.en} cannot exceed {MAX_VALUE}")
        if f.can_be_off and value == 0:
            raise DialerInputError(f"{f.zh}须大于 0（不设上限请填“不限”）",
                                   f"{f.en} must be above 0 (use \"off\" for no limit)")
        if f.name == "month_reset_day" and not 1 <= value <= 28:
            raise DialerInputError("每月重置日须在 1 到 28 之间", "the month reset day must be between 1 and 28")
        if f.name == "min_signal" and value > 31:
            raise DialerInputError("最低信号须在 0 到 31 之间", "the minimum signal must be between 0 and 31")
        out[f.name] = value
    return out


def check(carrier: str, overrides: dict[str, Any]) -> SimLimits:
    """The limits that would apply; raises DialerInputError (bilingual) when they contradict each other."""
    if carrier not in CARRIERS:
        names = ", ".join(k for k in CARRIERS if k)
        raise DialerInputError(f"未知的运营商预设“{carrier}”", f"unknown carrier preset {carrier!r} (one of {names})")
    try:
        eff = limits_for(carrier, overrides)
    except ConfigError as exc:
        raise DialerInputError("SIM 限额设置无效", str(exc)) from exc
    h, d = eff.max_calls_per_hour, eff.max_calls_per_day
    if h is not None and d is not None and h > d:
        raise DialerInputError(f"每小时最多拨打（{h}）不能大于每天最多拨打（{d}）",
                               f"calls per hour ({h}) cannot exceed calls per day ({d})")
    c = eff.max_connected_per_day
    if c is not None and d is not None and c > d:
        raise DialerInputError(f"每天最多接通（{c}）不能大于每天最多拨打（{d}）",
                               f"connected calls per day ({c}) cannot exceed calls per day ({d})")
    return eff


def caller_number_of(raw: str) -> str:
    raw = raw.strip()
    if not raw:
        return ""
    try:
        return normalise(raw)
    except InvalidPhone as exc:
        raise DialerInputError(f"主叫号码“{raw}”不是有效的电话号码", f"caller number {raw!r} is not a valid phone "
                               f"number: {exc}") from exc


# ------------------------------------------------------------------ changes


async def push_live(device_name: str, *, reset: str = "") -> int:
    """Campaigns running here re-read this box's SIM settings before their next decision; agents holding the
    box get them too (`reset` names a SIM unlocked by hand). Returns how many campaigns here were updated."""
    from plugins.dialer.agent_server import HUB

    await HUB.push_sims(device_name, await store.sim_settings(device_name), reset=reset)
    rt = runtime.current()
    if rt is None:
        return 0
    n = 0
    for runner in list(rt.runners.values()):
        state = runner.state
        if state is None or not any(s.box == device_name for s in state.sims.values()):
            continue
        await store.sync_sims(state)
        runner.send(None)  # decide again now, with the new limits
        n += 1
    return n


async def patch_device(actor: Actor, device_id: int, data: DevicePatch) -> DeviceOut:
    dev, _ = await _rows(device_id)
    values: dict[Any, Any] = {}
    diff: dict[str, list[Any]] = {}
    for col, new in ((Device.name, data.name), (Device.url, data.url), (Device.dialect, data.dialect),
                     (Device.enabled, data.enabled)):
        name = col._meta.name
        if new is not None and new != dev[name]:
            values[col] = new
            diff[name] = [dev[name], new]
    if "name" in diff:
        if await Device.exists().where((Device.name == data.name) & (Device.id != device_id)):
            raise DialerInputError(f"设备名称“{data.name}”已存在", f"a box named {data.name!r} exists")
        rt = runtime.current()
        if rt is not None and (rt.online(dev["name"]) or dev["name"] in rt.busy_boxes()):
            raise DialerConflict("设备在线时不能改名（通话记录和运行中的任务按名称找设备）",
                                 "a box cannot be renamed while it is online (calls and campaigns know it by name)")
        if await Campaign.exists().where(Campaign.status.is_in(list(UNFINISHED))):
            raise DialerConflict("有未结束的外呼任务时不能改设备名称",
                                 "a box cannot be renamed while a campaign is running, waiting or paused")
    if values:
        async with write_tx():
            await Device.update(values).where(Device.id == device_id)
            await record(actor, "update", "dialer_device", device_id, diff=diff)
        if "enabled" in diff:
            await push_live(dev["name"])
    return await device_out(device_id)


async def patch_slot(actor: Actor, device_id: int, slot: int, data: SlotPatch) -> SlotOut:
    dev, row = await _rows(device_id, slot)
    assert row is not None
    before = {"enabled": row["enabled"], "carrier": row["carrier"], "caller_number": row["caller_number"],
              "limits": _json(row["limits"])}
    after = dict(before)
    if data.enabled is not None:
        after["enabled"] = data.enabled
    if data.carrier is not None:
        after["carrier"] = data.carrier.strip()
    if data.caller_number is not None:
        after["caller_number"] = caller_number_of(data.caller_number)
    if data.limits is not None:
        after["limits"] = overrides_of(data.limits)
    check(after["carrier"], after["limits"])
    diff = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if diff:
        async with write_tx():
            await DeviceSlot.update({DeviceSlot.enabled: after["enabled"], DeviceSlot.carrier: after["carrier"],
                                     DeviceSlot.caller_number: after["caller_number"],
                                     DeviceSlot.limits: after["limits"]}).where(DeviceSlot.id == row["id"])
            await record(actor, "update", "dialer_slot", f"{device_id}:{slot}", diff=diff,
                         meta={"device": dev["name"], "slot": slot})
        await push_live(dev["name"])
    return await _slot_result(dev, slot)


async def unlock_slot(actor: Actor, device_id: int, slot: int, data: UnlockIn) -> SlotOut:
    """Clear a block (运营商限制) or lock, by hand, with the operator's reason (audited)."""
    dev, row = await _rows(device_id, slot)
    assert row is not None
    current = slot_out(dev, row)
    if not (current.blocked or current.locked):
        raise DialerConflict("该 SIM 未被封停或锁定", "this SIM is neither blocked nor locked")
    async with write_tx():
        await DeviceSlot.update({DeviceSlot.blocked: False, DeviceSlot.lock_reason: "",
                                 DeviceSlot.locked_until: None}).where(DeviceSlot.id == row["id"])
        await record(actor, "unlock", "dialer_slot", f"{device_id}:{slot}",
                     diff={"blocked": [current.blocked, False], "locked": [current.locked, False],
                           "lock_reason": [current.lock_reason, ""]},
                     meta={"device": dev["name"], "slot": slot, "reason": data.reason})
    rt = runtime.current()
    if rt is not None:
        rt.broadcast(i.ResetSim(at=rt.clock(), key=f"{dev['name']}:{slot}"))
    await push_live(dev["name"], reset=f"{dev['name']}:{slot}")
    return await _slot_result(dev, slot)


# ------------------------------------------------------------------ the page's form


def limits_from_form(get: Any) -> SlotLimitsIn:
    """The 15 limit inputs of the page: empty = carrier preset, 不限/off = no limit, else a number."""
    values: dict[str, Any] = {}
    for f in LIMITS:
        raw = str(get(f.name) or "").strip()
        if not raw:
            continue
        if raw.lower() in OFF_WORDS:
            if not f.can_be_off:
                raise DialerInputError(f"{f.zh}不能设为不限", f"{f.en} cannot be switched off")
            values[f.name] = "off"
            continue
        try:
            number = float(raw)
        except ValueError:
            raise DialerInputError(f"{f.zh}须为数字（或留空用运营商预设）",
                                   f"{f.en} must be a number (or empty for the carrier preset)") from None
        if f.integer and not number.is_integer():
            raise DialerInputError(f"{f.zh}须为整数", f"{f.en} must be a whole number")
        values[f.name] = int(number) if f.integer and math.isfinite(number) else number
    return msgspec.convert(values, SlotLimitsIn)


def form_fields(s: SlotOut) -> list[dict[str, Any]]:
    """Each limit input of a slot's form: its value (the override) and placeholder (the preset)."""
    out = []
    for f in LIMITS:
        preset = s.preset.get(f.name)
        if f.name in s.limits:
            value = "不限" if s.limits[f.name] is None else str(_num(s.limits[f.name]))
        else:
            value = ""
        out.append({"name": f.name, "label": f.zh, "label_en": f.en, "unit": f.unit, "value": value,
                    "preset": "不限" if preset is None else str(preset), "off": f.can_be_off,
                    "effective": s.effective.get(f.name)})
    return out
