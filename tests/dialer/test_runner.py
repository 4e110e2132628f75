"""The runner against the simulated box over sim://, in virtual time: a whole campaign, and a kill/resume."""

from __future__ import annotations

import anyio
import pytest

from drivers.ev_fwt785.simulator import Callee
from plugins.dialer import campaigns
from plugins.dialer.live import Hub
from plugins.dialer.runner import CampaignRunner
from plugins.dialer.schemas import CampaignIn, DeviceSpec
from plugins.dialer.tables import Call, Campaign, CampaignNumber

from .conftest import ALWAYS, add_device, add_recording, drive, make_sim, open_box

pytestmark = [pytest.mark.anyio, pytest.mark.db]

NUMBERS = [f"1390000{k:04d}" for k in range(1, 7)]


def script(sim) -> None:
    sim.callees.add("13900000001", Callee.answers(5, hangup_after=45, ring_after=2))  # listens, talks: effective
    sim.callees.add("13900000002", Callee.busy())
    sim.callees.add("13900000003", Callee.no_answer(ring_timeout=60))  # we hang up at the ring timeout
    sim.callees.add("13900000004", Callee.answers(4, hangup_after=2, ring_after=1))  # hangs up in the prompt
    sim.callees.add("13900000005", Callee.unreachable())
    sim.callees.add("13900000006", Callee.answers(3, hangup_after=20, ring_after=1))


async def make_campaign(actor, sim, dev: int, rec: int, *, numbers: list[str] = NUMBERS, **config) -> int:
    data = CampaignIn(name="测试外呼", numbers=numbers, recording_id=rec, devices=[DeviceSpec(device=dev)],
                      config={**ALWAYS, "ring_timeout_s": 20, "retry": {}, **config})
    out = await campaigns.create(actor, data)
    await campaigns.transition(actor, out.id, "start")
    return out.id


async def busy_caller(make_user, actor_for, name: str):
    """A salesperson, a recording and a simulated box where every 139 0000 number is busy."""
    uid = await make_user(name)
    sim = make_sim()
    sim.callees.add("1390000*", Callee.busy())
    return uid, await actor_for(uid), sim, await add_device(sim), await add_recording(uid)


async def test_campaign_runs_to_the_end(make_user, actor_for, files_dir) -> None:
    uid = await make_user("caller")
    actor = await actor_for(uid)
    sim = make_sim()
    script(sim)
    dev = await add_device(sim)
    rec = await add_recording(uid)
    cid = await make_campaign(actor, sim, dev, rec)
    hub = Hub()
    frames = hub.subscribe(uid)
    async with open_box(sim) as box, anyio.create_task_group() as tg:
        runner = CampaignRunner(cid, {sim.name: box}, clock=sim.clock.now, tick=0.5, hub=hub)
        tg.start_soon(runner.run)
        await drive(runner, sim.clock, 900)
        assert runner.finished
    calls = await Call.select().where(Call.campaign == cid).order_by(Call.id)
    assert len(calls) == len(sim.call_log) == 6  # no retries configured: one attempt each
    seen = [frames.receive_nowait() for _ in range(frames.statistics().current_buffer_used)]
    assert "139 0000 0002" in seen[0]["next"]  # the console shows numbers as people read them
    assert seen[0]["sims"][0]["signal"] == sim.cards[0].rssi  # read at the start, not only when it changes
    assert {ln["number"] for f in seen for ln in f["lines"]} >= {"139 0000 0001", "139 0000 0006"}
    sims = seen[-1]["sims"]  # each SIM's use against its limits (None: no limit set)
    assert sum(s["day_calls"] for s in sims) == 6 and sum(s["connected"] for s in sims) == 3
    assert sum(s["talk_min"] for s in sims) == pytest.approx((45 + 2 + 20) / 60, abs=0.1)
    assert {(s["max_day"], s["max_talk_min"]) for s in sims} == {(60, None)}
    assert (sims[0]["box"], sims[0]["slot"], sims[0]["dbm"]) == (sim.name, 1, -113 + 2 * sim.cards[0].rssi)
    by_number = {c["number"][3:]: c for c in calls}
    first = by_number["13900000001"]
    assert first["answered"] and first["taken_over"] and first["effective"] and first["recording_file"]
    assert first["listened_s"] == pytest.approx(4.0, abs=0.5) and first["talk_s"] == pytest.approx(45, abs=1)
    assert by_number["13900000002"]["cause"] == "busy"
    assert by_number["13900000003"]["cause"] == "no_answer" and by_number["13900000003"]["total_s"] < 30
    assert by_number["13900000004"]["answered"] and not by_number["13900000004"]["taken_over"]
    assert by_number["13900000005"]["cause"] == "unreachable"
    assert all(c["end_at"] is not None for c in calls)
    camp = await Campaign.select().where(Campaign.id == cid).first()
    assert camp["status"] == "done" and camp["dialed"] == 6 and camp["answered"] == 3 and camp["effective"] == 1
    states = {r["state"] for r in await CampaignNumber.select(CampaignNumber.state).where(
        CampaignNumber.campaign == cid)}
    assert states <= {"done", "exhausted"}


