"""The pure decision core: `step(state, now, inputs) -> actions`. No I/O, no clock of its own.

Every decision that spends a limit (a dial) is counted the moment it is made, so a result that never
comes back can make the engine cautious, never over the limit. Results are keyed by attempt and
applied once.
"""

from __future__ import annotations

from collections.abc import Iterable

from plugins.dialer.engine import calendar
from plugins.dialer.engine import io as i
from plugins.dialer.engine import sims as simrules
from plugins.dialer.engine.config import CampaignConfig
from plugins.dialer.engine.state import Attempt, EngineState, LineState, NumberState, SimState

DAY = 86400.0
IN_FLIGHT = ("dialing", "answered", "prompt")
OUTCOMES = {
    "busy": "busy",
    "no_answer": "no_answer",
    "rejected": "rejected",
    "unreachable": "unreachable",
    "network_failure": "network_failure",
}


def outcome_of(cause: str, answered: bool) -> str:
    if answered:
        return "answered"
    return OUTCOMES.get(cause, "failed")


def new_state(config: CampaignConfig, numbers: Iterable[tuple[str, str]], sims: Iterable[SimState],
              *, dnc: Iterable[str] = (), history: dict[str, list[float]] | None = None) -> EngineState:
    """A fresh state: numbers as (id, e164) in dialing order, the SIMs of every line (box)."""
    st = EngineState(config=config, dnc=set(dnc), callee_dials=dict(history or {}))
    for nid, e164 in numbers:
        st.numbers[nid] = NumberState(id=nid, e164=e164)
        st.queue.append(nid)
    for s in sims:
        st.sims[s.key] = s
        st.lines.setdefault(s.box, LineState(box=s.box))
    return st


def step(state: EngineState, now: float, inputs: Iterable[i.AnyInput] = ()) -> list[i.AnyAction]:
    out: list[i.AnyAction] = []
    for inp in inputs:
        apply(state, inp, out)
    decide(state, now, out)
    return out


# ---------------------------------------------------------------- inputs


def apply(st: EngineState, inp: i.AnyInput, out: list[i.AnyAction]) -> None:
    if isinstance(inp, i.Ended):
        _ended(st, inp, out)
    elif isinstance(inp, i.Answered):
        att = st.attempts.get(inp.attempt)
        if att is not None and att.answer_at is None:
            att.answer_at = inp.at
            st.totals.answered += 1
            line = st.lines[att.line]
            if line.attempt == att.key:
                line.status, line.answer_at = "answered", inp.at
    elif isinstance(inp, i.TakeOver):
        line = st.lines.get(inp.line)
        if line is not None and line.status in ("answered", "prompt") and line.attempt is not None:
            _connect(st, line, inp.at, out)
    elif isinstance(inp, i.AgentReady):
        if st.agent.status in ("wrapup", "away"):
            st.agent.status, st.agent.line, st.agent.since = "free", None, inp.at
    elif isinstance(inp, i.AgentAway):
        if st.agent.status != "talking":
            st.agent.status, st.agent.since = "away", inp.at
    elif isinstance(inp, i.SimHealth):
        sim = st.sims.get(f"{inp.box}:{inp.slot}")
        if sim is not None:
            sim.ready, sim.registered, sim.signal = inp.ready, inp.registered, inp.signal
    elif isinstance(inp, i.LineUp):
        line = st.lines.get(inp.box)
        if line is not None and line.status == "down":
            line.status = "idle"
    elif isinstance(inp, i.LineDown):
        line = st.lines.get(inp.box)
        if line is not None and line.attempt is None:
            line.status = "down"
        elif line is not None:
            line.ready_at = float("inf")  # goes down when its call's result arrives
    elif isinstance(inp, i.AddDnc):
        st.dnc.add(inp.e164)
        for n in st.numbers.values():
            if n.e164 == inp.e164 and n.status == "pending":
                n.status, n.result = "dnc", "dnc"
    elif isinstance(inp, i.Pause):
        if st.status == "running":
            st.status = "paused"
    elif isinstance(inp, i.Resume):
        if st.status == "paused":
            st.status = "running"
    elif isinstance(inp, i.Stop):
        st.status = "stopped"
        for line in st.lines.values():
            if line.status == "dialing" and line.attempt is not None:
                out.append(i.Hangup(attempt=line.attempt, line=line.box, reason="stopped"))
    elif isinstance(inp, i.ResetSim):
        sim = st.sims.get(inp.key)
        if sim is not None:
            sim.blocked = sim.locked_manual = False
            sim.locked_until, sim.lock_reason = None, ""
            sim.consecutive_fail = sim.consecutive_no_answer = sim.consecutive_short = sim.consecutive_barred = 0


