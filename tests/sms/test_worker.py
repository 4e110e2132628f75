"""The queue worker through the simulated box and the fake gateway: exactly once, retries, limits."""

import datetime as dt

import anyio
import pytest

from plugins.sms import compose, worker
from plugins.sms.schemas import SendIn
from plugins.sms.tables import SmsMessage
from tests.sms.conftest import NOON, save_settings, use_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def _states() -> list[tuple[str, str]]:
    return [(r["number"], r["state"]) for r in await SmsMessage.select().order_by(SmsMessage.id)]


async def test_box_sends_each_message_once_chinese_and_long(make_user, actor_for, sim_box):
    box = await sim_box()
    amy = await actor_for(await make_user("amy"))
    long_text = "尊敬的客户您好，" + "我们的新产品已经上市，欢迎垂询。" * 6
    await compose.send(amy, SendIn(text=long_text, numbers=["13800138000", "13900139000"]), now=NOON)
    out = await worker.drain(now=NOON)
    assert (out.claimed, out.sent, out.failed) == (2, 2, 0)
    assert await _states() == [("+8613800138000", "sent"), ("+8613900139000", "sent")]
    by_number: dict[str, str] = {}
    for part in box.sent_sms:
        by_number[part.number] = by_number.get(part.number, "") + part.text
    assert by_number == {"+8613800138000": long_text, "+8613900139000": long_text}
    row = await SmsMessage.select().first()
    assert row["parts"] == 2 and row["sim"].endswith("#1") and row["attempts"] == 1
    again = await worker.drain(now=NOON + dt.timedelta(hours=1))
    assert again.claimed == 0 and len(box.sent_sms) == 4


async def test_two_workers_never_send_the_same_row(make_user, actor_for, gateway):
    await use_gateway(gateway)
    amy = await actor_for(await make_user("amy"))
    numbers = [f"1380013{i:04d}" for i in range(60)]
    await compose.send(amy, SendIn(text="hello", numbers=numbers), now=NOON)
    results = []

    async def run() -> None:
        results.append(await worker.drain(now=NOON))

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        tg.start_soon(run)
    assert sum(r.claimed for r in results) == 60
    assert len(gateway.sent) == 60 and len({m["to"] for m in gateway.sent}) == 60


async def test_restart_keeps_queue_and_never_resends_an_interrupted_row(make_user, actor_for, gateway):
    await use_gateway(gateway)
    amy = await actor_for(await make_user("amy"))
    await compose.send(amy, SendIn(text="hello", numbers=["13800138000", "13900139000"]), now=NOON)
    claimed = await worker.claim(NOON, limit=1)  # a worker took one row, then the process died
    assert len(claimed) == 1
    later = NOON + worker.LEASE + dt.timedelta(seconds=1)
    out = await worker.drain(now=later)
    assert (out.interrupted, out.sent) == (1, 1)
    states = dict(await _states())
    assert sorted(states.values()) == ["delivered", "failed"]
    failed = await SmsMessage.select().where(SmsMessage.state == "failed").first()
    assert "中断" in failed["reason"] and failed["number"] == claimed[0]["number"]
    assert len(gateway.sent) == 1


async def test_retry_with_backoff_then_failed_with_reason(make_user, actor_for, gateway):
    await use_gateway(gateway, max_attempts=3, retry_base_s=60)
    amy = await actor_for(await make_user("amy"))
    await compose.send(amy, SendIn(text="hello", numbers=["13800138000"]), now=NOON)
    gateway.fail_next = 1
    out = await worker.drain(now=NOON)
    assert out.retried == 1
    row = await SmsMessage.select().first()
    assert row["state"] == "queued" and row["next_attempt_at"] == NOON + dt.timedelta(seconds=60)
    assert (await worker.drain(now=NOON + dt.timedelta(seconds=30))).claimed == 0  # not yet due
    gateway.fail_next = 5
    assert (await worker.drain(now=NOON + dt.timedelta(seconds=60))).retried == 1
    row = await SmsMessage.select().first()
    assert row["next_attempt_at"] == NOON + dt.timedelta(seconds=180)  # 60 s after the 2nd try, doubled
    out = await worker.drain(now=NOON + dt.timedelta(seconds=180))
    assert out.failed == 1
    row = await SmsMessage.select().first()
    assert row["state"] == "failed" and row["attempts"] == 3 and "500" in row["reason"]
    assert gateway.sent == []


async def test_gateway_rejection_is_final_and_delivery_reports(make_user, actor_for, gateway):
    await use_gateway(gateway)
    amy = await actor_for(await make_user("amy"))
    gateway.reject.add("+8613900139000")
    gateway.undeliverable.add("+8613700137000")
    await compose.send(amy, SendIn(text="hello", numbers=["13800138000", "13900139000", "13700137000"]), now=NOON)
    out = await worker.drain(now=NOON)
    assert (out.sent, out.failed, out.delivered) == (2, 1, 2)
    assert dict(await _states()) == {"+8613800138000": "delivered", "+8613900139000": "failed",
                                     "+8613700137000": "failed"}
    from plugins.sms.channels.registry import get
    from plugins.sms.config import current

    assert await get("gateway").balance(await current()) == "88.50 CNY"


