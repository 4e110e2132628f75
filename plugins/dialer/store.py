"""Persistence of a running campaign: the engine snapshot, call rows, numbers, SIM usage, follow-ups.

The snapshot is written before a dial is executed (write-ahead), and each result is stored with its
attempt key (unique), so a restarted process resumes without redialing or losing a result.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import structlog

from core import do_not_contact
from core.db import write_tx
from plugins.dialer.agent_protocol import SimSettings
from plugins.dialer.engine import (
    CampaignConfig,
    ConfigError,
    EngineState,
    SimState,
    calendar,
    dump,
    limits_for,
    load,
    new_state,
)
from plugins.dialer.engine import sims as simrules
from plugins.dialer.tables import Call, Campaign, CampaignNumber, Device, DeviceSlot, EngineSnapshot, SimUsage

log = structlog.get_logger("dialer.store")
UTC = dt.UTC


def ts(value: float | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value, UTC)


def attempt_key(campaign_id: int, engine_key: str) -> str:
    return f"c{campaign_id}:{engine_key}"


class SlotSetup(msgspec.Struct, kw_only=True):
    device_id: int | None
    device: str
    slot: int
    carrier: str = ""
    limits: dict[str, Any] = {}
    enabled: bool = True
    blocked: bool = False
    # What the SIM did already, in any campaign or direct call (the limits are the SIM's, not a campaign's)
    day_calls: int = 0
    day_connected: int = 0
    day_talk_s: float = 0.0
    month_talk_s: float = 0.0  # since its month_reset_day
    hour_dials: list[float] = []  # dial times within the last hour
    last_dial_at: float | None = None


class Setup(msgspec.Struct, kw_only=True):
    """Everything a runner needs to start a campaign (from the database, or sent to an agent)."""

    campaign_id: int
    status: str
    owner: int | None
    department: int | None
    mode: str
    config: dict[str, Any]
    prompt_file: str | None = None  # stored name (prompts dir) or a local path on an agent
    prompt_s: float = 0.0
    numbers: list[tuple[str, str]] = []
    dnc: list[str] = []
    history: dict[str, list[float]] = {}
    slots: list[SlotSetup] = []
    owner_day_calls: int = 0  # calls the owner made today, any campaign or direct (the daily cap is theirs)


def _json(value: Any) -> Any:
    if isinstance(value, str):
        return msgspec.json.decode(value or "null")
    return value


async def slots_for(devices: list[dict[str, Any]], now: float, tz: str) -> list[SlotSetup]:
    """The campaign's boxes and slots (all enabled boxes when none is chosen), with what each SIM did today,
    this month and in the last hour (three queries per box)."""
    out: list[SlotSetup] = []
    today = dt.date.fromordinal(calendar.day_key(now, tz))
    ids = [d["device"] for d in devices]
    q = Device.select().where(Device.enabled == True)  # noqa: E712
    rows = await (q.where(Device.id.is_in(ids)) if ids else q).order_by(Device.id)
    wanted = {d["device"]: set(d.get("slots") or []) for d in devices}
    for dev in rows:
        slots = [r for r in await DeviceSlot.select().where(DeviceSlot.device == dev["id"]).order_by(DeviceSlot.slot)
                 if not wanted.get(dev["id"]) or r["slot"] in wanted[dev["id"]]]
        month_from = {r["slot"]: calendar.month_start(now, tz, _reset_day(r)) for r in slots}
        usage = await SimUsage.select().where(
            (SimUsage.device == dev["id"]) & (SimUsage.day >= min(month_from.values(), default=today)))
        dials = await Call.select(Call.slot, Call.dial_at).where(
            (Call.device == dev["id"]) & (Call.dial_at > ts(now - 3600))).order_by(Call.dial_at)
        for row in slots:
            days = [u for u in usage if u["slot"] == row["slot"] and u["day"] >= month_from[row["slot"]]]
            on_day = next((u for u in days if u["day"] == today), None)
            times = [d["dial_at"].timestamp() for d in dials if d["slot"] == row["slot"]]
            out.append(SlotSetup(device_id=dev["id"], device=dev["name"], slot=row["slot"], carrier=row["carrier"],
                                 limits=_json(row["limits"]) or {}, enabled=row["enabled"], blocked=row["blocked"],
                                 day_calls=on_day["calls"] if on_day else 0,
                                 day_connected=on_day["connected"] if on_day else 0,
                                 day_talk_s=on_day["talk_s"] if on_day else 0.0,
                                 month_talk_s=float(sum(u["talk_s"] for u in days)),
                                 hour_dials=times, last_dial_at=times[-1] if times else None))
    return out


def _reset_day(slot_row: dict[str, Any]) -> int:
    try:
        return limits_for(slot_row["carrier"], _json(slot_row["limits"]) or {}).month_reset_day
    except ConfigError:
        return 1


async def campaign_setup(campaign_id: int, now: float) -> Setup:
    from plugins.dialer.tables import Recording

    campaign = await Campaign.select().where(Campaign.id == campaign_id).first()
    if campaign is None:
        raise LookupError(f"外呼任务 {campaign_id} 不存在 / campaign not found")
    config = _json(campaign["config"]) or {}
    prompt_file, prompt_s = None, float(config.get("prompt_s", 0.0))
    if campaign["recording"] is not None:
        rec = await Recording.select().where(Recording.id == campaign["recording"]).first()
        if rec is not None:
            prompt_file, prompt_s = f"{rec['stored_name']}.wav", float(rec["duration_s"])
    rows = await CampaignNumber.select(CampaignNumber.id, CampaignNumber.e164).where(
        (CampaignNumber.campaign == campaign_id) & (CampaignNumber.state == "pending")
    ).order_by(CampaignNumber.position)
    e164s = [r["e164"] for r in rows]
    dnc = sorted(await do_not_contact.blocked(e164s))
    history: dict[str, list[float]] = {}
    if e164s:
        since = ts(now - 86400)
        for r in await Call.select(Call.number, Call.dial_at).where(Call.number.is_in(e164s) & (Call.dial_at > since)):
            history.setdefault(r["number"], []).append(r["dial_at"].timestamp())
    for times in history.values():
        times.sort()
    tz = config.get("tz", "Asia/Shanghai")
    owner_day_calls = await Call.count().where(
        (Call.user == campaign["owner"]) & (Call.dial_at >= ts(calendar.day_start(now, tz)))
    ) if campaign["owner"] is not None else 0
    return Setup(campaign_id=campaign_id, status=campaign["status"], owner=campaign["owner"],
                 department=campaign["department"], mode=campaign["mode"], config=config, prompt_file=prompt_file,
                 prompt_s=prompt_s, numbers=[(str(r["id"]), r["e164"]) for r in rows], dnc=dnc, history=history,
                 slots=await slots_for(_json(campaign["devices"]) or [], now, tz), owner_day_calls=owner_day_calls)


def state_from_setup(setup: Setup, now: float, boxes: set[str] | None = None) -> EngineState:
    """A fresh engine state (pure): only slots of `boxes` when given (the boxes this process holds)."""
    cfg = msgspec.convert({**setup.config, "mode": setup.mode, "prompt_s": setup.prompt_s}, CampaignConfig)
    sims = []
    for s in setup.slots:
        if boxes is not None and s.device not in boxes:
            continue
        sims.append(SimState(key=f"{s.device}:{s.slot}", box=s.device, slot=s.slot,
                             limits=limits_for(s.carrier, s.limits), enabled=s.enabled, blocked=s.blocked))
    state = new_state(cfg, setup.numbers, sims, dnc=setup.dnc, history=setup.history)
    carry_usage(state, setup, now)
    return state


SAME_DIAL_S = 2.0  # a dial in both the snapshot (when decided) and the database (when started)


def _merged(known: list[float], seen: list[float], since: float) -> list[float]:
    """Dial times after `since` from both lists; a dial found in both (within SAME_DIAL_S, each time matched
    at most once) is counted once, so the result never has fewer dials than either list."""
    ours = sorted(t for t in known if t > since)
    others = sorted(t for t in seen if t > since)
    for t in ours:
        near = min(others, key=lambda u: abs(u - t), default=None)
        if near is not None and abs(near - t) <= SAME_DIAL_S:
            others.remove(near)
    return sorted(ours + others)


def carry_usage(state: EngineState, setup: Setup, now: float) -> None:
    """Bring into an engine state what its SIMs and its salesperson did elsewhere — other campaigns, direct
    calls, earlier days of the month — as `setup` (read from the database) says (pure). Counters only go up:
    a snapshot that counted a dial before its row was written keeps it, and a dial in both is counted once."""
    tz = state.config.tz
    today = calendar.day_key(now, tz)
    if state.user_day != today:
        state.user_day, state.user_day_calls = today, 0
    state.user_day_calls = max(state.user_day_calls, setup.owner_day_calls)
    for e164, times in setup.history.items():  # the per-callee caps count every campaign's calls
        known = state.callee_dials.setdefault(e164, [])
        known[:] = _merged(known, times, now - 86400)
    for s in setup.slots:
        sim = state.sims.get(f"{s.device}:{s.slot}")
        if sim is None:
            continue
        simrules.roll(sim, today, calendar.month_key(now, tz, sim.limits.month_reset_day))
        sim.day_calls = max(sim.day_calls, s.day_calls)
        sim.day_connected = max(sim.day_connected, s.day_connected)
        sim.day_talk_s = max(sim.day_talk_s, s.day_talk_s)
        sim.month_talk_s = max(sim.month_talk_s, s.month_talk_s)
        sim.hour_dials = _merged(sim.hour_dials, s.hour_dials, now - 3600)
        if s.last_dial_at is not None:
            sim.last_dial_at = max(sim.last_dial_at or s.last_dial_at, s.last_dial_at)


async def load_state(campaign_id: int) -> EngineState | None:
    """The snapshot, with the SIM settings changed since it was written (外呼设备 page) carried in."""
    row = await EngineSnapshot.select(EngineSnapshot.state).where(EngineSnapshot.campaign == campaign_id).first()
    if not row or not row["state"]:
        return None
    state = load(row["state"])
    await sync_sims(state, unblock=True)
    return state


async def sync_sims(state: EngineState, *, unblock: bool = False) -> None:
    """Re-read each SIM's settings (box/slot enabled, carrier preset + limits, blocked) into an engine state.

    The database holds the configuration, the state its counters. A block set in the database applies at
    once; a cleared one only with `unblock` (a resumed snapshot): a running engine may have just blocked a
    SIM whose database row is written a moment later, and is unblocked by a ResetSim input instead.
    All reads happen before the first change, so a runner never decides on a half-updated state.
    """
    settings = [s for name in sorted({s.box for s in state.sims.values()}) for s in await sim_settings(name)]
    apply_sim_settings(state, settings, unblock=unblock)


def apply_sim_settings(state: EngineState, settings: list[SimSettings], *, unblock: bool = False) -> int:
    """Carry slot settings into an engine state (pure); returns how many of its SIMs changed. Limits that
    do not validate are left as they were (logged)."""
    changed = 0
    for s in settings:
        sim = state.sims.get(f"{s.device}:{s.slot}")
        if sim is None:
            continue
        try:
            sim.limits = limits_for(s.carrier, s.limits)
        except ConfigError:
            log.warning("sim_limits_invalid", box=s.device, slot=s.slot)
        sim.enabled = s.enabled
        if s.blocked:
            sim.blocked = True
        elif unblock and sim.blocked:
            sim.blocked, sim.lock_reason, sim.consecutive_barred = False, "", 0
        changed += 1
    return changed


async def sim_settings(device_name: str) -> list[SimSettings]:
    """The box's slots as configured now (a disabled box disables every slot)."""
    dev = await Device.select(Device.id, Device.enabled).where(Device.name == device_name).first()
    if dev is None:
        return []
    return [SimSettings(device=device_name, slot=r["slot"], carrier=r["carrier"], limits=_json(r["limits"]) or {},
                        enabled=bool(r["enabled"] and dev["enabled"]), blocked=r["blocked"])
            for r in await DeviceSlot.select().where(DeviceSlot.device == dev["id"])]


