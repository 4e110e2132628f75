"""Virtual clock: simulated time only moves when told to (tests never sleep).

`advance(dt)` runs every timer due within `dt`, in time order, setting `now()` to each timer's
deadline first. One re-entrant lock guards the clock and every box that uses it, so transport
threads and the test thread see a consistent world.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

EPOCH = 1_735_700_400.0  # 2025-01-01 03:00 UTC, 11:00 in Beijing


@dataclass(order=True)
class Timer:
    when: float
    seq: int
    fn: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    def __init__(self, start: float = EPOCH) -> None:
        self._now = start
        self._timers: list[Timer] = []
        self._seq = itertools.count()
        self.lock = threading.RLock()

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, fn: Callable[[], None]) -> Timer:
        with self.lock:
            t = Timer(max(when, self._now), next(self._seq), fn)
            heapq.heappush(self._timers, t)
            return t

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        return self.call_at(self._now + delay, fn)

    def advance(self, dt: float) -> None:
        with self.lock:
            target = self._now + max(0.0, dt)
            while self._timers and self._timers[0].when <= target:
                t = heapq.heappop(self._timers)
                if t.cancelled:
                    continue
                self._now = t.when
                t.fn()
            self._now = target

    def next_deadline(self) -> float | None:
        with self.lock:
            live = [t.when for t in self._timers if not t.cancelled]
            return min(live) if live else None


class RealtimeTicker:
    """Drive a virtual clock from the wall clock (for `device simulate` and manual checks)."""

    def __init__(self, clock: VirtualClock, *, speed: float = 1.0, tick: float = 0.02) -> None:
        self.clock = clock
        self.speed = speed
        self.tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-clock", daemon=True)

    def start(self) -> RealtimeTicker:
        self._thread.start()
        return self

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self.tick):
            now = time.monotonic()
            self.clock.advance((now - last) * self.speed)
            last = now

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
