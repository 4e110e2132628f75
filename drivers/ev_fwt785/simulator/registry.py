"""Named simulated boxes shared by `sim://NAME` URLs, so tests can reach the box a driver opened."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

from .cards import default_cards
from .clock import RealtimeTicker, VirtualClock
from .model import SimBox

_lock = threading.Lock()
BOXES: dict[str, SimBox] = {}
_tickers: dict[str, RealtimeTicker] = {}
SHARED_CLOCK = VirtualClock()


def register(box: SimBox) -> SimBox:
    with _lock:
        BOXES[box.name] = box
    return box


def parse_sim_url(url: str) -> tuple[str, dict[str, str]]:
    """`sim://box1?dialect=simcom&baud=115200&realtime=1` -> ("box1", {...})."""
    parts = urlsplit(url)
    if parts.scheme != "sim":
        raise ValueError(f"expected sim://NAME[?options], got {url!r}")
    name = parts.netloc or parts.path.strip("/") or "box1"
    opts = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(opts) - {"dialect", "baud", "realtime", "index", "switch_s"}
    if unknown:
        raise ValueError(f"unknown sim:// option(s): {', '.join(sorted(unknown))}")
    return name, opts


def get_or_create(url: str) -> SimBox:
    """The box named in the URL; created on first use with the URL's options."""
    name, opts = parse_sim_url(url)
    with _lock:
        box = BOXES.get(name)
        if box is None:
            index = int(opts.get("index", len(BOXES)))
            box = SimBox(
                name,
                dialect=opts.get("dialect", "quectel"),
                cards=default_cards(index),
                clock=SHARED_CLOCK,
                baudrate=int(opts.get("baud", 115200)),
                switch_s=float(opts.get("switch_s", 3.0)),
                index=index,
            )
            BOXES[name] = box
        if opts.get("realtime") in ("1", "true", "yes") and name not in _tickers:
            _tickers[name] = RealtimeTicker(box.clock).start()
    return box


def reset() -> None:
    """Forget every registered box (tests)."""
    with _lock:
        for t in _tickers.values():
            t.stop()
        _tickers.clear()
        BOXES.clear()