async def save_state(campaign_id: int, state: EngineState) -> None:
    data = dump(state).decode()
    now = dt.datetime.now(UTC)
    async with write_tx():
        updated = await EngineSnapshot.update({EngineSnapshot.state: data, EngineSnapshot.updated_at: now,
                                               EngineSnapshot.version: EngineSnapshot.version + 1}).where(
            EngineSnapshot.campaign == campaign_id).returning(EngineSnapshot.id)
        if not updated:
            await EngineSnapshot.insert(EngineSnapshot(campaign=campaign_id, state=data, version=1, updated_at=now))
        t = state.totals
        await Campaign.update({Campaign.dialed: t.dials, Campaign.answered: t.answered,
                               Campaign.effective: t.effective}).where(Campaign.id == campaign_id)


class DialInfo(msgspec.Struct, kw_only=True):
    key: str
    campaign_id: int | None
    number_id: int | None
    e164: str
    dial_at: float
    device_id: int | None
    device_name: str
    slot: int
    user_id: int | None
    department_id: int | None
    kind: str = "campaign"
    call_type: str = "业务联系"


async def call_started(info: DialInfo) -> bool:
    """The call row exists from the moment we dial (state: no end yet). False if it existed already."""
    customer = contact = None
    caller = iccid = ""
    if info.number_id is not None:
        n = await CampaignNumber.select(CampaignNumber.customer, CampaignNumber.contact).where(
            CampaignNumber.id == info.number_id).first()
        if n:
            customer, contact = n["customer"], n["contact"]
    if info.device_id is not None:
        slot = await DeviceSlot.select(DeviceSlot.caller_number, DeviceSlot.iccid).where(
            (DeviceSlot.device == info.device_id) & (DeviceSlot.slot == info.slot)).first()
        if slot:
            caller, iccid = slot["caller_number"], slot["iccid"]
    async with write_tx():
        if await Call.exists().where(Call.attempt_key == info.key):
            return False
        await Call.insert(Call(
            attempt_key=info.key, kind=info.kind, call_type=info.call_type, campaign=info.campaign_id,
            campaign_number=info.number_id, user=info.user_id, department=info.department_id, customer=customer,
            contact=contact, number=info.e164, caller_number=caller, device=info.device_id,
            device_name=info.device_name, slot=info.slot, iccid=iccid, dial_at=ts(info.dial_at),
            created_at=dt.datetime.now(UTC)))
        if info.number_id is not None:
            await CampaignNumber.update({CampaignNumber.state: "dialing",
                                         CampaignNumber.attempts: CampaignNumber.attempts + 1}).where(
                CampaignNumber.id == info.number_id)
    return True


