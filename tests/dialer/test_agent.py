"""The agent (电话助手): outbox exactly-once, and a real websocket link to a real server that drops mid-
campaign — the agent keeps dialing, buffers on disk, and every result lands in the database once."""

from __future__ import annotations

import socket
from pathlib import Path

import anyio
import pytest
import uvicorn

from core.auth import tokens
from drivers.ev_fwt785.simulator import Callee
from plugins.dialer.agent import Agent, device_name, ws_url
from plugins.dialer.agent_protocol import Ingest, Outbox, ResultMsg
from plugins.dialer.tables import Call, Campaign, Device

from .conftest import ALWAYS, add_recording, drive, make_sim, wait_for

pytestmark = [pytest.mark.anyio]


def msg(k: int) -> ResultMsg:
    return ResultMsg(key=f"k{k}", campaign=1, number="+8613800138000", answered=False, cause="busy", at=float(k))


async def test_outbox_survives_restart_and_delivers_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    box = Outbox("pc", path)
    for k in range(5):
        box.add(msg(k))
    server = Ingest()
    batch = box.pending()
    assert server.receive(box.encode(batch)) == 5
    assert server.receive(box.encode(batch)) == 5  # the ack was lost: sent again, stored once
    box = Outbox("pc", path)  # the agent restarted before the ack arrived
    assert len(box.pending()) == 5
    box.add(msg(5))
    assert server.receive(box.encode(box.pending())) == 6
    box.ack(6)
    assert Outbox("pc", path).pending() == [] and server.count == 6


def test_names_and_urls() -> None:
    assert device_name("sim://box7?dialect=simcom") == "box7"
    assert device_name("/dev/ttyUSB0") == "ttyUSB0"
    assert device_name("desk=/dev/ttyUSB1") == "desk"
    assert ws_url("https://crm.example.com/") == "wss://crm.example.com/api/v1/dialer/agent/ws"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.db
async def test_agent_keeps_dialing_through_a_dropped_link(app, make_user, client_for, files_dir, tmp_path):
    uid = await make_user("remote")
    _, token = await tokens.create(uid, "agent")
    sim = make_sim()
    for k in range(1, 6):
        sim.callees.add(f"1360000000{k}", Callee.answers(3, hangup_after=15 + k, ring_after=1) if k % 2
                        else Callee.busy())
    rec = await add_recording(uid, seconds=4)
    port = free_port()

    def server() -> uvicorn.Server:
        return uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="error"))

    agent = Agent(f"http://127.0.0.1:{port}", token, [f"sim://{sim.name}"], tmp_path / "agent", name="pc1",
                  clock=sim.clock.now, tick=0.5)
    agent_scope = anyio.CancelScope()

    async def run_agent() -> None:
        with agent_scope:
            await agent.run()

    async def run_server(srv: uvicorn.Server, done: anyio.Event) -> None:
        await srv.serve()
        done.set()

    async with anyio.create_task_group() as tg:
        srv, stopped = server(), anyio.Event()
        tg.start_soon(run_server, srv, stopped)
        tg.start_soon(run_agent)
        await wait_for(lambda: agent.connected, within=20)
        dev = await Device.select(Device.id).where(Device.name == sim.name).first()
        assert dev is not None  # the agent registered its box
        async with client_for(uid) as c:
            r = await c.post("/api/v1/dialer/campaigns", json={
                "name": "助手外呼", "numbers": [f"1360000000{k}" for k in range(1, 6)], "recording_id": rec,
                "devices": [{"device": dev["id"]}], "config": {**ALWAYS, "retry": {}}, "start": True})
            assert r.status_code == 201, r.text
            cid = r.json()["id"]
            assert r.json()["status"] == "running" and "agent" in r.json()["status_reason"]
        await wait_for(lambda: cid in agent.runners and agent.runners[cid].state is not None, within=20)
        runner = agent.runners[cid]
        await drive(runner, sim.clock, 600, step=1.0, stop_when=lambda: len(sim.call_log) >= 2)
        srv.should_exit = True  # the link drops (server gone)
        await stopped.wait()
        await wait_for(lambda: not agent.connected, within=20)
        await drive(runner, sim.clock, 900)
        assert runner.finished
        assert len(agent.outbox.pending()) > 0  # results are waiting on disk
        srv, stopped = server(), anyio.Event()
        tg.start_soon(run_server, srv, stopped)
        await wait_for(lambda: agent.connected and not agent.outbox.pending(), within=30)
        agent_scope.cancel()  # the agent goes first, then the server shuts down cleanly (no write cut off)
        srv.should_exit = True
        await stopped.wait()
    calls = await Call.select().where(Call.campaign == cid)
    assert len(calls) == len(sim.call_log) == 5
    assert len({c["attempt_key"] for c in calls}) == 5 and all(c["end_at"] is not None for c in calls)
    answered = [c for c in calls if c["answered"]]
    assert len(answered) == 3 and all(c["recording_file"] for c in answered)
    camp = await Campaign.select().where(Campaign.id == cid).first()
    assert camp["status"] == "done" and camp["dialed"] == 5 and camp["answered"] == 3
