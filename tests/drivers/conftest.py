"""Fixtures for driver-vs-simulator tests: a fresh simulated box per test, reached over a real
pyserial transport (sim:// URL handler or a pty), and helpers that wait for events without sleeping."""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
import pytest
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream

from drivers.ev_fwt785 import Backoff, Box, Timeouts
from drivers.ev_fwt785.events import Event
from drivers.ev_fwt785.simulator import PtyServer, SimBox, VirtualClock, register, reset

E = TypeVar("E", bound=Event)
_names = itertools.count()

DIALECTS = ["quectel", "simcom"]
TRANSPORTS = ["sim"] + (["pty"] if sys.platform != "win32" else [])
FAST = Timeouts(
    command=2.0, probe=0.5, dial=5.0, radio=5.0, register=5.0, sms=5.0, file=5.0, hangup_settle=1.0
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _quiet_driver_logs() -> Iterator[None]:
    """The driver logs every line at debug/info; keep driver tests quiet and restore the config after."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    yield
    structlog.configure(**saved)


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    yield
    reset()


def make_sim(dialect: str = "quectel", **kw: Any) -> SimBox:
    return register(SimBox(f"t{next(_names)}", dialect=dialect, clock=VirtualClock(), **kw))


@asynccontextmanager
async def connect(sim: SimBox, transport: str = "sim", **kw: Any) -> AsyncIterator[Box]:
    """A driver Box on `sim` over the given transport, using the simulator's virtual clock."""
    opts: dict[str, Any] = {
        "clock": sim.clock.now,
        "timeouts": FAST,
        "backoff": Backoff(initial=0.02, maximum=0.2),
        "retry_backoff": 0.01,
        "name": sim.name,
    }
    opts.update(kw)
    if transport == "pty":
        with PtyServer(sim) as path:
            async with Box(path, **opts) as box:
                yield box
    else:
        async with Box(f"sim://{sim.name}", **opts) as box:
            yield box


async def expect(
    stream: MemoryObjectReceiveStream[Any], cls: type[E], within: float = 5.0, **match: Any
) -> E:
    """Next event of type `cls` (and matching fields) from `stream`; other events are skipped."""
    with anyio.fail_after(within):
        async for e in stream:
            if isinstance(e, cls) and all(getattr(e, k) == v for k, v in match.items()):
                return e
    raise AssertionError(f"stream closed before {cls.__name__}")
