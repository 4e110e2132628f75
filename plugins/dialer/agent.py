"""`waihubao agent`: the 电话助手 on the salesperson's PC, next to the box(es).

    waihubao agent --server https://crm.example.com --token TOKEN --device /dev/ttyUSB0 [--device …]

It opens the boxes, keeps a websocket to the server (commands down, results up) and runs the campaigns
it is told to start with the same engine and runner as the server. While the link is down it keeps
dialing and queues every result on disk; on reconnect the queue is uploaded and each result is stored
exactly once (sequence numbers + attempt keys, see `agent_protocol`).
"""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import click
import httpx
import msgspec
import structlog
from anyio.abc import TaskGroup

from drivers.ev_fwt785 import Box, BoxError
from drivers.ev_fwt785.events import SmsReceived
from plugins.dialer import store
from plugins.dialer.agent_protocol import Ack, Command, Outbox, ResultMsg, SimsCommand, SmsIn, SmsRequest, decode
from plugins.dialer.agent_sink import AgentSink
from plugins.dialer.box_sms import SentLog
from plugins.dialer.engine import io as i
from plugins.dialer.runner import CampaignRunner
from plugins.dialer.store import Setup

log = structlog.get_logger("dialer.agent")


def device_name(url: str) -> str:
    """`sim://box1?…` → box1, `/dev/ttyUSB0` → ttyUSB0, `NAME=URL` → NAME."""
    if "=" in url.split("?", 1)[0] and "://" not in url.split("=", 1)[0]:
        return url.split("=", 1)[0]
    parts = urlsplit(url)
    return parts.netloc or Path(parts.path).name or url


def ws_url(server: str) -> str:
    base = server.rstrip("/")
    base = "wss://" + base[8:] if base.startswith("https://") else "ws://" + base.removeprefix("http://")
    return base + "/api/v1/dialer/agent/ws"


class SetupIn(msgspec.Struct, kw_only=True):
    setup: Setup
    prompt: str = ""


