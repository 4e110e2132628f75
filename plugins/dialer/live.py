"""In-process fan-out of live console updates (SSE subscribers per user); slow readers drop old frames."""

from __future__ import annotations

import math
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream


class Hub:
    def __init__(self) -> None:
        self._subs: dict[int | None, list[MemoryObjectSendStream[dict[str, Any]]]] = {}
        self.last: dict[int, dict[str, Any]] = {}  # campaign id → latest frame

    def subscribe(self, user_id: int | None) -> MemoryObjectReceiveStream[dict[str, Any]]:
        send, recv = anyio.create_memory_object_stream[dict[str, Any]](math.inf)
        self._subs.setdefault(user_id, []).append(send)
        return recv

    def publish(self, user_id: int | None, frame: dict[str, Any]) -> None:
        if "campaign" in frame:
            self.last[frame["campaign"]] = frame
        for key in {user_id, None}:
            alive = []
            for s in self._subs.get(key, []):
                try:
                    if s.statistics().current_buffer_used < 100:
                        s.send_nowait(frame)
                    alive.append(s)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass
            self._subs[key] = alive


HUB = Hub()