async def test_per_sim_limits_rotate_then_defer(make_user, actor_for, sim_box):
    box = await sim_box()
    await save_settings(sim_slots="1,2", sim_daily_limit=2, sim_monthly_limit=0)
    amy = await actor_for(await make_user("amy"))
    await compose.send(amy, SendIn(text="hi", numbers=[f"1380013800{i}" for i in range(5)]), now=NOON)
    out = await worker.drain(now=NOON)
    assert (out.sent, out.deferred) == (4, 1)
    assert [s.slot for s in box.sent_sms] == [1, 1, 2, 2]
    row = await SmsMessage.select().where(SmsMessage.state == "queued").first()
    assert "上限" in row["reason"] and row["attempts"] == 0
    assert row["next_attempt_at"] == dt.datetime(2026, 6, 1, 16, 0, tzinfo=dt.UTC)  # local midnight
    out = await worker.drain(now=row["next_attempt_at"] + dt.timedelta(hours=10))  # 10:00 the next day
    assert out.sent == 1 and len(box.sent_sms) == 5


async def test_box_without_sms_capable_sim(make_user, actor_for, sim_box):
    await sim_box(cards=[None, None, None, None, None])
    await save_settings(max_attempts=2, retry_base_s=10)
    amy = await actor_for(await make_user("amy"))
    await compose.send(amy, SendIn(text="hi", numbers=["13800138000"]), now=NOON)
    assert (await worker.drain(now=NOON)).retried == 1
    out = await worker.drain(now=NOON + dt.timedelta(seconds=10))
    assert out.failed == 1
    row = await SmsMessage.select().first()
    assert row["state"] == "failed" and "没有可发短信的SIM卡" in row["reason"]


async def test_unreachable_box_retries(make_user, actor_for, db):
    await save_settings(box_url="/dev/does-not-exist-sms", max_attempts=1)
    amy = await actor_for(await make_user("amy"))
    await compose.send(amy, SendIn(text="hi", numbers=["13800138000"]), now=NOON)
    assert (await worker.drain(now=NOON)).failed == 1
    assert "无法连接" in (await SmsMessage.select().first())["reason"]


async def test_opt_out_after_queueing_and_sending_hours(make_user, actor_for, sim_box):
    from plugins.sms import optout

    box = await sim_box()
    amy = await actor_for(await make_user("amy"))
    await compose.send(amy, SendIn(text="hi", numbers=["13800138000", "13900139000"]), now=NOON)
    await optout.add("13900139000", source="manual", actor=amy)
    night = dt.datetime(2026, 6, 1, 15, 0, tzinfo=dt.UTC)  # 23:00 in Shanghai
    assert (await worker.drain(now=night)).claimed == 0
    out = await worker.drain(now=NOON)
    assert (out.sent, out.failed) == (1, 1)
    assert dict(await _states())["+8613900139000"] == "failed"
    assert [s.number for s in box.sent_sms] == ["+8613800138000"]


async def test_scheduled_and_cancelled(make_user, actor_for, sim_box):
    from plugins.sms import logs

    box = await sim_box()
    amy = await actor_for(await make_user("amy"))
    later = NOON + dt.timedelta(hours=3)
    first = await compose.send(amy, SendIn(text="a", numbers=["13800138000"], scheduled_at=later), now=NOON)
    second = await compose.send(amy, SendIn(text="b", numbers=["13900139000"], scheduled_at=later), now=NOON)
    assert (await worker.drain(now=NOON)).claimed == 0
    assert await logs.cancel(amy, second.batch_id) == 1
    assert (await worker.drain(now=later)).sent == 1
    assert [s.text for s in box.sent_sms] == ["a"]
    batch = await logs.batch(amy, first.batch_id)
    assert batch.states == {"sent": 1}


async def test_monthly_sim_limit_defers_to_next_month(make_user, actor_for, sim_box):
    from plugins.sms import counters
    from plugins.sms.channels.box import sim_key

    box = await sim_box()
    await save_settings(sim_slots="1", sim_daily_limit=0, sim_monthly_limit=10)
    day = counters.local_day(NOON)
    await counters.bump("sim", sim_key(f"sim://{box.name}", 1), day.replace(day=1), 10)
    amy = await actor_for(await make_user("amy"))
    await compose.send(amy, SendIn(text="hi", numbers=["13800138000"]), now=NOON)
    assert (await worker.drain(now=NOON)).deferred == 1
    row = await SmsMessage.select().first()
    assert row["next_attempt_at"] == dt.datetime(2026, 6, 30, 16, 0, tzinfo=dt.UTC)  # 1 July, local midnight
    assert box.sent_sms == []