async def test_console_shows_each_rotated_sims_own_signal(make_user, actor_for, files_dir) -> None:
    uid, actor, sim, dev, rec = await busy_caller(make_user, actor_for, "rotator")
    for card in sim.cards:
        if card is not None:
            card.rssi = 20  # the same level on every SIM: no unsolicited report after a switch
    cid = await make_campaign(actor, sim, dev, rec, rotation="least_used_today")
    hub = Hub()
    frames = hub.subscribe(uid)
    async with open_box(sim) as box, anyio.create_task_group() as tg:
        runner = CampaignRunner(cid, {sim.name: box}, clock=sim.clock.now, tick=0.5, hub=hub)
        tg.start_soon(runner.run)
        await drive(runner, sim.clock, 900)
        assert runner.finished
    seen = [frames.receive_nowait() for _ in range(frames.statistics().current_buffer_used)]
    used = {s["key"]: s["signal"] for s in seen[-1]["sims"] if s["day_calls"]}
    assert len(used) >= 3  # the calls went out on several SIMs
    assert set(used.values()) == {20}


async def test_killed_runner_resumes_without_redialing(make_user, actor_for, files_dir) -> None:
    uid = await make_user("caller2")
    actor = await actor_for(uid)
    sim = make_sim()
    script(sim)
    dev = await add_device(sim)
    rec = await add_recording(uid)
    cid = await make_campaign(actor, sim, dev, rec)

    def finished_calls() -> int:
        return sum(1 for r in sim.call_log if r.ended_at is not None)

    async with open_box(sim) as box:
        async with anyio.create_task_group() as tg:
            runner = CampaignRunner(cid, {sim.name: box}, clock=sim.clock.now, tick=0.5)
            tg.start_soon(runner.run)
            # stop while the first call is being talked (callee 1 talks 45 s)
            await drive(runner, sim.clock, 600, step=1.0,
                        stop_when=lambda: sim.call is not None and sim.call.number == "13900000001"
                        and sim.call.state == "active" and sim.clock.now() - (sim.call.answered_at or 0) > 10)
            tg.cancel_scope.cancel()  # kill -9, as far as the campaign is concerned
        dialed_before = [r.number for r in sim.call_log]
        assert dialed_before == ["13900000001"]
        done_before = finished_calls()
    sim.advance(60)  # the callee hangs up while no process watches
    async with open_box(sim) as box, anyio.create_task_group() as tg:
        runner = CampaignRunner(cid, {sim.name: box}, clock=sim.clock.now, tick=0.5)
        tg.start_soon(runner.run)
        await drive(runner, sim.clock, 900)
        assert runner.finished
    numbers = [r.number for r in sim.call_log]
    assert sorted(set(numbers)) == sorted(NUMBERS)
    assert numbers.count("13900000001") == 1  # the interrupted call's number counted, never redialed (no retry)
    assert done_before <= 1
    calls = await Call.select().where(Call.campaign == cid)
    assert len(calls) == len(numbers) == 6
    interrupted = [c for c in calls if c["cause"] == "interrupted"]
    assert [c["number"][3:] for c in interrupted] == ["13900000001"]
    assert all(c["end_at"] is not None for c in calls)


async def _one_sim_with(dev: int, **limits) -> None:
    """Only slot 1 of the box dials, with these limits."""
    from plugins.dialer.tables import DeviceSlot

    await DeviceSlot.update({DeviceSlot.enabled: False}).where((DeviceSlot.device == dev) & (DeviceSlot.slot != 1))
    await DeviceSlot.update({DeviceSlot.limits: {"min_gap_s": 0, **limits}}).where(
        (DeviceSlot.device == dev) & (DeviceSlot.slot == 1))


