"""`write_tx()`: the one way to write.

On SQLite every write transaction is IMMEDIATE and serialised by one in-process lock, which
turns "database is locked" storms into an orderly queue (measured in the stack notes). On
PostgreSQL it is a plain transaction. Nested calls join the outer transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import anyio
from piccolo.engine.sqlite import TransactionType

from core.db.engine import engine
from core.loopbound import PerLoop

_in_write: ContextVar[bool] = ContextVar("waihubao_in_write", default=False)
_write_lock = PerLoop(anyio.Lock)


@asynccontextmanager
async def _transaction(tx: Any) -> AsyncIterator[None]:
    """A Piccolo transaction whose commit or rollback always completes.

    anyio cancels level-triggered: a task cancelled inside a transaction (server shutdown, a stopped runner)
    would have its rollback cancelled too, leaving the connection idle in transaction with its locks held
    (seen on PostgreSQL: a TRUNCATE waited on it for good). The exit runs shielded instead."""
    await tx.__aenter__()
    try:
        yield
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            await tx.__aexit__(type(exc), exc, exc.__traceback__)
        raise
    with anyio.CancelScope(shield=True):
        await tx.__aexit__(None, None, None)


@asynccontextmanager
async def read_tx() -> AsyncIterator[None]:
    """Several reads on one connection: outside a transaction Piccolo's SQLite engine opens a connection
    (and a thread) per query, 1–3 ms each. A deferred read transaction never blocks writers in WAL mode.
    Do not write inside: writes belong in `write_tx()`, after the read transaction has closed."""
    if engine().transaction_exists():
        yield
        return
    async with _transaction(engine().transaction()):
        yield


@asynccontextmanager
async def write_tx() -> AsyncIterator[None]:
    if _in_write.get():
        yield
        return
    db = engine()
    token = _in_write.set(True)
    try:
        if db.engine_type == "sqlite":
            async with _write_lock.get(), _transaction(db.transaction(transaction_type=TransactionType.immediate)):
                yield
        else:
            async with _transaction(db.transaction()):
                yield
    finally:
        _in_write.reset(token)
