"""`read_tx()`: run a page's several reads on one connection.

Outside a transaction Piccolo's SQLite engine opens a new connection (and thread) per query, about
1–3 ms each; a list page makes five or six queries. One deferred read transaction (WAL: it never blocks
writers) reuses one connection. Audit writes happen after it closes, through `write_tx()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.db import engine


@asynccontextmanager
async def read_tx() -> AsyncIterator[None]:
    db = engine()
    if db.transaction_exists():
        yield
        return
    async with db.transaction():
        yield
