"""Texts through the boxes the dialer holds (`box_sms_send`, `box_sims`, received texts → `sms_received`):
in this process, and on an agent over a real websocket whose link drops between a command and its answer."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn

from core import host
from core.auth import tokens
from core.plugins import call_published
from drivers.ev_fwt785.events import SmsReceived
from drivers.ev_fwt785.simulator import SimBox
from plugins.dialer import agent_server, box_sms, runtime
from plugins.dialer.agent import Agent
from plugins.dialer.agent_protocol import Item, ResultMsg, SmsIn
from plugins.sms import optout
from plugins.sms.tables import SmsInbox

from .conftest import add_device, make_sim, open_box, wait_for

pytestmark = [pytest.mark.anyio]


@pytest.fixture(autouse=True)
def _fresh_server():
    box_sms.SERVER.reset()
    yield
    box_sms.SERVER.reset()
    runtime.install(None)


async def until(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Until the async `check()` holds (a row written by another task)."""
    with anyio.fail_after(within):
        while True:
            if await check():
                return
            await anyio.sleep(0.01)


async def send(to: str, text: str, request_id: str, device: str | None = None, slot: int | None = None
               ) -> dict[str, Any]:
    got = await call_published(host.current().pm, "box_sms_send", to=to, text=text, device=device, slot=slot,
                               request_id=request_id)
    assert got is not None and len(got) == 1
    return got[0]


def texts(sim: SimBox) -> list[tuple[str, str]]:
    return [(m.number, m.text) for m in sim.sent_sms]


@pytest.mark.db
async def test_in_process_box_texts_once_per_request_and_during_a_call(db) -> None:
    sim = make_sim()
    await add_device(sim)
    rt = runtime.Runtime(sim.clock.now)
    async with open_box(sim) as box:
        rt.boxes[sim.name] = box
        runtime.install(rt)
        held = await call_published(host.current().pm, "box_sims")
        assert held is not None and sorted(s["slot"] for s in held) == [1, 2, 3, 4, 5]
        active = [s for s in held if s["active"]]
        assert len(active) == 1 and active[0]["ready"] and active[0]["registered"]
        assert all(s["where"] == "server" and s["device"] == sim.name and not s["busy"] for s in held)
        assert host.current().pm.hook.box_devices() == [[{"device": sim.name, "where": "server", "online": True}]]

        first = await send("+8613800138000", "您好，报价已发出", "t:1")
        assert first["ok"] and (first["device"], first["slot"], first["parts"]) == (sim.name, active[0]["slot"], 1)
        assert await send("+8613800138000", "您好，报价已发出", "t:1") == first  # a retry is answered, not sent
        assert texts(sim) == [("+8613800138000", "您好，报价已发出")]

        other = 3 if active[0]["slot"] != 3 else 2
        switched = await send("+8613800138000", "换卡发送", "t:2", device=sim.name, slot=other)
        assert switched["ok"] and switched["slot"] == other and sim.slot == other  # an idle box switches SIM

        await box.dial("13700000001")  # a call is up: texts go out on its SIM, and the SIM stays put
        during = await send("+8613900139000", "通话中", "t:3")
        assert during["ok"] and during["slot"] == other
        busy = await send("+8613900139000", "通话中换卡", "t:4", slot=1 if other != 1 else 2)
        assert (busy["ok"], busy["code"], busy["retryable"]) == (False, "busy", True) and sim.slot == other
        await box.hangup()
        bad = await send("not a number", "x", "t:5")
        assert (bad["ok"], bad["code"], bad["retryable"]) == (False, "invalid", False)
    assert [t for _, t in texts(sim)] == ["您好，报价已发出", "换卡发送", "通话中"]


@pytest.mark.db
async def test_no_box_held_is_a_retryable_answer(db) -> None:
    answer = await send("+8613800138000", "hi", "t:none")
    assert (answer["ok"], answer["code"], answer["retryable"]) == (False, "offline", True)
    assert "电话助手" in answer["error"] and " / " in answer["error"]
    assert await call_published(host.current().pm, "box_sims") == []


@pytest.mark.db
async def test_text_received_on_the_runtime_box_lands_once_in_the_sms_inbox(db) -> None:
    sim = make_sim()
    await add_device(sim)
    rt = runtime.Runtime(sim.clock.now, tick=0.5)
    async with anyio.create_task_group() as tg:
        tg.start_soon(rt.serve, {sim.name: (f"sim://{sim.name}", "quectel")})
        await wait_for(lambda: runtime.current() is rt and bool(rt.boxes))
        sim.deliver_sms("+8613800138000", "收到，谢谢")
        sim.deliver_sms("+8613800138000", "退订")
        await until(lambda: _count(2))
        tg.cancel_scope.cancel()
    rows = await SmsInbox.select().order_by(SmsInbox.id)
    assert [(r["number"], r["text"], r["opt_out"], r["source"]) for r in rows] == [
        ("+8613800138000", "收到，谢谢", False, sim.name), ("+8613800138000", "退订", True, sim.name)]
    assert await optout.opted_out(["+8613800138000"]) == {"+8613800138000"}


