"""Resilience: every fault the simulator can inject is recovered from and surfaced as events."""

from __future__ import annotations

import pytest

from drivers.ev_fwt785 import AnswerHeuristic, BoxNotResponding, CommandTimeout, SlotError, Timeouts
from drivers.ev_fwt785 import events as ev
from drivers.ev_fwt785.simulator import Callee, CarrierLimits

from .conftest import DIALECTS, FAST, connect, expect, make_sim

pytestmark = pytest.mark.anyio
EACH_DIALECT = pytest.mark.parametrize("dialect", DIALECTS)


async def test_transient_cme_errors_are_retried() -> None:
    sim = make_sim()
    async with connect(sim) as box:
        events = box.subscribe()
        sim.faults.cme_transient = {14: 2, 515: 1}
        status = await box.slot_status()
        assert status.sim_state == "READY"
        warn = await expect(events, ev.ProtocolWarning, kind="retry")
        assert "SIM busy" in warn.detail


async def test_missing_final_code_is_tolerated() -> None:
    sim = make_sim()
    async with connect(sim, timeouts=Timeouts(command=0.3, probe=0.3)) as box:
        events = box.subscribe()
        sim.faults.missing_final = {"+CPIN"}
        status = await box.slot_status()
        assert status.sim_state == "READY"
        await expect(events, ev.ProtocolWarning, kind="timeout")
        sim.faults.missing_final = {"+CSQ"}
        with pytest.raises(CommandTimeout):
            await box.ch.command("AT+CGMI")  # unaffected command still fine …
            sim.faults.missing_final = {"+CGMI"}
            await box.ch.command("AT+CGMI")  # … a bare reply with no OK times out
        sim.faults.missing_final = set()
        assert (await box.signal()).rssi == sim.cards[0].rssi  # type: ignore[union-attr]


@EACH_DIALECT
async def test_urc_mid_reply_and_byte_by_byte_reads(dialect: str) -> None:
    sim = make_sim(dialect)
    sim.faults.urc_mid_reply = True
    sim.faults.chunk_size = 1
    sim.callees.add("*", Callee.answers(3, hangup_after=4))
    async with connect(sim) as box:
        events = box.subscribe()
        assert (await box.identity()).imei == sim.imei
        status = await box.slot_status()
        assert status.iccid == sim.cards[0].iccid  # type: ignore[union-attr]
        call = await box.dial("13800138000")
        sim.advance(3)
        await expect(events, ev.CallAnswered)
        sim.advance(4)
        assert (await call.wait_ended(5)).cause == "normal"


async def test_garbage_and_forced_echo() -> None:
    sim = make_sim()
    async with connect(sim) as box:
        events = box.subscribe()
        sim.inject_bytes(b"\r\n\xff\xfe\x01\x02garbage\x00\r\n")
        await expect(events, ev.ProtocolWarning, kind="garbage")
        sim.faults.force_echo = True
        assert (await box.identity()).imei == sim.imei
        await expect(events, ev.ProtocolWarning, kind="echo")
        assert (await box.slot_status()).present


@EACH_DIALECT
async def test_module_reboot_mid_call(dialect: str) -> None:
    sim = make_sim(dialect)
    sim.callees.add("*", Callee.answers(2))
    async with connect(sim) as box:
        events = box.subscribe()
        call = await box.dial("13800138000")
        sim.advance(2)
        await expect(events, ev.CallAnswered)
        sim.reboot()
        await expect(events, ev.ModuleRebooted)
        ended = await call.wait_ended(5)
        assert (ended.cause, ended.hangup_by) == ("network_failure", "box")
        assert (await box.signal()).rssi > 0
        assert not sim.echo and sim.cmee == 2  # driver re-initialised the module
        call2 = await box.dial("13800138001")
        assert call2.active
        await box.hangup()


@EACH_DIALECT
async def test_unplug_mid_call_reconnects_without_losing_events(dialect: str) -> None:
    sim = make_sim(dialect)
    sim.callees.add("*", Callee.answers(2))
    async with connect(sim) as box:
        events = box.subscribe()
        call = await box.dial("13800138000")
        sim.advance(2)
        await expect(events, ev.CallAnswered)
        sim.unplug()
        ended = await call.wait_ended(5)
        assert (ended.cause, ended.hangup_by) == ("box_disconnected", "box")
        await expect(events, ev.BoxDisconnected)
        sim.replug()
        await expect(events, ev.BoxReconnected)
        call2 = await box.dial("13800138001")
        sim.advance(2)
        await expect(events, ev.CallAnswered, call_id=call2.id)
        await box.hangup()
        seqs = [e.seq for e in box.history]
        assert seqs == list(range(1, len(seqs) + 1))
        assert sum(1 for e in box.history if isinstance(e, ev.CallEnded)) == 2
        replay = box.subscribe(since=0)
        assert [e.seq for e in replay._state.buffer] == seqs  # type: ignore[attr-defined]


