"""The in-process runtime: the boxes this process holds and the campaign runners on them.

The server runs one with `--simulated-box` (a simulated EV-FWT 785 on a real-time virtual clock); the
agent runs one next to real boxes. The API talks to it through `current()`; without one a started
campaign waits with a clear reason.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import anyio
import msgspec
import structlog
from anyio.abc import TaskGroup

from core.db import write_tx
from drivers.ev_fwt785 import Box, BoxError
from plugins.dialer import box_sms, store
from plugins.dialer.direct import DirectDialer
from plugins.dialer.engine import io as i
from plugins.dialer.runner import CampaignRunner
from plugins.dialer.tables import Campaign, Device, DeviceSlot

if TYPE_CHECKING:
    from drivers.ev_fwt785.simulator import CalleeBook

log = structlog.get_logger("dialer.runtime")
NO_BOX = "没有连接的外呼设备，请启动电话助手或连接设备 / no box attached: start the agent or plug in a box"
BOX_BUSY = "设备正被其他外呼任务使用，排队等待 / the box is busy with another campaign, queued"


class Runtime:
    def __init__(self, clock: Callable[[], float] = time.time, *, tick: float = 0.25) -> None:
        self.clock = clock
        self.tick = tick
        self.boxes: dict[str, Box] = {}
        self.runners: dict[int, CampaignRunner] = {}
        self.direct = DirectDialer(self)
        self._tg: TaskGroup | None = None
        self._queue: list[int] = []
        self._wake = anyio.Event()

    # ------------------------------------------------------------ lifecycle

    async def serve(self, devices: dict[str, tuple[str, str]]) -> None:
        """Open every box (name → (url, dialect)), resume running campaigns, then run until cancelled."""
        global _CURRENT
        async with AsyncExitStack() as stack:
            for name, (url, dialect) in devices.items():
                try:
                    self.boxes[name] = await stack.enter_async_context(
                        Box(url, name=name, dialect=dialect, clock=self.clock))
                except BoxError as exc:
                    log.warning("box_open_failed", box=name, url=url, error=str(exc))
            _CURRENT = self
            try:
                async with anyio.create_task_group() as tg:
                    self._tg = tg
                    for box in self.boxes.values():
                        tg.start_soon(box_sms.forward_received, box)  # received texts → the SMS inbox
                    for row in await Campaign.select(Campaign.id).where(
                            Campaign.status.is_in(["running", "waiting"])).order_by(Campaign.id):
                        self._queue.append(row["id"])
                    await self._schedule()
                    while True:
                        await self._wake.wait()
                        self._wake = anyio.Event()
                        await self._schedule()
            finally:
                _CURRENT = None if _CURRENT is self else _CURRENT

    def busy_boxes(self) -> set[str]:
        out: set[str] = set()
        for r in self.runners.values():
            out |= set(r.boxes)
        return out | self.direct.busy

    async def _boxes_for(self, campaign_id: int) -> dict[str, Box]:
        row = await Campaign.select(Campaign.devices).where(Campaign.id == campaign_id).first()
        specs = row["devices"] if row else []
        specs = msgspec.json.decode(specs) if isinstance(specs, str) else specs
        if not specs:
            return dict(self.boxes)
        names = {d["id"]: d["name"] for d in await Device.select(Device.id, Device.name)}
        return {names[s["device"]]: self.boxes[names[s["device"]]] for s in specs
                if s["device"] in names and names[s["device"]] in self.boxes}

    async def ensure_devices(self) -> None:
        """Every open box has its Device row and slots (re-created if someone removed them)."""
        for name, box in self.boxes.items():
            if not await Device.exists().where(Device.name == name):
                await ensure_sim_device(name) if box.url.startswith("sim://") else await _blank_device(name, box.url)

    async def _schedule(self) -> None:
        waiting: list[int] = []
        if self._queue:
            await self.ensure_devices()
        for cid in self._queue:
            if cid in self.runners:
                continue
            row = await Campaign.select(Campaign.status).where(Campaign.id == cid).first()
            if row is None or row["status"] not in ("running", "waiting"):
                continue
            boxes = await self._boxes_for(cid)
            if not boxes:
                await store.set_campaign_status(cid, "waiting", NO_BOX)
                waiting.append(cid)
                continue
            if set(boxes) & self.busy_boxes():
                await store.set_campaign_status(cid, "waiting", BOX_BUSY)
                waiting.append(cid)
                continue
            runner = CampaignRunner(cid, boxes, clock=self.clock, tick=self.tick)
            self.runners[cid] = runner
            assert self._tg is not None
            self._tg.start_soon(self._run, runner)
        self._queue = waiting

    async def _run(self, runner: CampaignRunner) -> None:
        try:
            await runner.run()
        except Exception as exc:  # a runner must not take the server down; its state is saved
            log.exception("runner_failed", campaign=runner.campaign_id, error=str(exc))
            await store.set_campaign_status(runner.campaign_id, "paused", f"运行出错，已暂停 / runner error: {exc}")
        finally:
            self.runners.pop(runner.campaign_id, None)
            self._wake.set()

    # ------------------------------------------------------------ commands from the API

    def start(self, campaign_id: int) -> None:
        if campaign_id not in self._queue:
            self._queue.append(campaign_id)
        self._wake.set()

    def command(self, campaign_id: int, inp: i.AnyInput) -> bool:
        runner = self.runners.get(campaign_id)
        if runner is None:
            return False
        runner.send(inp)
        return True

    def broadcast(self, inp: i.AnyInput) -> None:
        for r in self.runners.values():
            r.send(inp)

    def online(self, name: str) -> bool:
        box = self.boxes.get(name)
        return bool(box and box.connected)


_CURRENT: Runtime | None = None


def current() -> Runtime | None:
    return _CURRENT


def install(runtime: Runtime | None) -> None:
    """Tests: make a runtime current without `serve` (boxes already open)."""
    global _CURRENT
    _CURRENT = runtime


# ------------------------------------------------------------------ the simulated box of `make run`

SIM_NAME = "sim1"


async def ensure_sim_device(name: str = SIM_NAME) -> int:
    from drivers.ev_fwt785.simulator import default_cards

    row = await Device.select(Device.id).where(Device.name == name).first()
    if row:
        return row["id"]
    async with write_tx():
        dev = (await Device.insert(Device(name=name, url=f"sim://{name}", dialect="quectel",
                                          created_at=dt.datetime.now(dt.UTC))).returning(Device.id))[0]["id"]
        for k, card in enumerate(default_cards(0), start=1):
            await DeviceSlot.insert(DeviceSlot(device=dev, slot=k, carrier=card.carrier, caller_number=card.number,
                                               iccid=card.iccid, limits={}))
    return dev


async def _blank_device(name: str, url: str) -> None:
    async with write_tx():
        dev = (await Device.insert(Device(name=name, url=url, created_at=dt.datetime.now(dt.UTC)))
               .returning(Device.id))[0]["id"]
        for k in range(1, 6):
            await DeviceSlot.insert(DeviceSlot(device=dev, slot=k, limits={}))


def demo_callees(seed: int) -> CalleeBook:
    """The simulated network of `make run`: a seeded random population, plus scripted numbers for demos
    and browser tests — 1370000xxxx answers after 3 s, speaks at once and talks 20 s; 1360000xxxx is busy;
    1350000xxxx rings out."""
    from drivers.ev_fwt785.simulator import Callee, CalleeBook, RandomCallees

    book = CalleeBook(random_model=RandomCallees(seed=seed, answer_range=(4.0, 12.0), talk_range=(15.0, 45.0)))
    book.add("re:^1370000", Callee(outcome="answer", ring_after=1.0, answer_after=3.0, hangup_after=20.0,
                                   speak_at=(0.5, 6.0), speak_s=2.0))
    book.add("re:^1360000", Callee.busy())
    book.add("re:^1350000", Callee.no_answer(ring_timeout=60))
    return book


async def simulated_runtime() -> None:
    """`waihubao serve --simulated-box`: a simulated box ticking in real time, and a runtime on it."""
    if os.environ.get("WAIHUBAO_SIMULATED_BOX") != "1":
        return
    from drivers.ev_fwt785.simulator import RealtimeTicker, SimBox, VirtualClock, register

    clock = VirtualClock(start=time.time())
    callees = demo_callees(int(os.environ.get("WAIHUBAO_SIM_SEED", "7")))
    register(SimBox(SIM_NAME, clock=clock, callees=callees))
    ticker = RealtimeTicker(clock).start()
    try:
        await ensure_sim_device()
        await Runtime(clock.now).serve({SIM_NAME: (f"sim://{SIM_NAME}", "quectel")})
    finally:
        ticker.stop()


def background_tasks() -> list[Any]:
    return [simulated_runtime]


__all__ = ["BOX_BUSY", "NO_BOX", "Runtime", "current", "install"]