class Agent:
    def __init__(self, server: str, token: str, devices: list[str], state_dir: Path, *,
                 name: str | None = None, clock: Callable[[], float] = time.time,
                 http: httpx.AsyncClient | None = None, tick: float = 0.25) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.urls = {device_name(u): (u.split("=", 1)[1] if "=" in u and "://" not in u.split("=", 1)[0] else u)
                     for u in devices}
        self.name = name or socket.gethostname()
        self.clock = clock
        self.tick = tick
        self.dir = state_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.outbox = Outbox(self.name, self.dir / "outbox.jsonl")
        self._changed = anyio.Event()
        self.sink = AgentSink(self.dir, self.outbox, on_change=self._poke)
        self.sms = SentLog(self.dir / "sms-sent.json")  # every text sent, by request id: never sent twice
        self.boxes: dict[str, Box] = {}
        self.runners: dict[int, CampaignRunner] = {}
        self.connected = False
        self.uploaded = 0
        self._http = http
        self._tg: TaskGroup | None = None
        self._acked = anyio.Event()

    def _poke(self) -> None:
        self._changed.set()

    # ------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        async with AsyncExitStack() as stack:
            for name, url in self.urls.items():
                try:
                    self.boxes[name] = await stack.enter_async_context(Box(url, name=name, clock=self.clock))
                except BoxError as exc:
                    log.warning("box_open_failed", box=name, url=url, error=str(exc))
            if not self.boxes:
                raise click.ClickException("没有可用的设备 / no box could be opened")
            async with anyio.create_task_group() as tg:
                self._tg = tg
                for path in sorted(self.dir.glob("setup-*.json")):
                    cid = int(path.stem.split("-", 1)[1])
                    state = await self.sink.load_state(cid)
                    if state is None or state.status not in ("done", "stopped"):
                        self.start_runner(cid)  # resume what was running before a restart
                for box in self.boxes.values():
                    tg.start_soon(self._forward_received, box)
                tg.start_soon(self._link)

    def start_runner(self, campaign_id: int) -> None:
        if campaign_id in self.runners or self._tg is None:
            return
        runner = CampaignRunner(campaign_id, dict(self.boxes), clock=self.clock, sink=self.sink, tick=self.tick)
        self.runners[campaign_id] = runner

        async def go() -> None:
            try:
                await runner.run()
            finally:
                self.runners.pop(campaign_id, None)

        self._tg.start_soon(go)

    # ------------------------------------------------------------ texts through the boxes

    def _queue(self, kind: str, key: str, number: str, detail: dict[str, Any]) -> None:
        self.outbox.add(ResultMsg(key=f"{kind}:{key}", campaign=None, number=number, answered=False, cause="",
                                  at=self.clock(), detail={"kind": kind, **detail}))
        self._poke()

    async def send_sms(self, req: SmsRequest) -> None:
        """Send (or answer from the log: a request id goes out once) and queue the answer for the server."""
        busy = {name for r in self.runners.values() for name in r.boxes}
        answer = await self.sms.send(self.boxes, busy, req)
        if answer is None:
            return  # the same id is going out right now; its answer is queued when it is done
        self._queue("sms_result", f"{req.request_id}:{self.outbox.seq + 1}", req.to,
                    {"request_id": req.request_id, "answer": msgspec.to_builtins(answer)})

    async def _forward_received(self, box: Box) -> None:
        """Every text a box receives goes up through the outbox (stored once by the server)."""
        events = box.subscribe()
        async with events:
            async for event in events:
                if isinstance(event, SmsReceived):
                    sms = SmsIn(device=box.name, sender=event.sender, text=event.text, at=event.at,
                                parts=event.parts)
                    self._queue("sms_in", f"{box.name}:{event.seq}:{event.at}", event.sender,
                                msgspec.to_builtins(sms))

    # ------------------------------------------------------------ the link

    async def _link(self) -> None:
        import websockets

        delay = 0.5
        while True:
            try:
                async with websockets.connect(ws_url(self.server),
                                              additional_headers={"Authorization": f"Bearer {self.token}"}) as ws:
                    await ws.send(msgspec.json.encode({"agent": self.name, "devices": sorted(self.boxes)}))
                    delay = 0.5
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(self._reader, ws, tg)
                        try:
                            await self._uploader(ws)
                        except websockets.ConnectionClosed:
                            tg.cancel_scope.cancel()
            except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake) as exc:
                log.info("link_down", error=str(exc))
            finally:
                self.connected = False
            await anyio.sleep(delay)
            delay = min(30.0, delay * 2)

    async def _reader(self, ws: Any, tg: TaskGroup) -> None:
        import websockets

        try:
            async for raw in ws:
                msg = decode(raw)
                if isinstance(msg, Ack):
                    self.connected = True  # the server has registered us (its first Ack follows the hello)
                    before = len(self.outbox.items)
                    self.outbox.ack(msg.upto)
                    self.uploaded += before - len(self.outbox.items)
                    self._acked.set()
                elif isinstance(msg, Command):
                    await self._command(msg)
        except websockets.ConnectionClosed as exc:
            log.info("link_closed", code=exc.rcvd.code if exc.rcvd else None)
        finally:
            tg.cancel_scope.cancel()

    async def _uploader(self, ws: Any) -> None:
        while True:
            batch = self.outbox.pending()
            if batch:
                self._acked = anyio.Event()
                await ws.send(self.outbox.encode(batch))
                with anyio.move_on_after(10):
                    await self._acked.wait()
                continue
            self._changed = anyio.Event()
            if self.outbox.pending():
                continue
            await self._changed.wait()

    # ------------------------------------------------------------ commands from the server

    async def fetch_setup(self, campaign_id: int) -> None:
        client = self._http or httpx.AsyncClient(base_url=self.server, timeout=30)
        try:
            r = await client.get(f"/api/v1/dialer/agent/campaigns/{campaign_id}/setup",
                                 headers={"Authorization": f"Bearer {self.token}"})
            r.raise_for_status()
            data = msgspec.json.decode(r.content, type=SetupIn)
        finally:
            if self._http is None:
                await client.aclose()
        await self.sink.remember_setup(data.setup, base64.b64decode(data.prompt) if data.prompt else None)

    def apply_sims(self, arg: str, now: float) -> None:
        """外呼设备 changed a box's slots on the server: running campaigns decide with the new settings now."""
        try:
            cmd = msgspec.json.decode(arg, type=SimsCommand)
        except msgspec.DecodeError as exc:
            log.warning("sims_command_invalid", error=str(exc))
            return
        for runner in self.runners.values():
            if runner.state is None:
                continue
            store.apply_sim_settings(runner.state, cmd.slots, unblock=bool(cmd.reset))
            if cmd.reset:
                runner.send(i.ResetSim(at=now, key=cmd.reset))
            runner.send(None)

    async def _command(self, cmd: Command) -> None:
        now = self.clock()
        if cmd.op == "sms":
            try:
                req = msgspec.json.decode(cmd.arg, type=SmsRequest)
            except msgspec.DecodeError as exc:
                log.warning("sms_command_invalid", error=str(exc))
                return
            if self._tg is not None:  # not on the link's task: a dropped link must not cut a text off
                self._tg.start_soon(self.send_sms, req)
            return
        runner = self.runners.get(cmd.campaign) if cmd.campaign is not None else None
        if cmd.op in ("start", "resume") and cmd.campaign is not None and runner is None:
            try:
                await self.fetch_setup(cmd.campaign)
            except (httpx.HTTPError, msgspec.DecodeError) as exc:
                log.warning("setup_failed", campaign=cmd.campaign, error=str(exc))
                return
            self.start_runner(cmd.campaign)
            return
        inputs: dict[str, i.AnyInput] = {"pause": i.Pause(at=now), "resume": i.Resume(at=now), "stop": i.Stop(at=now),
                                         "ready": i.AgentReady(at=now)}
        if cmd.op == "takeover" and runner is not None:
            runner.send(i.TakeOver(at=now, line=cmd.arg or next(iter(self.boxes))))
        elif cmd.op == "dnc":
            for r in self.runners.values():
                r.send(i.AddDnc(at=now, e164=cmd.arg))
        elif cmd.op == "sims":
            self.apply_sims(cmd.arg, now)
        elif cmd.op in inputs and runner is not None:
            runner.send(inputs[cmd.op])


@click.command("agent", help="电话助手：在销售电脑上运行外呼引擎并连接服务器 / run the dialer next to the box(es)")
@click.option("--server", required=True, help="服务器地址 / server URL, e.g. https://crm.example.com")
@click.option("--token", required=True, help="API 令牌 / API token")
@click.option("--device", "devices", multiple=True, required=True,
              help="设备地址 / box URL: serial port, sim://NAME, or NAME=URL (repeatable)")
@click.option("--state-dir", type=click.Path(path_type=Path), default=Path.home() / ".waihubao-agent",
              show_default=True, help="本地状态与待上传结果 / local state and the upload queue")
@click.option("--name", default=None, help="助手名称 / agent name (default: host name)")
def agent(server: str, token: str, devices: tuple[str, ...], state_dir: Path, name: str | None) -> None:
    if not server.startswith(("http://", "https://")):
        raise click.BadParameter("须以 http:// 或 https:// 开头 / must start with http:// or https://",
                                 param_hint="--server")
    anyio.run(Agent(server, token, list(devices), state_dir, name=name).run)


__all__ = ["Agent", "agent", "device_name", "ws_url"]
