"""Dialer fixtures: a simulated box registered under a unique name, its Device rows, a prompt, helpers that
drive the virtual clock whenever the runner is waiting (no sleeping through call durations)."""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from drivers.ev_fwt785 import Backoff, Box, Timeouts
from drivers.ev_fwt785.simulator import SimBox, VirtualClock, register, reset
from drivers.ev_fwt785.simulator.audio import tone_wav
from plugins.dialer.runner import CampaignRunner

FAST = Timeouts(command=2.0, probe=0.5, dial=5.0, radio=5.0, register=5.0, sms=5.0, file=5.0, hangup_settle=1.0)
_names = itertools.count()


@pytest.fixture(autouse=True)
def _clean_sims():
    yield
    reset()


@pytest.fixture
def files_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WAIHUBAO_FILES_DIR", str(tmp_path / "files"))
    return tmp_path / "files"


def make_sim(clock: VirtualClock | None = None, **kw: Any) -> SimBox:
    return register(SimBox(f"d{next(_names)}", clock=clock or VirtualClock(), **kw))


@asynccontextmanager
async def open_box(sim: SimBox) -> AsyncIterator[Box]:
    async with Box(f"sim://{sim.name}", name=sim.name, clock=sim.clock.now, timeouts=FAST,
                   backoff=Backoff(initial=0.02, maximum=0.2), retry_backoff=0.01) as box:
        yield box


async def add_device(sim: SimBox) -> int:
    import datetime as dt

    from plugins.dialer.tables import Device, DeviceSlot

    rows = await Device.insert(Device(name=sim.name, url=f"sim://{sim.name}", dialect="quectel",
                                      created_at=dt.datetime.now(dt.UTC))).returning(Device.id)
    dev = rows[0]["id"]
    for k, card in enumerate(sim.cards, start=1):
        if card is not None:
            await DeviceSlot.insert(DeviceSlot(device=dev, slot=k, carrier=card.carrier, caller_number=card.number,
                                               iccid=card.iccid, limits={"min_gap_s": 0}))
    return dev


async def add_recording(owner: int | None, seconds: float = 4.0, handover_s: float = 0.0) -> int:
    import datetime as dt
    import secrets

    from plugins.dialer import files
    from plugins.dialer.tables import Recording

    stored = secrets.token_hex(8)
    files.prompts_dir().mkdir(parents=True, exist_ok=True)
    data = tone_wav(seconds)
    (files.prompts_dir() / f"{stored}.wav").write_bytes(data)
    rows = await Recording.insert(Recording(name="开场白", owner=owner, shared=True, stored_name=stored,
                                            duration_s=seconds, handover_s=handover_s, size=len(data),
                                            created_at=dt.datetime.now(dt.UTC))).returning(Recording.id)
    return rows[0]["id"]


ALWAYS = {"windows": [["00:00", "23:59"]], "weekdays": [0, 1, 2, 3, 4, 5, 6], "public_holidays": "", "gap_s": 2.0,
          "callee_min_gap_s": 0, "wrapup_s": 5.0}


async def settle(runner: CampaignRunner, quiet: int = 4) -> None:
    """Until the runner is waiting with nothing queued and has made no decision for a few polls."""
    calm, last = 0, -1
    with anyio.fail_after(20):
        while calm < quiet:
            await anyio.sleep(0.003)
            if runner.finished:
                return
            if runner.waiting and runner.pending == 0 and runner.activity == last:
                calm += 1
            else:
                calm, last = 0, runner.activity


async def drive(runner: CampaignRunner, clock: VirtualClock, seconds: float, *, step: float = 5.0,
                stop_when: Any = None) -> None:
    """Advance virtual time in jumps to the next thing that can happen, letting the runner react each time."""
    end = clock.now() + seconds
    while clock.now() < end and not runner.finished:
        await settle(runner)
        if stop_when is not None and stop_when():
            return
        nxt = clock.next_deadline()
        target = min(runner.wake_at, nxt if nxt is not None else math.inf, end, clock.now() + step)
        clock.advance(max(0.05, target - clock.now()))
        runner.send(None)
    await settle(runner)


async def wait_for(predicate: Any, within: float = 10.0) -> None:
    """Until `predicate()` holds (polls the event loop; for things started in another task)."""
    with anyio.fail_after(within):
        while True:
            if predicate():
                return
            await anyio.sleep(0.01)