def _connect(st: EngineState, line: LineState, at: float, out: list[i.AnyAction]) -> None:
    assert line.attempt is not None
    att = st.attempts[line.attempt]
    att.taken_over_at = at
    line.status = "talking"
    st.agent.status, st.agent.line, st.agent.since = "talking", line.box, at
    out.append(i.Connect(attempt=att.key, line=line.box))


def _ended(st: EngineState, ev: i.Ended, out: list[i.AnyAction]) -> None:
    if ev.attempt in st.done:
        return  # a result is applied once
    att = st.attempts.pop(ev.attempt, None)
    outcome = outcome_of(ev.cause, ev.answered or (att is not None and att.answer_at is not None))
    st.done[ev.attempt] = outcome
    if att is None:
        return
    cfg = st.config
    if outcome == "answered" and att.answer_at is None:
        att.answer_at = ev.at - ev.talk_s
        st.totals.answered += 1
    line = st.lines[att.line]
    if line.attempt == att.key:
        down = line.ready_at == float("inf")
        line.status = "down" if down else "idle"
        line.attempt = line.number = None
        line.answer_at = None
        line.ready_at = 0.0 if down else ev.at + cfg.gap_s
    sim = st.sims[att.sim]
    talk = ev.talk_s if outcome == "answered" else 0.0
    alert = simrules.count_result(sim, ev.at, outcome, ev.q850, talk)
    if alert is not None:
        msg = (f"SIM {sim.key} 疑似被运营商封停，已移出轮换 / looks blocked by the carrier, taken out of rotation"
               if alert == "sim_blocked" else f"SIM {sim.key} 暂停使用：{sim.lock_reason} / locked: {sim.lock_reason}")
        out.append(i.Alert(code=alert, message=msg, sim=sim.key))
    t = st.totals
    t.results[outcome] = t.results.get(outcome, 0) + 1
    t.talk_s += talk
    if att.abandon:
        t.abandoned += 1
    if att.taken_over_at is not None:
        agent_talk = max(0.0, ev.at - att.taken_over_at)
        if agent_talk >= cfg.effective_s:
            t.effective += 1
        if st.agent.line == line.box and st.agent.status == "talking":
            st.agent.status, st.agent.line = "wrapup", None
            st.agent.since, st.agent.until = ev.at, ev.at + cfg.wrapup_s
    n = st.numbers.get(att.number)
    if n is None:
        return
    if n.e164 in st.dnc:
        n.status, n.result = "dnc", outcome
        return
    if outcome == "answered":
        n.status, n.result = "done", ("abandoned" if att.abandon else "answered")
        return
    rule = cfg.retry.get(outcome)
    if rule is None or n.attempts >= rule.max_attempts or st.status == "stopped":
        n.status, n.result = "exhausted", outcome
    else:
        n.status, n.result = "pending", outcome
        n.next_at = ev.at + rule.after_min * 60
        if n.id in st.queue:  # retries go behind the fresh numbers (the scan then stops early)
            st.queue.remove(n.id)
            st.queue.append(n.id)


# ---------------------------------------------------------------- decisions


def _agent_available_by(st: EngineState, t: float) -> bool:
    a = st.agent
    if a.status == "free":
        return True
    return a.status == "wrapup" and a.until <= t


