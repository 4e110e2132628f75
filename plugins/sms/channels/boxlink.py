"""One open `Box` per port in this process: the inbox listener keeps it open in the server; the worker
borrows that one, or opens a short-lived connection of its own when none is open (tests, CLI).

A serial port has one owner. The dialer plugin opens the box too — the box should come to be owned by
one core agent both plugins talk to (see NOTES-for-lead.md); until then SMS uses its own port/sim name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from drivers.ev_fwt785 import Box
from drivers.ev_fwt785.errors import BoxError
from plugins.sms.channels.base import ChannelUnavailable

_open: dict[str, Box] = {}
_locks: dict[str, anyio.Lock] = {}


def register(url: str, box: Box) -> None:
    _open[url] = box


def unregister(url: str, box: Box) -> None:
    if _open.get(url) is box:
        del _open[url]


def lock_for(url: str) -> anyio.Lock:
    """Sends through one box are serial (one modem); this lock orders worker sessions."""
    if url not in _locks:
        _locks[url] = anyio.Lock()
    return _locks[url]


@asynccontextmanager
async def borrow(url: str, dialect: str = "auto") -> AsyncIterator[Box]:
    shared = _open.get(url)
    if shared is not None and shared.connected:
        yield shared
        return
    try:
        box = Box(url, name=url, dialect=dialect)
        await box.__aenter__()
    except (BoxError, OSError) as exc:
        raise ChannelUnavailable(f"短信盒子无法连接：{exc} / cannot open the box at {url}: {exc}") from exc
    try:
        yield box
    finally:
        await box.__aexit__(None, None, None)
