"""The pure decision core: unit cases and hypothesis properties (no database, no box)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugins.dialer.engine import (
    CampaignConfig,
    ConfigError,
    SimLimits,
    SimState,
    calendar,
    dump,
    load,
    new_state,
    step,
    validate,
)
from plugins.dialer.engine import io as i
from plugins.dialer.simworld import CalleeModel, World

SH = ZoneInfo("Asia/Shanghai")
MONDAY_9 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=SH).timestamp()


def sims_for(boxes: int, slots: int = 5, limits: SimLimits | None = None) -> list[SimState]:
    return [SimState(key=f"b{b}:{s}", box=f"b{b}", slot=s, limits=limits or SimLimits())
            for b in range(boxes) for s in range(1, slots + 1)]


def numbers(n: int) -> list[tuple[str, str]]:
    return [(str(k), f"+86138{k:08d}") for k in range(n)]


def test_ring_timeout_floor_and_bad_windows() -> None:
    with pytest.raises(ConfigError, match="15"):
        validate(CampaignConfig(ring_timeout_s=10))
    with pytest.raises(ConfigError, match="HH:MM"):
        validate(CampaignConfig(windows=[("9:00", "12:00")]))
    with pytest.raises(ConfigError, match="ends before"):
        validate(CampaignConfig(windows=[("12:00", "09:00")]))
    assert validate(CampaignConfig()).ring_timeout_s >= 15


def test_windows_lunch_weekend_holiday() -> None:
    cfg = CampaignConfig(holidays=[dt.date(2026, 12, 8)])
    assert calendar.may_start_call(MONDAY_9 + 60, cfg)[0]
    lunch = dt.datetime(2026, 12, 7, 12, 30, tzinfo=SH).timestamp()
    ok, when = calendar.may_start_call(lunch, cfg)
    assert not ok and when == dt.datetime(2026, 12, 7, 13, 30, tzinfo=SH).timestamp()
    last_seconds = dt.datetime(2026, 12, 7, 11, 59, 50, tzinfo=SH).timestamp()
    assert not calendar.may_start_call(last_seconds, cfg)[0]  # the ring timeout would cross noon
    evening = dt.datetime(2026, 12, 7, 19, 0, tzinfo=SH).timestamp()
    ok, when = calendar.may_start_call(evening, cfg)
    assert not ok and when == dt.datetime(2026, 12, 9, 9, 0, tzinfo=SH).timestamp()  # Tuesday is a holiday
    saturday = dt.datetime(2026, 12, 12, 10, 0, tzinfo=SH).timestamp()
    assert not calendar.may_start_call(saturday, cfg)[0]
    assert calendar.may_start_call(saturday, CampaignConfig(workdays=[dt.date(2026, 12, 12)]))[0]


def test_chinese_public_holidays_and_weekend_workdays_by_default() -> None:
    """国庆 is no calling day, the Saturday worked instead of it (调休) is; a campaign may opt out or override."""
    at = lambda y, m, d, h=10: dt.datetime(y, m, d, h, 0, tzinfo=SH).timestamp()  # noqa: E731
    cfg = CampaignConfig()
    assert cfg.public_holidays == "CN"
    assert not calendar.may_start_call(at(2026, 10, 1), cfg)[0]  # National Day, a Thursday
    assert not calendar.may_start_call(at(2026, 2, 17), cfg)[0]  # Spring Festival
    ok, when = calendar.may_start_call(at(2026, 9, 30, 19), cfg)
    assert not ok and when == at(2026, 10, 8, 9)  # after the golden week
    assert calendar.may_start_call(at(2026, 10, 10), cfg)[0]  # a Saturday worked (调休)
    assert not calendar.may_start_call(at(2026, 10, 1), CampaignConfig(weekdays=list(range(7))))[0]
    assert calendar.may_start_call(at(2026, 10, 1), CampaignConfig(public_holidays=""))[0]
    assert not calendar.may_start_call(at(2026, 10, 10), CampaignConfig(public_holidays=""))[0]
    assert calendar.may_start_call(at(2026, 10, 1), CampaignConfig(workdays=[dt.date(2026, 10, 1)]))[0]


def test_outside_window_waits_without_dialing() -> None:
    state = new_state(CampaignConfig(), numbers(3), sims_for(1))
    actions = step(state, MONDAY_9 - 3600)
    assert [type(a) for a in actions] == [i.Wait] and actions[0].reason == "window"
    assert actions[0].until == MONDAY_9


def dial_of(actions: list[i.AnyAction]) -> i.Dial:
    dials = [a for a in actions if isinstance(a, i.Dial)]
    assert dials, actions
    return dials[0]


@pytest.mark.parametrize("rotation,expected", [
    ("sequential", [1, 2, 3, 1]),
    ("least_used_today", [1, 2, 3, 1]),
    ("sticky_until_limit", [1, 1, 2, 2]),
])
def test_rotation_strategies(rotation: str, expected: list[int]) -> None:
    lim = SimLimits(max_calls_per_day=2, min_gap_s=0) if rotation == "sticky_until_limit" else SimLimits(min_gap_s=0)
    cfg = CampaignConfig(rotation=rotation, gap_s=0, callee_min_gap_s=0)  # type: ignore[arg-type]
    state = new_state(cfg, numbers(10), sims_for(1, 3, lim))
    now, slots = MONDAY_9, []
    acts = step(state, now)
    for _ in range(4):
        d = dial_of(acts)
        slots.append(d.slot)
        now += 40
        acts = step(state, now, [i.Ended(at=now, attempt=d.attempt, answered=False, cause="busy")])
    assert slots == expected


def test_health_gates_and_blocked_sim_alert() -> None:
    lim = SimLimits(min_gap_s=0, min_signal=10)
    state = new_state(CampaignConfig(gap_s=0), numbers(10), sims_for(1, 2, lim))
    actions = step(state, MONDAY_9, [i.SimHealth(at=MONDAY_9, box="b0", slot=1, signal=5)])
    assert dial_of(actions).slot == 2  # slot 1's signal is too weak
    now = MONDAY_9
    alerts: list[i.Alert] = []
    for _ in range(3):
        d = dial_of(actions)
        now += 5
        acts = step(state, now, [i.Ended(at=now, attempt=d.attempt, answered=False, cause="network_failure", q850=8)])
        alerts += [a for a in acts if isinstance(a, i.Alert)]
        actions = acts
        if state.sims["b0:2"].blocked:
            break
    assert state.sims["b0:2"].blocked
    assert alerts and alerts[0].code == "sim_blocked" and "运营商" in alerts[0].message
    acts = step(state, now + 100)
    assert not any(isinstance(a, i.Dial) for a in acts)  # slot 1 weak, slot 2 blocked
    assert any(isinstance(a, i.Alert) and a.code == "sims_exhausted" for a in [*alerts, *acts])


def test_dnc_added_while_pending_is_never_dialed() -> None:
    state = new_state(CampaignConfig(gap_s=0), numbers(2), sims_for(1, 1, SimLimits(min_gap_s=0)))
    d = dial_of(step(state, MONDAY_9))
    assert d.number == "0"
    acts = step(state, MONDAY_9 + 5, [i.AddDnc(at=MONDAY_9 + 1, e164="+8613800000001"),
                                       i.Ended(at=MONDAY_9 + 5, attempt=d.attempt, answered=False, cause="busy")])
    assert not any(isinstance(a, i.Dial) and a.number == "1" for a in acts)
    assert state.numbers["1"].status == "dnc"


def test_result_applied_once_and_snapshot_round_trip() -> None:
    state = new_state(CampaignConfig(gap_s=0), numbers(3), sims_for(1, 1, SimLimits(min_gap_s=0)))
    d = dial_of(step(state, MONDAY_9))
    step(state, MONDAY_9 + 3, [i.Answered(at=MONDAY_9 + 3, attempt=d.attempt)])
    end = i.Ended(at=MONDAY_9 + 40, attempt=d.attempt, answered=True, cause="normal", talk_s=37)
    step(state, MONDAY_9 + 40, [end, end])
    step(state, MONDAY_9 + 41, [end])
    assert state.totals.answered == 1 and state.totals.results == {"answered": 1}
    copy = load(dump(state))
    assert copy == state
    assert step(copy, MONDAY_9 + 100) == step(state, MONDAY_9 + 100)


def test_one_box_never_dials_while_the_salesperson_is_busy_without_budget() -> None:
    cfg = CampaignConfig(gap_s=0)
    state = new_state(cfg, numbers(5), sims_for(2, 1, SimLimits(min_gap_s=0)))
    acts = step(state, MONDAY_9)
    dials = [a for a in acts if isinstance(a, i.Dial)]
    assert len(dials) == 1  # no abandonment budget yet: the second line waits
    d = dials[0]
    step(state, MONDAY_9 + 5, [i.Answered(at=MONDAY_9 + 5, attempt=d.attempt)])
    acts = step(state, MONDAY_9 + 7, [i.TakeOver(at=MONDAY_9 + 7, line=d.line)])
    assert any(isinstance(a, i.Connect) for a in acts)
    assert not any(isinstance(a, i.Dial) for a in acts)


limits_st = st.builds(
    SimLimits,
    max_calls_per_hour=st.sampled_from([None, 3, 8, 15]),
    max_calls_per_day=st.sampled_from([None, 10, 30, 60]),
    min_gap_s=st.sampled_from([0.0, 20.0, 90.0]),
    consecutive_no_answer_limit=st.sampled_from([0, 3, 8]),
    consecutive_fail_limit=st.sampled_from([0, 3]),
)
config_st = st.builds(
    CampaignConfig,
    mode=st.sampled_from(["prompt", "auto_handover"]),
    ring_timeout_s=st.sampled_from([15.0, 25.0, 40.0]),
    gap_s=st.sampled_from([0.0, 5.0, 30.0]),
    handover_s=st.sampled_from([5.0, 10.0]),
    callee_max_per_day=st.integers(1, 3),
    callee_max_per_24h=st.integers(1, 4),
    callee_min_gap_s=st.sampled_from([0.0, 120.0]),
    user_max_per_day=st.sampled_from([None, 40, 200]),
    rotation=st.sampled_from(["sequential", "least_used_today", "sticky_until_limit"]),
    abandon_cap=st.sampled_from([0.0, 0.03, 0.1]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=config_st, lim=limits_st, boxes=st.integers(1, 2), slots=st.integers(1, 5), n=st.integers(1, 120),
       seed=st.integers(0, 10_000), answer=st.floats(0.1, 0.9), dup=st.sampled_from([0.0, 0.3]),
       dnc=st.sampled_from([0.0, 0.05]), days=st.integers(1, 2))
def test_invariants(cfg: CampaignConfig, lim: SimLimits, boxes: int, slots: int, n: int, seed: int,
                    answer: float, dup: float, dnc: float, days: int) -> None:
    state = new_state(validate(cfg), numbers(n), sims_for(boxes, slots, lim))
    world = World(state, CalleeModel(answer=answer), seed, duplicate_results=dup, dnc_rate=dnc)
    start = dt.datetime(2026, 12, 7, 8, 30, tzinfo=SH).timestamp()
    world.run(start, start + days * 86400)
    assert world.stats.violations == []  # no cap, window, callee cap or DNC ever broken
    t = state.totals
    assert t.abandoned <= cfg.abandon_cap * t.answered + 1e-9
    # every attempt has exactly one result or is still in flight; nothing counted twice
    assert t.dials == world.stats.dials == len(state.done) + len(state.attempts)
    assert sum(t.results.values()) == len(state.done)
    assert t.answered == t.results.get("answered", 0) + sum(1 for a in state.attempts.values() if a.answer_at)
    for num in state.numbers.values():
        if num.status in ("done", "exhausted"):
            assert num.attempts >= 1
        assert num.attempts <= max(r.max_attempts for r in cfg.retry.values())
    assert t.effective <= t.answered


times_st = st.lists(st.floats(0, 7200, allow_nan=False), max_size=12)


@given(ours=times_st, seen=times_st)
def test_usage_carried_from_the_database_never_undercounts(ours: list[float], seen: list[float]) -> None:
    """A snapshot's dial times merged with the database's: never fewer dials than either says, every dial the
    snapshot counted kept, and a dial in both (within 2 s) counted once."""
    from plugins.dialer.store import SAME_DIAL_S, _merged

    since = 3600.0
    out = _merged(ours, seen, since)
    recent_ours, recent_seen = [t for t in ours if t > since], [t for t in seen if t > since]
    assert len(out) >= max(len(recent_ours), len(recent_seen))
    assert all(out.count(t) >= recent_ours.count(t) for t in recent_ours)
    assert len(out) <= len(recent_ours) + len(recent_seen) and out == sorted(out)
    far = [t for t in recent_seen if all(abs(t - k) > SAME_DIAL_S for k in recent_ours)]
    assert len(out) >= len(recent_ours) + len(far)