class CallResult(msgspec.Struct, kw_only=True):
    key: str
    answered: bool
    cause: str
    q850: int | None = None
    hangup_by: str = ""
    alert_at: float | None = None
    answer_at: float | None = None
    end_at: float
    ring_s: float = 0.0
    talk_s: float = 0.0
    total_s: float = 0.0
    listened_s: float = 0.0
    taken_over_at: float | None = None
    abandoned: bool = False
    effective: bool = False
    recording_file: str = ""
    recording_size: int = 0


async def call_finished(res: CallResult, *, number_state: str | None = None, number_result: str = "",
                        next_at: float | None = None) -> bool:
    """Store a result once. Returns False if this attempt already had its result."""
    async with write_tx():
        row = await Call.select(Call.id, Call.end_at, Call.device, Call.slot, Call.dial_at).where(
            Call.attempt_key == res.key).first()
        if row is None or row["end_at"] is not None:
            return False
        await Call.update({
            Call.answered: res.answered, Call.cause: res.cause, Call.q850: res.q850, Call.hangup_by: res.hangup_by,
            Call.alert_at: ts(res.alert_at), Call.answer_at: ts(res.answer_at), Call.end_at: ts(res.end_at),
            Call.ring_s: res.ring_s, Call.talk_s: res.talk_s, Call.total_s: res.total_s,
            Call.listened_s: res.listened_s, Call.taken_over: res.taken_over_at is not None,
            Call.taken_over_at: ts(res.taken_over_at), Call.abandoned: res.abandoned, Call.effective: res.effective,
            Call.recording_file: res.recording_file, Call.recording_size: res.recording_size,
        }).where(Call.id == row["id"])
        await _count_usage(row["device"], row["slot"], row["dial_at"], res)
    return True


