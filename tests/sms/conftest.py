"""SMS test helpers: settings, a simulated box per test, a fake HTTP gateway, customers with mobiles."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

_names = itertools.count()
# 10:00 in Shanghai: inside the default sending hours whatever the wall clock says
NOON = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)


async def save_settings(**values: Any) -> None:
    from core.perms.actor import system_actor
    from core.settings import store
    from plugins.sms.config import SECTION

    await store.save(SECTION, values, system_actor("test"))


@pytest.fixture
def sim_box(db) -> Iterator[Callable[..., Awaitable[Any]]]:
    """`await sim_box(cards=…)` → a registered SimBox whose sim:// URL is the SMS settings' box."""
    from drivers.ev_fwt785.simulator import SimBox, VirtualClock, register, reset

    async def make(**kw: Any) -> Any:
        box = register(SimBox(f"smsbox{next(_names)}", clock=VirtualClock(), **kw))
        await save_settings(box_url=f"sim://{box.name}", default_channel="box", box_dialect="quectel")
        return box

    yield make
    reset()


@pytest.fixture
def gateway(db) -> Iterator[Any]:
    from plugins.sms.channels.fake_gateway import FakeGateway

    with FakeGateway() as gw:
        yield gw


async def use_gateway(gw: Any, **extra: Any) -> None:
    await save_settings(gateway_url=gw.url, gateway_key=gw.key, default_channel="gateway", **extra)


@pytest.fixture
def make_customer(db) -> Callable[..., Awaitable[int]]:
    from core.customers import records
    from core.customers.schemas import ContactIn, CustomerIn

    async def make(actor: Any, name: str, contact: str, *phones: str) -> int:
        out = await records.create_customer(actor, CustomerIn(
            name=name, contacts=[ContactIn(name=contact, phones=list(phones))]))
        return out["id"]

    return make
