"""Bad conditions on a real (simulated) box: unplugged mid-campaign, every SIM at its limit, direct dial."""

from __future__ import annotations

import anyio
import pytest

from drivers.ev_fwt785.simulator import Callee
from plugins.dialer import campaigns, runtime
from plugins.dialer.live import Hub
from plugins.dialer.runner import CampaignRunner
from plugins.dialer.schemas import CampaignIn, DeviceSpec
from plugins.dialer.tables import Call, Campaign, DeviceSlot

from .conftest import ALWAYS, add_device, add_recording, drive, make_sim, open_box, settle, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def start(actor, dev: int, rec: int, numbers: list[str]) -> int:
    out = await campaigns.create(actor, CampaignIn(name="故障", numbers=numbers, recording_id=rec,
                                                   devices=[DeviceSpec(device=dev)],
                                                   config={**ALWAYS, "retry": {"failed": {"after_min": 0.1,
                                                                                          "max_attempts": 3}}}))
    await campaigns.transition(actor, out.id, "start")
    return out.id


async def test_box_unplugged_mid_call_then_back(make_user, actor_for, files_dir) -> None:
    uid = await make_user("u1")
    actor = await actor_for(uid)
    sim = make_sim()
    sim.callees.add("*", Callee.answers(3, hangup_after=30, ring_after=1))
    dev = await add_device(sim)
    rec = await add_recording(uid)
    numbers = ["13500000001", "13500000002"]
    cid = await start(actor, dev, rec, numbers)
    async with open_box(sim) as box, anyio.create_task_group() as tg:
        runner = CampaignRunner(cid, {sim.name: box}, clock=sim.clock.now, tick=0.2)
        tg.start_soon(runner.run)
        await drive(runner, sim.clock, 60, step=0.5, stop_when=lambda: sim.call is not None
                    and sim.call.state == "alerting")
        sim.unplug()  # the USB cable is pulled while the first number rings
        await wait_for(lambda: runner.state is not None and runner.state.lines[sim.name].status == "down")
        sim.advance(30)
        sim.replug()
        await wait_for(lambda: box.connected, within=20)
        runner.send(None)
        await settle(runner)
        await drive(runner, sim.clock, 900)
        assert runner.finished
    calls = await Call.select().where(Call.campaign == cid).order_by(Call.id)
    assert calls[0]["cause"] == "box_disconnected" and calls[0]["end_at"] is not None
    assert all(c["end_at"] is not None for c in calls)  # nothing left open, nothing lost
    dialed = [r.number for r in sim.call_log]
    assert dialed.count("13500000001") == 2 and dialed.count("13500000002") == 1  # retried once, as configured
    assert len(calls) == len(dialed)


async def test_all_sims_at_their_limits_waits_with_a_reason(make_user, actor_for, files_dir) -> None:
    uid = await make_user("u2")
    actor = await actor_for(uid)
    sim = make_sim()
    sim.callees.add("*", Callee.busy())
    dev = await add_device(sim)
    await DeviceSlot.update({DeviceSlot.limits: {"max_calls_per_day": 1, "min_gap_s": 0}}).where(
        DeviceSlot.device == dev)
    rec = await add_recording(uid)
    cid = await start(actor, dev, rec, [f"1350000{k:04d}" for k in range(1, 9)])
    async with open_box(sim) as box, anyio.create_task_group() as tg:
        runner = CampaignRunner(cid, {sim.name: box}, clock=sim.clock.now, tick=0.2)
        tg.start_soon(runner.run)
        await drive(runner, sim.clock, 300)
        assert len(sim.call_log) == 5  # one per SIM, then every SIM is at its daily limit
        row = await Campaign.select().where(Campaign.id == cid).first()
        assert row["status"] == "waiting" and "limit" in row["status_reason"]
        tg.cancel_scope.cancel()
    assert all(c.blocked is False for c in sim.cards if c is not None)  # the carrier never had to block one


async def test_outside_calling_hours_waits_and_says_when_it_calls_again(make_user, actor_for, files_dir) -> None:
    """The simulated clock starts on 1 January (元旦, a public holiday): nothing is dialed, the campaign waits
    and says it goes on the next working morning."""
    uid = await make_user("u3")
    actor = await actor_for(uid)
    sim = make_sim()
    dev = await add_device(sim)
    rec = await add_recording(uid)
    out = await campaigns.create(actor, CampaignIn(name="节日", numbers=["13500000001"], recording_id=rec,
                                                   devices=[DeviceSpec(device=dev)]))
    await campaigns.transition(actor, out.id, "start")
    hub = Hub()
    frames = hub.subscribe(uid)
    async with open_box(sim) as box, anyio.create_task_group() as tg:
        runner = CampaignRunner(out.id, {sim.name: box}, clock=sim.clock.now, tick=0.2, hub=hub)
        tg.start_soon(runner.run)
        await drive(runner, sim.clock, 120)
        row = await Campaign.select().where(Campaign.id == out.id).first()
        assert sim.call_log == [] and row["status"] == "waiting"
        last = [frames.receive_nowait() for _ in range(frames.statistics().current_buffer_used)][-1]
        assert last["status"] == "waiting" and last["reason"] == row["status_reason"]  # the console says the same
        assert "不在外呼时段" in row["status_reason"] and "01月02日 09:00" in row["status_reason"]
        assert "2025-01-02 09:00" in row["status_reason"]
        tg.cancel_scope.cancel()


async def test_direct_dial_with_prompt(app, make_user, files_dir) -> None:
    """Through a real server in this event loop (the test client runs the app in another thread, and the
    dial is awaited by the request)."""
    import httpx
    import uvicorn

    from core.auth import tokens

    from .test_agent import free_port

    uid = await make_user("u3")
    _, token = await tokens.create(uid, "pad")
    sim = make_sim()
    sim.callees.add("13500000009", Callee.answers(2, hangup_after=15, ring_after=1))
    dev = await add_device(sim)
    rec = await add_recording(uid, seconds=3)
    rt = runtime.Runtime(sim.clock.now, tick=0.2)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="error"))
    done = anyio.Event()

    async def serve() -> None:
        await srv.serve()
        done.set()

    async with anyio.create_task_group() as tg, httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"authorization": f"Bearer {token}"}) as c:
        tg.start_soon(serve)
        await wait_for(lambda: srv.started)
        r = await c.post("/api/v1/dialer/dial", json={"number": "13500000009"})
        assert r.status_code == 400 and "no box" in r.json()["error"]
        tg.start_soon(rt.serve, {sim.name: (f"sim://{sim.name}", "quectel")})
        await wait_for(lambda: runtime.current() is rt and bool(rt.boxes))
        r = await c.post("/api/v1/dialer/dial", json={"number": "135 0000 0009", "device_id": dev, "slot": 2,
                                                      "recording_id": rec})
        assert r.status_code == 201, r.text
        call_id = r.json()["call_id"]
        r = await c.post("/api/v1/dialer/dial", json={"number": "13500000009", "device_id": dev})
        assert r.status_code == 409, r.text  # the box is busy with the first call
        row: dict = {}
        for _ in range(60):
            sim.advance(1)
            await anyio.sleep(0.02)
            row = await Call.select().where(Call.id == call_id).first() or {}
            if row.get("end_at") is not None:
                break
        srv.should_exit = True
        await done.wait()
        tg.cancel_scope.cancel()
    assert row["answered"] and row["kind"] == "direct" and row["slot"] == 2 and row["recording_file"], row
    assert row["talk_s"] == pytest.approx(15, abs=1.5)
    assert sim.call_log[-1].slot == 2
