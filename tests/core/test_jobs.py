"""The scheduler: when a job is due (pure, across day boundaries in Asia/Shanghai) and running each due
job once, whatever how often the scheduler ticks."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.hooktypes import Job
from core.host import SHANGHAI
from core.jobs import due_key, run_due
from core.settings.tables import JobRun

UTC = dt.UTC
times = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2030, 12, 31),
                     timezones=st.just(UTC))
hhmm = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"{t[0]:02d}:{t[1]:02d}")


async def _noop() -> None:
    return None


@given(now=times, at=hhmm, last=st.one_of(st.just(""), times.map(lambda t: t.astimezone(SHANGHAI).date().isoformat())))
def test_daily_due_key_is_the_local_date_once_the_time_has_come(now, at, last):
    job = Job(name="j", run=_noop, daily_at=at)
    local = now.astimezone(SHANGHAI)
    hour, minute = map(int, at.split(":"))
    due = (local.hour, local.minute) >= (hour, minute) and last != local.date().isoformat()
    assert due_key(job, now, None, last) == (local.date().isoformat() if due else None)


@given(ticks=st.lists(times, min_size=1, max_size=40), at=hhmm)
def test_a_daily_job_runs_once_per_local_day_however_often_the_scheduler_ticks(ticks, at):
    job = Job(name="j", run=_noop, daily_at=at)
    hour, minute = map(int, at.split(":"))
    last_key, ran_on = "", []
    for now in sorted(ticks):
        key = due_key(job, now, None, last_key)
        if key is not None:
            ran_on.append(key)
            last_key = key
    assert len(ran_on) == len(set(ran_on))
    due_days = {t.astimezone(SHANGHAI).date().isoformat() for t in ticks
                if (t.astimezone(SHANGHAI).hour, t.astimezone(SHANGHAI).minute) >= (hour, minute)}
    assert set(ran_on) == due_days


def test_day_boundary_in_shanghai_not_utc():
    job = Job(name="j", run=_noop, daily_at="00:00")
    before_midnight = dt.datetime(2026, 6, 1, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Shanghai
    assert due_key(job, before_midnight, None, "2026-06-01") is None
    assert due_key(job, before_midnight + dt.timedelta(seconds=1), None, "2026-06-01") == "2026-06-02"


@given(every=st.integers(1, 86400), gap=st.integers(0, 200000), start=times)
def test_interval_job_is_due_when_its_interval_has_passed(every, gap, start):
    job = Job(name="j", run=_noop, every=every)
    assert due_key(job, start, None, "") is not None
    assert (due_key(job, start + dt.timedelta(seconds=gap), start, "x") is not None) == (gap >= every)


@pytest.mark.anyio
@pytest.mark.db
async def test_run_due_runs_a_daily_job_once_per_local_day(db):
    ran: list[str] = []

    async def work() -> None:
        ran.append("x")

    job = Job(name="test.daily", run=work, daily_at="03:15")
    day1 = dt.datetime(2026, 6, 1, 19, 14, tzinfo=UTC)  # 03:14 on 2 June in Shanghai
    assert await run_due([job], day1) == []
    for minutes in (1, 1, 2, 30, 600):
        await run_due([job], day1 + dt.timedelta(minutes=minutes))
    assert ran == ["x"]
    row = await JobRun.select().where(JobRun.name == "test.daily").first()
    assert row["last_run_key"] == "2026-06-02" and row["locked_until"] is None and row["last_error"] == ""
    assert await run_due([job], day1 + dt.timedelta(days=1, minutes=1)) == ["test.daily"]
    assert await run_due([job], day1 + dt.timedelta(days=1, minutes=2)) == []
    assert ran == ["x", "x"]


@pytest.mark.anyio
@pytest.mark.db
async def test_a_failing_job_is_recorded_and_does_not_stop_the_others(db):
    ran: list[str] = []

    async def boom() -> None:
        raise RuntimeError("on purpose")

    async def fine() -> None:
        ran.append("fine")

    now = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    jobs = [Job(name="test.boom", run=boom, every=60), Job(name="test.fine", run=fine, every=60)]
    assert await run_due(jobs, now) == ["test.fine"]
    row = await JobRun.select().where(JobRun.name == "test.boom").first()
    assert "on purpose" in row["last_error"] and row["locked_until"] is None


@pytest.mark.anyio
@pytest.mark.db
async def test_a_job_leased_by_another_server_is_left_alone(db):
    ran: list[str] = []

    async def work() -> None:
        ran.append("x")

    now = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    await JobRun.insert(JobRun(name="test.leased", locked_until=now + dt.timedelta(minutes=5)))
    job = Job(name="test.leased", run=work, every=60)
    assert await run_due([job], now) == []
    assert await run_due([job], now + dt.timedelta(minutes=6)) == ["test.leased"]
    assert ran == ["x"]
