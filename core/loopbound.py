"""Objects that must belong to one event loop (locks, limiters), made once per running loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

T = TypeVar("T")


class PerLoop(Generic[T]):
    """`PerLoop(anyio.Lock).get()` returns the running loop's instance, creating it on first use."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._items: WeakKeyDictionary[asyncio.AbstractEventLoop, T] = WeakKeyDictionary()

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        item = self._items.get(loop)
        if item is None:
            item = self._items[loop] = self._factory()
        return item