async def test_false_active_at_ringback_is_low_confidence() -> None:
    sim = make_sim("simcom")
    sim.faults.false_active_at_ringback = True
    sim.callees.add("*", Callee.no_answer(ring_timeout=20))
    async with connect(sim) as box:
        events = box.subscribe()
        call = await box.dial("13800138000")
        sim.advance(2)
        answered = await expect(events, ev.CallAnswered)
        assert answered.confidence == "low"
        sim.advance(20)
        ended = await call.wait_ended(5)
        # The network's NO ANSWER wins over the false "active": the call was never really answered.
        assert (ended.cause, ended.answered) == ("no_answer", True)


async def test_answer_heuristic_is_configurable() -> None:
    sim = make_sim("quectel")
    sim.callees.add("*", Callee.answers(2.5, ring_after=2))
    async with connect(sim, answer=AnswerHeuristic(min_ring_s=3.0)) as box:
        events = box.subscribe()
        await box.dial("13800138000")
        sim.advance(2)
        await expect(events, ev.CallAlerting)
        sim.advance(0.5)
        assert (await expect(events, ev.CallAnswered)).confidence == "low"
        await box.hangup()


async def test_no_carrier_on_dial_and_reject_not_propagated() -> None:
    sim = make_sim()
    sim.faults.no_carrier_on_dial = True
    async with connect(sim) as box:
        call = await box.dial("13800138000")
        ended = await call.wait_ended(5)
        assert (ended.cause, ended.q850, ended.total_s) == ("network_failure", 34, 0.0)
        sim.faults.no_carrier_on_dial = False
        sim.faults.reject_not_propagated = True
        sim.callees.add("*", Callee.rejects(after=5))
        call = await box.dial("13800138000")
        sim.advance(60)
        assert call.active
        ended2 = await box.hangup()
        assert ended2 is not None and ended2.cause == "no_answer" and ended2.hangup_by == "local"


async def test_carrier_blocks_sim_over_threshold() -> None:
    sim = make_sim()
    card = sim.cards[0]
    assert card is not None
    card.limits = CarrierLimits(max_calls_per_hour=3)
    sim.callees.add("*", Callee.busy())
    async with connect(sim) as box:
        causes = []
        for _ in range(5):
            call = await box.dial("13800138000")
            sim.advance(2)
            causes.append((await call.wait_ended(5)).q850)
            sim.advance(60)
        assert causes[:3] == [None, None, None] and causes[3:] == [8, 8]
        assert card.blocked and [r.outcome for r in sim.call_log][-2:] == ["blocked", "blocked"]


async def test_slow_radio_times_out_then_recovers() -> None:
    sim = make_sim()
    async with connect(sim, timeouts=Timeouts(command=0.3, radio=0.3, probe=0.3)) as box:
        sim.faults.slow_cfun_s = 30
        with pytest.raises(CommandTimeout):
            await box.select_slot(2)
        sim.faults.slow_cfun_s = 0
        sim.advance(30)  # the late OK arrives: a stray final code, ignored
        status = await box.select_slot(2)
        assert status.slot == 2 and status.registration is not None and status.registration.registered


async def test_registration_denied_reverts_slot() -> None:
    sim = make_sim()
    sim.cards[2].denied = True  # type: ignore[union-attr]
    async with connect(sim) as box:
        with pytest.raises(SlotError, match="denied"):
            await box.select_slot(3)
        assert sim.slot == 1 and (await box.registration()).registered


async def test_wrong_baud_rate_is_a_clear_error() -> None:
    sim = make_sim()
    with pytest.raises(BoxNotResponding, match="baud"):
        async with connect(sim, baudrate=9600, timeouts=Timeouts(probe=0.2)):
            pass


async def test_announcement_answers_unreachable_call() -> None:
    sim = make_sim()
    sim.faults.announcement_answers = True
    sim.callees.add("*", Callee.unreachable(after=2))
    async with connect(sim) as box:
        events = box.subscribe()
        call = await box.dial("13800138000")
        sim.advance(2)
        assert (await expect(events, ev.CallAnswered)).confidence == "high"
        sim.advance(8)
        ended = await call.wait_ended(5)
        assert ended.answered and ended.talk_s == 8.0 and ended.alert_at is None


def test_fast_timeouts_fixture_is_short() -> None:
    assert FAST.command <= 2


async def test_lost_prompt_finished_urc_is_recovered_by_polling() -> None:
    sim = make_sim("quectel")
    sim.faults.prompt_finished_lost = True
    sim.callees.add("*", Callee.answers(1, ring_after=0.5))
    async with connect(sim) as box:
        events = box.subscribe()
        await box.dial("13800138000")
        sim.advance(1)
        await expect(events, ev.CallAnswered)
        await box.play_prompt("welcome.wav")
        assert await box.wait_prompt_finished(0.05) is None  # still playing: no URC, poll says 1
        sim.advance(3)
        done = await box.wait_prompt_finished(0.05)
        assert done is not None and done.reason == "polled"
        await box.hangup()
