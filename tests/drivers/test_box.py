"""The driver against the simulated box over real pyserial transports (sim:// and a pty), per dialect."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from drivers.ev_fwt785 import CallError, InvalidArgument, NotSupported, PromptError, SlotError
from drivers.ev_fwt785 import events as ev
from drivers.ev_fwt785.simulator import Callee
from drivers.ev_fwt785.simulator.audio import tone_wav

from .conftest import DIALECTS, TRANSPORTS, connect, expect, make_sim

pytestmark = pytest.mark.anyio

BOTH = pytest.mark.parametrize("dialect,transport", [(d, t) for d in DIALECTS for t in TRANSPORTS])
EACH_DIALECT = pytest.mark.parametrize("dialect", DIALECTS)


@BOTH
async def test_identity_slots_signal(dialect: str, transport: str) -> None:
    sim = make_sim(dialect)
    async with connect(sim, transport) as box:
        assert box.dialect.name == dialect
        ident = await box.identity()
        assert ident.imei == sim.imei and ident.manufacturer == sim.dialect.manufacturer
        status = await box.slot_status()
        card = sim.cards[0]
        assert card is not None
        assert (status.slot, status.iccid, status.imsi) == (1, card.iccid, card.imsi)
        assert status.operator is not None and status.operator.plmn == card.plmn
        assert status.registration is not None and status.registration.registered
        assert status.signal is not None and status.signal.dbm == -113 + 2 * card.rssi
        s3 = await box.select_slot(3)
        assert s3.slot == 3 and s3.iccid == sim.cards[2].iccid  # type: ignore[union-attr]
        assert sim.slot == 3
        switched = [e for e in box.history if isinstance(e, ev.SignalChanged)]
        assert [(e.slot, e.rssi) for e in switched] == [(3, sim.cards[2].rssi)]  # type: ignore[union-attr]
        assert not any(isinstance(e, ev.RegistrationLost) for e in box.history)  # our own radio-off


@BOTH
async def test_answered_call_with_durations(dialect: str, transport: str) -> None:
    sim = make_sim(dialect)
    sim.callees.add("1390000*", Callee.answers(6, hangup_after=20, ring_after=2))
    async with connect(sim, transport) as box:
        events = box.subscribe()
        call = await box.dial("13900000001", slot=2)
        dialing = await expect(events, ev.CallDialing)
        assert (dialing.slot, dialing.number) == (2, "13900000001")
        sim.advance(2)
        await expect(events, ev.CallAlerting)
        sim.advance(4)
        answered = await expect(events, ev.CallAnswered)
        assert answered.confidence == "high"
        sim.advance(20)
        ended = await call.wait_ended(5)
        assert ended.cause == "normal" and ended.hangup_by == "remote" and ended.answered
        assert (ended.ring_s, ended.talk_s, ended.total_s) == (4.0, 20.0, 26.0)
        if dialect == "simcom":
            assert ended.modem_duration_s == 20.0
        assert sim.call_log[-1].outcome == "answered"


@EACH_DIALECT
@pytest.mark.parametrize(
    "callee,cause,q850",
    [
        (Callee.busy(), "busy", None),
        (Callee.no_answer(ring_timeout=30), "no_answer", None),
        (Callee.rejects(after=8), "rejected", 21),
        (Callee.unreachable(), "unreachable", 20),
    ],
)
async def test_unanswered_outcomes(dialect: str, callee: Callee, cause: str, q850: int | None) -> None:
    sim = make_sim(dialect)
    sim.callees.add("10086", callee)
    async with connect(sim) as box:
        call = await box.dial("10086")
        sim.advance(120)
        ended = await call.wait_ended(5)
        assert (ended.cause, ended.q850, ended.answered) == (cause, q850, False)


@EACH_DIALECT
async def test_local_hangup_dtmf_both_ways(dialect: str) -> None:
    sim = make_sim(dialect)
    sim.callees.add("13811112222", Callee.presses("1", at=2.0, after=3.0))
    async with connect(sim) as box:
        events = box.subscribe()
        call = await box.dial("13811112222")
        with pytest.raises(CallError):
            await box.dial("13811112222")
        sim.advance(3)
        await expect(events, ev.CallAnswered)
        sim.advance(2)
        assert (await expect(events, ev.DtmfReceived)).digit == "1"
        await box.send_dtmf("2#")
        assert sim.call is not None and sim.call.dtmf_sent == ["2", "#"]
        sim.advance(5)
        ended = await box.hangup()
        assert ended is not None and ended.cause == "normal" and ended.hangup_by == "local"
        assert ended.talk_s == 7.0 and not call.active


@EACH_DIALECT
async def test_prompt_played_and_stopped(dialect: str, tmp_path: Path) -> None:
    sim = make_sim(dialect)
    sim.callees.add("*", Callee.answers(2))
    prompt = tmp_path / "hello.wav"
    prompt.write_bytes(tone_wav(4.0))
    async with connect(sim) as box:
        events = box.subscribe()
        name = await box.upload_prompt(prompt)
        assert sim.files[name] == prompt.read_bytes()
        with pytest.raises(CallError):
            await box.play_prompt(name)
        await box.dial("13800138000")
        sim.advance(2)
        await expect(events, ev.CallAnswered)
        await box.play_prompt(name)
        assert sim.prompt_playing
        sim.advance(4)
        done = await expect(events, ev.PromptFinished)
        assert done.reason == "completed" and done.prompt == name
        await box.play_prompt("welcome.wav")
        await box.stop_prompt()
        assert (await expect(events, ev.PromptFinished)).reason == "stopped"
        with pytest.raises(PromptError):
            await box.play_prompt("missing.wav")
        await box.hangup()


async def test_unplayable_prompt_rejected_locally(tmp_path: Path) -> None:
    sim = make_sim()
    stereo = tmp_path / "stereo.wav"
    with wave.open(str(stereo), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(b"\x00" * 400)
    (tmp_path / "junk.wav").write_bytes(b"not a wav")
    async with connect(sim) as box:
        for f in ("stereo.wav", "junk.wav"):
            with pytest.raises(PromptError):
                await box.upload_prompt(tmp_path / f)
        assert (await box.signal()).rssi > 0  # box still usable


async def test_recording_yields_wav(tmp_path: Path) -> None:
    sim = make_sim("quectel")
    sim.callees.add(
        "*", Callee(outcome="answer", ring_after=0.5, answer_after=1, speak_at=(1.0,), speak_s=2.0)
    )
    async with connect(sim) as box:
        events = box.subscribe()
        await box.dial("13800138000")
        sim.advance(1)
        await expect(events, ev.CallAnswered)
        await box.start_recording()
        sim.advance(5)
        out = await box.stop_recording(tmp_path / "call.wav")
        with wave.open(str(out), "rb") as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
            assert w.getnframes() == 5 * 8000
            frames = w.readframes(w.getnframes())
        assert any(frames[2 * 8000 * 2 : 3 * 8000 * 2]) and not any(frames[: 8000 * 2 - 2])
        await box.hangup()


async def test_recording_not_supported_on_simcom() -> None:
    sim = make_sim("simcom")
    sim.callees.add("*", Callee.answers(1, ring_after=0.5))
    async with connect(sim) as box:
        events = box.subscribe()
        await box.dial("13800138000")
        sim.advance(1)
        await expect(events, ev.CallAnswered)
        with pytest.raises(NotSupported):
            await box.start_recording()
        await box.hangup()


@BOTH
async def test_sms_send_and_receive(dialect: str, transport: str) -> None:
    sim = make_sim(dialect)
    async with connect(sim, transport) as box:
        events = box.subscribe()
        assert len(await box.send_sms("13800138000", "Hello {world}")) == 1
        long_cn = "您好，这是外呼宝的测试短信。" * 12
        refs = await box.send_sms("+8613800138000", long_cn)
        assert len(refs) == 3
        assert [s.text for s in sim.sent_sms[0:1]] == ["Hello {world}"]
        assert "".join(s.text for s in sim.sent_sms[1:]) == long_cn
        assert {s.number for s in sim.sent_sms[1:]} == {"+8613800138000"}
        with pytest.raises(InvalidArgument):
            await box.send_sms("13800138000", "x" * 2000)
        with pytest.raises(InvalidArgument):
            await box.send_sms("not-a-number", "hi")
        sim.deliver_sms("10086", "余额提醒：" + "很长的短信" * 20)
        got = await expect(events, ev.SmsReceived)
        assert got.sender == "10086" and got.parts == 2 and got.text.startswith("余额提醒")
        assert 1 not in sim._inbox  # read parts are deleted from the SIM


@EACH_DIALECT
async def test_signal_sim_and_registration_events(dialect: str) -> None:
    sim = make_sim(dialect)
    async with connect(sim) as box:
        events = box.subscribe()
        sim.set_signal(1, 5)
        changed = await expect(events, ev.SignalChanged)
        assert (changed.rssi, changed.dbm, changed.bars) == (5, -103, 1)
        sim.set_registration(2)
        lost = await expect(events, ev.RegistrationLost)
        assert lost.stat == 2
        sim.set_registration(None)
        await expect(events, ev.RegistrationRegained)
        sim.remove_sim(1)
        await expect(events, ev.SimRemoved, slot=1)
        with pytest.raises(SlotError):
            await box.dial("13800138000")
        sim.insert_sim(1)
        await expect(events, ev.SimInserted, slot=1)


async def test_bad_input_leaves_box_usable() -> None:
    sim = make_sim(cards=[sim_card for sim_card in make_sim().cards[:2]] + [None, None, None])
    async with connect(sim) as box:
        with pytest.raises(InvalidArgument):
            await box.select_slot(6)
        with pytest.raises(InvalidArgument):
            await box.dial("12")
        with pytest.raises(InvalidArgument):
            await box.send_dtmf("x")
        with pytest.raises(SlotError, match="empty"):
            await box.select_slot(4)
        assert await box.active_slot() == 1 and sim.slot == 1  # switched back
        slots = await box.scan_slots()
        assert [s.present for s in slots] == [True, True, False, False, False]
        assert await box.active_slot() == 1
        call = await box.dial("13800138000")
        assert call.active
        await box.hangup()