async def _count(n: int) -> bool:
    return await SmsInbox.count() >= n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def agent_on_server(app: Any, user_id: int, sim: SimBox, state_dir: Path) -> AsyncIterator[Agent]:
    """A real server (uvicorn, this event loop) and an agent holding `sim`, connected over a websocket."""
    _, token = await tokens.create(user_id, "agent")
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="error"))
    agent = Agent(f"http://127.0.0.1:{port}", token, [f"sim://{sim.name}"], state_dir, name="pc1",
                  clock=sim.clock.now, tick=0.5)
    agent_scope = anyio.CancelScope()
    stopped = anyio.Event()

    async def run_agent() -> None:
        with agent_scope:
            await agent.run()

    async def run_server() -> None:
        await srv.serve()
        stopped.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run_server)
        tg.start_soon(run_agent)
        await wait_for(lambda: agent.connected, within=20)
        try:
            yield agent
        finally:
            agent_scope.cancel()  # the agent goes first, then the server shuts down cleanly
            srv.should_exit = True
            await stopped.wait()


def drop_after_sms(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The server closes the agent's link right after sending it an "sms" command (before any answer)."""
    dropped: list[str] = []
    original = agent_server.AgentLink.send

    async def send_then_drop(self: agent_server.AgentLink, cmd: Any) -> None:
        await original(self, cmd)
        if cmd.op == "sms":
            dropped.append(cmd.arg)
            await self.socket.close(code=1012)

    monkeypatch.setattr(agent_server.AgentLink, "send", send_then_drop)
    return dropped


@pytest.mark.db
async def test_agent_box_texts_once_through_retries_restarts_and_a_dropped_link(
        app, make_user, files_dir, tmp_path, monkeypatch) -> None:
    uid = await make_user("remote")
    sim = make_sim()
    async with agent_on_server(app, uid, sim, tmp_path / "agent"):
        held = await call_published(host.current().pm, "box_sims")
        assert held and {(s["device"], s["where"]) for s in held} == {(sim.name, "agent")}

        first = await send("13800138000", "您好", "a:1", device=sim.name)
        assert first["ok"] and first["device"] == sim.name and first["parts"] == 1
        assert await send("13800138000", "您好", "a:1", device=sim.name) == first  # the server remembers
        box_sms.SERVER.reset()  # the server forgot (restarted): the agent answers from its log on disk
        assert (await send("13800138000", "您好", "a:1", device=sim.name))["ok"]
        assert Agent("http://x", "t", [f"sim://{sim.name}"], tmp_path / "agent").sms.get("a:1") is not None
        assert len(sim.sent_sms) == 1

        dropped = drop_after_sms(monkeypatch)  # the link drops between command and answer …
        second = await send("13800138000", "第二条", "a:2", device=sim.name)
        assert dropped and second["ok"]  # … the answer came through the outbox after the reconnect

        monkeypatch.setattr(box_sms, "AGENT_WAIT_S", 0.2)  # the answer comes after the server stopped waiting
        third = await send("13800138000", "第三条", "a:3")
        assert (third["ok"], third["code"], third["retryable"]) == (False, "timeout", True)
        await wait_for(lambda: box_sms.SERVER.log.get("a:3") is not None, within=20)
        assert (await send("13800138000", "第三条", "a:3"))["ok"]  # the retry: answered, not sent again
        assert [m.text for m in sim.sent_sms] == ["您好", "第二条", "第三条"]


@pytest.mark.db
async def test_server_refuses_an_answer_it_never_asked_for(make_user, actor_for) -> None:
    """An answer for a request the server never sent to that user's box is refused (a forged 'sent')."""
    uid = await make_user("remote")
    actor = await actor_for(uid)
    forged = {"kind": "sms_result", "request_id": "sms:1",
              "answer": {"ok": True, "device": "pc-box", "slot": 1, "parts": 1}}
    item = Item(seq=1, msg=ResultMsg(key="sms_result:sms:1:1", campaign=None, number="", answered=False, cause="",
                                     at=0.0, detail=forged))
    await agent_server.ingest_item(item, actor, ["pc-box"])
    assert box_sms.SERVER.log.get("sms:1") is None


@pytest.mark.db
async def test_text_received_on_an_agent_box_lands_once_and_td_opts_out(app, make_user, actor_for, files_dir,
                                                                      tmp_path) -> None:
    uid = await make_user("remote")
    sim = make_sim()
    async with agent_on_server(app, uid, sim, tmp_path / "agent") as agent:
        sim.deliver_sms("+8613900139000", "TD")
        await until(lambda: _count(1), within=20)
        event = next(e for e in agent.boxes[sim.name].history if isinstance(e, SmsReceived))
    row = await SmsInbox.select().first()
    assert (row["number"], row["text"], row["opt_out"], row["source"]) == ("+8613900139000", "TD", True, sim.name)
    assert await optout.opted_out(["+8613900139000"]) == {"+8613900139000"}
    # the same upload delivered again (a server that died before storing its high-water mark) is stored once
    sms = SmsIn(device=sim.name, sender=event.sender, text=event.text, at=event.at, parts=event.parts)
    again = Item(seq=99, msg=ResultMsg(key="sms_in:again", campaign=None, number=event.sender, answered=False,
                                       cause="", at=event.at, detail={"kind": "sms_in", **_builtins(sms)}))
    await agent_server.ingest_item(again, await actor_for(uid), [sim.name])
    assert await SmsInbox.count() == 1
    # and an agent may only report texts for the boxes it announced
    foreign = Item(seq=100, msg=ResultMsg(key="sms_in:x", campaign=None, number="", answered=False, cause="", at=0.0,
                                          detail={"kind": "sms_in", **_builtins(SmsIn(
                                              device="someone-elses", sender="+8613700137000", text="hi", at=1.0))}))
    await agent_server.ingest_item(foreign, await actor_for(uid), [sim.name])
    assert await SmsInbox.count() == 1


def _builtins(sms: SmsIn) -> dict[str, Any]:
    import msgspec

    return msgspec.to_builtins(sms)