async def _run(cid: int, sim, seconds: float, step: float = 5.0) -> CampaignRunner:
    async with open_box(sim) as box, anyio.create_task_group() as tg:
        runner = CampaignRunner(cid, {sim.name: box}, clock=sim.clock.now, tick=0.5)
        tg.start_soon(runner.run)
        await drive(runner, sim.clock, seconds, step=step)
        tg.cancel_scope.cancel()
    return runner


async def test_a_sims_hourly_limit_counts_the_previous_campaigns_calls(make_user, actor_for, files_dir) -> None:
    _, actor, sim, dev, rec = await busy_caller(make_user, actor_for, "hourly")
    await _one_sim_with(dev, max_calls_per_hour=2)
    first = await make_campaign(actor, sim, dev, rec, numbers=NUMBERS[:2])
    assert (await _run(first, sim, 300)).finished and len(sim.call_log) == 2
    second = await make_campaign(actor, sim, dev, rec, numbers=NUMBERS[2:4])
    runner = await _run(second, sim, 1200, step=60)
    assert len(sim.call_log) == 2 and "SIM" in runner.reason  # the SIM made its 2 calls this hour already
    runner = await _run(second, sim, 3600, step=60)  # resumed from its snapshot, an hour later
    assert runner.finished and len(sim.call_log) == 4


async def test_a_sims_monthly_talk_limit_counts_earlier_days_and_campaigns(make_user, actor_for, files_dir) -> None:
    import datetime as dt

    from plugins.dialer.engine import calendar
    from plugins.dialer.tables import SimUsage

    _, actor, sim, dev, rec = await busy_caller(make_user, actor_for, "monthly")
    await _one_sim_with(dev, max_talk_minutes_per_month=10)
    today = calendar.local(sim.clock.now(), "Asia/Shanghai").date()
    await SimUsage.insert(SimUsage(device=dev, slot=1, day=today - dt.timedelta(days=1 if today.day > 1 else 0),
                                   calls=30, connected=12, talk_s=600.0))  # 10 minutes talked this month
    cid = await make_campaign(actor, sim, dev, rec)
    runner = await _run(cid, sim, 600, step=60)
    assert sim.call_log == [] and "SIM" in runner.reason


async def test_a_salespersons_daily_cap_counts_every_call_they_made_today(make_user, actor_for, files_dir) -> None:
    _, actor, sim, dev, rec = await busy_caller(make_user, actor_for, "capped")
    first = await make_campaign(actor, sim, dev, rec, numbers=NUMBERS[:2], user_max_per_day=3)
    assert (await _run(first, sim, 300)).finished and len(sim.call_log) == 2
    second = await make_campaign(actor, sim, dev, rec, numbers=NUMBERS[2:], user_max_per_day=3)
    runner = await _run(second, sim, 600, step=60)
    assert len(sim.call_log) == 3  # 2 in the morning + 1: the salesperson's cap is per day, not per campaign
    assert runner.reason.startswith("今日外呼已达上限，01月02日 00:00 起继续外呼")  # said, not a silent 进行中


async def test_a_resumed_campaign_counts_calls_made_to_its_numbers_while_it_was_down(make_user, actor_for,
                                                                                     files_dir) -> None:
    import datetime as dt

    uid, actor, sim, dev, rec = await busy_caller(make_user, actor_for, "resumer")
    cid = await make_campaign(actor, sim, dev, rec)
    async with open_box(sim) as box, anyio.create_task_group() as tg:
        runner = CampaignRunner(cid, {sim.name: box}, clock=sim.clock.now, tick=0.5)
        tg.start_soon(runner.run)
        await drive(runner, sim.clock, 60, step=1.0, stop_when=lambda: bool(sim.call_log) and all(
            r.ended_at is not None for r in sim.call_log))
        tg.cancel_scope.cancel()  # the process stops after the first call; its engine state is stored
    assert [r.number for r in sim.call_log] == ["13900000001"]
    at = dt.datetime.fromtimestamp(sim.clock.now(), dt.UTC)
    for k in range(2):  # meanwhile another campaign calls 139 0000 0002 twice today (the per-day cap is 2)
        await Call.insert(Call(attempt_key=f"other:{k}", number="+8613900000002", user=uid, dial_at=at, end_at=at,
                               cause="busy", created_at=at))
    sim.advance(60)
    runner = await _run(cid, sim, 600, step=60)
    assert sorted(r.number for r in sim.call_log) == sorted(n for n in NUMBERS if n != "13900000002")
    assert not runner.finished and "01月02日 00:00 起继续外呼" in runner.reason  # 139 0000 0002 waits for tomorrow
