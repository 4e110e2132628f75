"""Per-SIM limits, health gates and rotation. Pure functions over `SimState`.

Rotation only keeps every SIM inside the limits its carrier sets; nothing here varies timing or
patterns to look "human" to a carrier.
"""

from __future__ import annotations

from plugins.dialer.engine.config import CampaignConfig
from plugins.dialer.engine.state import LineState, SimState

HOUR = 3600.0
SOFT = "gap"  # wait a little on the same SIM; every other reason is a hard limit


def roll(sim: SimState, today: int, month: int) -> None:
    if sim.day != today:
        sim.day, sim.day_calls, sim.day_connected, sim.day_talk_s = today, 0, 0, 0.0
    if sim.month != month:
        sim.month, sim.month_talk_s = month, 0.0


def unlock_if_due(sim: SimState, now: float) -> None:
    if sim.locked_until is not None and sim.locked_until <= now and not sim.locked_manual:
        sim.locked_until, sim.lock_reason = None, ""


def blocker(sim: SimState, now: float, cfg: CampaignConfig) -> str | None:
    """Why this SIM may not dial now (None: it may)."""
    lim = sim.limits
    if not sim.enabled:
        return "disabled"
    if sim.blocked:
        return "blocked"
    if sim.locked_manual or (sim.locked_until is not None and sim.locked_until > now):
        return "locked"
    if not sim.ready:
        return "not_ready"
    if not sim.registered:
        return "not_registered"
    if sim.signal is not None and sim.signal < lim.min_signal:
        return "weak_signal"
    if lim.max_calls_per_day is not None and sim.day_calls >= lim.max_calls_per_day:
        return "day_limit"
    if cfg.sim_max_per_day is not None and sim.day_calls >= cfg.sim_max_per_day:
        return "day_limit"
    if lim.max_connected_per_day is not None and sim.day_connected >= lim.max_connected_per_day:
        return "connected_limit"
    if lim.max_talk_minutes_per_day is not None and sim.day_talk_s >= lim.max_talk_minutes_per_day * 60:
        return "talk_day_limit"
    if lim.max_talk_minutes_per_month is not None and sim.month_talk_s >= lim.max_talk_minutes_per_month * 60:
        return "talk_month_limit"
    if sim.hour_dials and sim.hour_dials[0] <= now - HOUR:
        sim.hour_dials = [t for t in sim.hour_dials if t > now - HOUR]
    if lim.max_calls_per_hour is not None and len(sim.hour_dials) >= lim.max_calls_per_hour:
        return "hour_limit"
    if sim.last_dial_at is not None and now - sim.last_dial_at < lim.min_gap_s:
        return SOFT
    return None


def next_free_at(sim: SimState, now: float) -> float | None:
    """When a SIM blocked by a timed limit may dial again (None: not by time alone)."""
    out: list[float] = []
    if sim.locked_until is not None and not sim.locked_manual and sim.locked_until > now:
        out.append(sim.locked_until)
    if sim.last_dial_at is not None:
        out.append(sim.last_dial_at + sim.limits.min_gap_s)
    if sim.hour_dials:
        out.append(sim.hour_dials[0] + HOUR)
    later = [t for t in out if t > now]
    return min(later) if later else None


def choose(line: LineState, sims: list[SimState], now: float, cfg: CampaignConfig) -> SimState | None:
    """The SIM this line dials on now, by the campaign's rotation strategy, or None (wait)."""
    ok: list[SimState] = []
    soft: list[SimState] = []
    for s in sims:
        why = blocker(s, now, cfg)
        if why is None:
            ok.append(s)
        elif why == SOFT:
            soft.append(s)
    if cfg.rotation == "sticky_until_limit":
        if line.sticky_sim is not None:
            for s in ok:
                if s.key == line.sticky_sim:
                    return s
            if any(s.key == line.sticky_sim for s in soft):
                return None  # stay on it: only the minimum gap is in the way
        return ok[0] if ok else None
    if not ok:
        return None
    if cfg.rotation == "least_used_today":
        return min(ok, key=lambda s: (s.day_calls, s.slot))
    last = line.sticky_sim
    if last is not None:
        last_slot = next((s.slot for s in sims if s.key == last), 0)
        after = [s for s in ok if s.slot > last_slot]
        if after:
            return min(after, key=lambda s: s.slot)
    return min(ok, key=lambda s: s.slot)


def count_dial(sim: SimState, now: float) -> None:
    sim.hour_dials.append(now)
    sim.day_calls += 1
    sim.last_dial_at = now


def lock(sim: SimState, now: float, reason: str) -> None:
    if sim.limits.cooldown_s < 0:
        sim.locked_manual = True
        sim.locked_until = None
    else:
        sim.locked_until = now + sim.limits.cooldown_s
    sim.lock_reason = reason


def count_result(sim: SimState, now: float, outcome: str, q850: int | None, talk_s: float) -> str | None:
    """Update counters and consecutive-* streaks; returns an alert code ('sim_blocked' / 'sim_locked')."""
    lim = sim.limits
    if outcome == "answered":
        sim.day_connected += 1
        sim.day_talk_s += talk_s
        sim.month_talk_s += talk_s
        sim.consecutive_fail = sim.consecutive_no_answer = sim.consecutive_barred = 0
        if talk_s < lim.short_call_s:
            sim.consecutive_short += 1
        else:
            sim.consecutive_short = 0
    elif outcome in ("busy", "rejected"):
        sim.consecutive_fail = sim.consecutive_barred = 0
    elif outcome == "no_answer":
        sim.consecutive_no_answer += 1
        sim.consecutive_fail = sim.consecutive_barred = 0
    elif outcome in ("network_failure", "unreachable", "failed"):
        sim.consecutive_fail += 1
    sim.consecutive_barred = sim.consecutive_barred + 1 if q850 == 8 else 0
    if lim.blocked_after_barred and sim.consecutive_barred >= lim.blocked_after_barred:
        sim.blocked = True
        sim.lock_reason = "运营商限制呼叫（Q.850 8） / operator determined barring"
        return "sim_blocked"
    for count, limit, reason in (
        (sim.consecutive_fail, lim.consecutive_fail_limit, "连续失败 / consecutive failures"),
        (sim.consecutive_no_answer, lim.consecutive_no_answer_limit, "连续未接 / consecutive no-answers"),
        (sim.consecutive_short, lim.consecutive_short_limit, "连续短通话 / consecutive short calls"),
    ):
        if limit and count >= limit:
            sim.consecutive_fail = sim.consecutive_no_answer = sim.consecutive_short = 0
            lock(sim, now, reason)
            return "sim_locked"
    return None