def decide(st: EngineState, now: float, out: list[i.AnyAction]) -> None:
    cfg = st.config
    if st.agent.status == "wrapup" and st.agent.until <= now:
        st.agent.status, st.agent.line, st.agent.since = "free", None, st.agent.until
    wake: list[float] = []
    _supervise(st, now, out, wake)
    if st.status in ("stopped", "done"):
        if not st.attempts:
            out.append(i.Finished(reason=st.status))
        return
    if st.status == "paused":
        out.append(i.Wait(until=float("inf"), reason="paused"))
        return
    _prune_queue(st)
    if not st.queue:
        if not st.attempts:
            st.status = "done"
            out.append(i.Finished(reason="done"))
        return
    ok, when = calendar.may_start_call(now, cfg)
    if not ok:
        out.append(i.Wait(until=when, reason="window"))
        return
    today = calendar.day_key(now, cfg.tz)
    if st.user_day != today:
        st.user_day, st.user_day_calls = today, 0
    day_start = calendar.day_start(now, cfg.tz)
    reason = ""
    for line in st.lines.values():
        if line.status != "idle":
            continue
        if line.ready_at > now:
            wake.append(line.ready_at)
            continue
        r = _try_dial(st, line, now, today, day_start, out, wake)
        if r:
            reason = r
    if not any(isinstance(a, i.Dial) for a in out):
        later = [t for t in wake if t > now]
        out.append(i.Wait(until=min(later) if later else now + 60.0, reason=reason or "busy"))


def _supervise(st: EngineState, now: float, out: list[i.AnyAction], wake: list[float]) -> None:
    cfg = st.config
    for line in st.lines.values():
        if line.attempt is None:
            continue
        att = st.attempts.get(line.attempt)
        if att is None:
            continue
        if line.status == "dialing":
            deadline = line.dial_at + cfg.ring_timeout_s
            if now >= deadline:
                if not att.abandon and line.attempt not in st.alerts_sent:
                    st.alerts_sent.add(line.attempt)
                    out.append(i.Hangup(attempt=att.key, line=line.box, reason="ring_timeout"))
            else:
                wake.append(deadline)
            continue
        if line.status == "answered":
            if cfg.mode == "manual":
                if _agent_available_by(st, now):
                    _connect(st, line, now, out)
                else:
                    _abandon(st, line, att, out)
                continue
            line.status = "prompt"
            out.append(i.PlayPrompt(attempt=att.key, line=line.box))
        if line.status == "prompt":
            listened = now - (line.answer_at or now)
            if cfg.mode == "auto_handover" and listened >= cfg.handover_s and _agent_available_by(st, now):
                _connect(st, line, now, out)
            elif listened >= cfg.prompt_s:
                if _agent_available_by(st, now):
                    _connect(st, line, now, out)
                elif not att.abandon:
                    _abandon(st, line, att, out)
            else:
                t = (line.answer_at or now) + cfg.prompt_s
                if cfg.mode == "auto_handover":
                    t = min(t, (line.answer_at or now) + cfg.handover_s)
                wake.append(t)
                if st.agent.status == "wrapup":
                    wake.append(st.agent.until)
        if line.status == "talking":
            lim = st.sims[att.sim].limits
            if lim.max_single_call_s is not None and att.answer_at is not None:
                end = att.answer_at + lim.max_single_call_s
                if now >= end and att.key not in st.alerts_sent:
                    st.alerts_sent.add(att.key)
                    out.append(i.Hangup(attempt=att.key, line=line.box, reason="max_duration"))
                else:
                    wake.append(end)


def _abandon(st: EngineState, line: LineState, att: Attempt, out: list[i.AnyAction]) -> None:
    att.abandon = True
    out.append(i.Hangup(attempt=att.key, line=line.box, reason="abandoned"))


def _prune_queue(st: EngineState) -> None:
    """Trim finished numbers off both ends (finished ones in the middle are skipped by the scan)."""
    q, nums = st.queue, st.numbers
    lo = 0
    while lo < len(q) and nums[q[lo]].status not in ("pending", "dialing"):
        lo += 1
    hi = len(q)
    while hi > lo and nums[q[hi - 1]].status not in ("pending", "dialing"):
        hi -= 1
    if lo or hi < len(q):
        st.queue = q[lo:hi]