async def update_number(number_id: int, status: str, result: str, attempts: int, next_at: float) -> None:
    async with write_tx():
        await CampaignNumber.update({CampaignNumber.state: status, CampaignNumber.result: result,
                                     CampaignNumber.attempts: attempts,
                                     CampaignNumber.next_attempt_at: ts(next_at) if next_at else None}).where(
            CampaignNumber.id == number_id)


async def _count_usage(device_id: int | None, slot: int, dial_at: dt.datetime, res: CallResult) -> None:
    if device_id is None:
        return
    day = dial_at.astimezone(calendar.zone("Asia/Shanghai")).date()
    where = (SimUsage.device == device_id) & (SimUsage.slot == slot) & (SimUsage.day == day)
    row = await SimUsage.select().where(where).first()
    if row is None:
        await SimUsage.insert(SimUsage(device=device_id, slot=slot, day=day))
        row = {"calls": 0, "connected": 0, "talk_s": 0.0, "failures": 0}
    failed = not res.answered and res.cause not in ("busy", "no_answer", "rejected")
    await SimUsage.update({
        SimUsage.calls: row["calls"] + 1,
        SimUsage.connected: row["connected"] + (1 if res.answered else 0),
        SimUsage.talk_s: row["talk_s"] + res.talk_s,
        SimUsage.failures: row["failures"] + (1 if failed else 0),
    }).where(where)


