"""The scheduler: runs the `jobs` hook's periodic work, once across however many servers.

A job is claimed by a conditional UPDATE of its `job_runs` row (a lease); a daily job also records
the local date it ran for, so a restart or a second server never runs it twice on one day.
"""

from __future__ import annotations

import datetime as dt

import anyio
import structlog

from core.db import write_tx
from core.hooktypes import Job
from core.host import SHANGHAI
from core.settings.tables import JobRun

log = structlog.get_logger(__name__)
LEASE = dt.timedelta(minutes=10)
TICK = 30.0


def due_key(job: Job, now: dt.datetime, last_run_at: dt.datetime | None, last_key: str) -> str | None:
    """The run key if `job` is due at `now`, else None (pure; tested across day boundaries)."""
    if job.daily_at:
        local = now.astimezone(SHANGHAI)
        hour, minute = (int(x) for x in job.daily_at.split(":"))
        key = local.date().isoformat()
        if (local.hour, local.minute) >= (hour, minute) and last_key != key:
            return key
        return None
    if job.every is not None and (last_run_at is None or (now - last_run_at).total_seconds() >= job.every):
        return now.isoformat(timespec="seconds")
    return None


async def _claim(job: Job, now: dt.datetime) -> str | None:
    async with write_tx():
        row = await JobRun.select().where(JobRun.name == job.name).first()
        if row is None:
            await JobRun.insert(JobRun(name=job.name))
            row = {"last_run_at": None, "last_run_key": "", "locked_until": None}
        if row["locked_until"] is not None and row["locked_until"] > now:
            return None
        key = due_key(job, now, row["last_run_at"], row["last_run_key"])
        if key is None:
            return None
        claimed = await JobRun.update({JobRun.locked_until: now + LEASE}).where(
            (JobRun.name == job.name)
            & (JobRun.locked_until.is_null() | (JobRun.locked_until <= now))
        ).returning(JobRun.id)
        return key if claimed else None


async def run_due(jobs: list[Job], now: dt.datetime | None = None) -> list[str]:
    """Run every due job once; returns the names that ran."""
    ran = []
    for job in jobs:
        now_ = now or dt.datetime.now(dt.UTC)
        key = await _claim(job, now_)
        if key is None:
            continue
        error = ""
        try:
            await job.run()
            ran.append(job.name)
        except Exception as exc:
            log.exception("job failed", job=job.name)
            error = repr(exc)[:500]
        async with write_tx():
            await JobRun.update({
                JobRun.last_run_at: now_, JobRun.last_run_key: key, JobRun.locked_until: None,
                JobRun.last_error: error,
            }).where(JobRun.name == job.name)
    return ran


async def scheduler_loop(jobs: list[Job], stop: anyio.Event | None = None) -> None:
    """Run due jobs every TICK seconds until `stop` is set; a round that has started is finished first,
    so a shutdown never interrupts a job half-way through its writes."""
    stop = stop or anyio.Event()
    while not stop.is_set():
        await run_due(jobs)
        with anyio.move_on_after(TICK):
            await stop.wait()