def _abandon_budget_ok(st: EngineState, now: float) -> bool:
    """Dialing one more line keeps (abandoned + calls that could still be abandoned) ≤ cap × answered."""
    cfg = st.config
    in_flight = sum(1 for ln in st.lines.values() if ln.status in IN_FLIGHT)
    horizon = 0.0 if cfg.mode == "manual" else cfg.prompt_s
    available = 1 if _agent_available_by(st, now + horizon) else 0
    potential = in_flight + 1 - available
    if potential <= 0:
        return True
    if cfg.mode == "manual":
        return False
    pending_abandon = sum(1 for a in st.attempts.values() if a.abandon)
    return st.totals.abandoned + pending_abandon + potential <= cfg.abandon_cap * st.totals.answered


def _callee_ok(st: EngineState, e164: str, now: float, day_start: float) -> float | None:
    """None if the callee may be called now, else when to look again."""
    cfg = st.config
    times = st.callee_dials.get(e164)
    if not times:
        return None
    if times[0] <= now - DAY:
        times[:] = [t for t in times if t > now - DAY]
        if not times:
            return None
    if len(times) >= cfg.callee_max_per_24h:
        return times[len(times) - cfg.callee_max_per_24h] + DAY
    if sum(1 for t in times if t >= day_start) >= cfg.callee_max_per_day:
        return day_start + DAY
    if now - times[-1] < cfg.callee_min_gap_s:
        return times[-1] + cfg.callee_min_gap_s
    return None


def _try_dial(st: EngineState, line: LineState, now: float, today: int, day_start: float,
              out: list[i.AnyAction], wake: list[float]) -> str:
    cfg = st.config
    if not _abandon_budget_ok(st, now):
        if st.agent.status == "wrapup":
            wake.append(st.agent.until - (0.0 if cfg.mode == "manual" else cfg.prompt_s))
        return "agent_busy"
    if cfg.user_max_per_day is not None and st.user_day_calls >= cfg.user_max_per_day:
        wake.append(day_start + DAY)
        return "user_day_limit"
    line_sims = [s for s in st.sims.values() if s.box == line.box]
    for s in line_sims:
        simrules.unlock_if_due(s, now)
        simrules.roll(s, today, calendar.month_key(now, cfg.tz, s.limits.month_reset_day))
    sim = simrules.choose(line, line_sims, now, cfg)
    if sim is None:
        for s in line_sims:
            t = simrules.next_free_at(s, now)
            if t is not None:
                wake.append(t)
        wake.append(day_start + DAY)
        key = f"sims_exhausted:{line.box}:{today}"
        if key not in st.alerts_sent and all(simrules.blocker(s, now, cfg) not in (None, simrules.SOFT)
                                             for s in line_sims):
            st.alerts_sent.add(key)
            out.append(i.Alert(code="sims_exhausted",
                               message=f"{line.box} 的 SIM 卡都已达到限额或不可用 / every SIM of {line.box} "
                                       "is at a limit or unusable"))
        return "sims_limited"
    number = None
    for nid in st.queue:
        n = st.numbers[nid]
        if n.status != "pending":
            continue
        if n.e164 in st.dnc:
            n.status, n.result = "dnc", "dnc"
            continue
        if n.next_at > now:
            wake.append(n.next_at)
            continue
        again = _callee_ok(st, n.e164, now, day_start)
        if again is not None:
            wake.append(again)
            continue
        number = n
        break
    if number is None:
        return "waiting_retry"
    number.status = "dialing"
    number.attempts += 1
    key = f"{number.id}/{number.attempts}"
    simrules.count_dial(sim, now)
    st.callee_dials.setdefault(number.e164, []).append(now)
    st.user_day_calls += 1
    st.totals.dials += 1
    st.seq += 1
    st.attempts[key] = Attempt(key=key, number=number.id, e164=number.e164, line=line.box, sim=sim.key, dial_at=now)
    line.status, line.attempt, line.number, line.sim = "dialing", key, number.id, sim.key
    line.dial_at, line.answer_at, line.sticky_sim = now, None, sim.key
    out.append(i.Dial(attempt=key, line=line.box, number=number.id, e164=number.e164, box=sim.box, slot=sim.slot))
    return ""