async def mark_interrupted(key: str, at: float) -> CallResult | None:
    """A call whose result never arrived (the process died): stored as `interrupted`, once."""
    row = await Call.select().where(Call.attempt_key == key).first()
    if row is None:
        return None
    if row["end_at"] is not None:
        return CallResult(key=key, answered=row["answered"], cause=row["cause"], q850=row["q850"],
                          end_at=row["end_at"].timestamp(), talk_s=row["talk_s"])
    res = CallResult(key=key, answered=False, cause="interrupted", end_at=at)
    await call_finished(res)
    return res


async def set_campaign_status(campaign_id: int, status: str, reason: str = "") -> None:
    values: dict[Any, Any] = {Campaign.status: status, Campaign.status_reason: reason}
    if status in ("done", "stopped"):
        values[Campaign.finished_at] = dt.datetime.now(UTC)
    async with write_tx():
        await Campaign.update(values).where(Campaign.id == campaign_id)


async def device_ids() -> dict[str, int]:
    return {r["name"]: r["id"] for r in await Device.select(Device.id, Device.name)}


async def block_sim(device_id: int, slot: int, reason: str) -> None:
    async with write_tx():
        await DeviceSlot.update({DeviceSlot.blocked: True, DeviceSlot.lock_reason: reason[:200]}).where(
            (DeviceSlot.device == device_id) & (DeviceSlot.slot == slot))
