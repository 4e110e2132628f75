"""`write_tx()` under cancellation: a task stopped mid-transaction (server shutdown, a stopped campaign
runner) rolls back and leaves no connection idle in transaction holding its locks."""

from __future__ import annotations

import datetime as dt

import anyio
import anyio.lowlevel
import pytest

from core.db import write_tx
from core.org.tables import Department

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_a_cancelled_writer_rolls_back_and_frees_its_locks(db):
    row = (await Department.insert(Department(name="原名", created_at=dt.datetime.now(dt.UTC))).returning(
        Department.id))[0]["id"]
    updated = anyio.Event()

    async def writer() -> None:
        async with write_tx():
            await Department.update({Department.name: "未提交"}).where(Department.id == row)
            updated.set()
            await anyio.sleep_forever()

    async with anyio.create_task_group() as tg:
        tg.start_soon(writer)
        await updated.wait()
        tg.cancel_scope.cancel()
    with anyio.fail_after(10):  # the same row again: blocks for good if the first transaction is still open
        async with write_tx():
            await Department.update({Department.name: "之后"}).where(Department.id == row)
    assert (await Department.select(Department.name).where(Department.id == row).first())["name"] == "之后"


async def test_a_writer_cancelled_after_its_work_still_commits_or_rolls_back_cleanly(db):
    """Cancelled while committing: the transaction ends one way or the other, never half-open."""
    for _ in range(20):
        async with anyio.create_task_group() as tg:
            async def write() -> None:
                async with write_tx():
                    await Department.insert(Department(name="批量", created_at=dt.datetime.now(dt.UTC)))

            tg.start_soon(write)
            await anyio.lowlevel.checkpoint()
            tg.cancel_scope.cancel()
    with anyio.fail_after(10):
        async with write_tx():
            await Department.insert(Department(name="最后", created_at=dt.datetime.now(dt.UTC)))
    assert await Department.exists().where(Department.name == "最后")
