"""公海: recycle rules across local day boundaries, warnings, claim rules, owner history with reasons."""

import datetime as dt

import pytest

from core.audit.tables import AuditEvent
from core.customers import activity, assign, pool, records, reminders, search
from core.customers.errors import InvalidInput
from core.customers.schemas import AssignIn, CustomerIn, FollowupIn, ListQuery, PoolIn, PoolRuleIn
from core.customers.tables import Customer, OwnerHistory, Plan
from core.host import SHANGHAI

pytestmark = [pytest.mark.db, pytest.mark.anyio]


def local(y, m, d, hh=0, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).astimezone(dt.UTC)


@pytest.fixture
async def setup(make_user, make_department, actor_for):
    dept = await make_department("华南组")
    amy = await actor_for(await make_user("amy", "sales", dept))
    bob = await actor_for(await make_user("bob", "sales", dept))
    admin = await actor_for(await make_user("admin", "admin", dept))
    p = await pool.create_pool(
        admin,
        PoolIn(
            name="华南公海", is_default=True, remind_days=3, daily_claim_limit=2, pre_owner_block_days=7, max_owned=5
        ),
    )
    await pool.add_rule(admin, p.id, PoolRuleIn(kind="no_followup", days=30))
    return {"amy": amy, "bob": bob, "admin": admin, "pool": p}


async def _customer(actor, name, created):
    cid = (await records.create_customer(actor, CustomerIn(name=name)))["id"]
    await Customer.update({Customer.created_at: created, Customer.owner_since: created}).where(Customer.id == cid)
    return cid


async def test_recycle_uses_local_day_boundaries_and_is_idempotent(setup):
    amy = setup["amy"]
    # last follow-up 2026-01-01 23:30 Shanghai (15:30 UTC). 30 days later is 2026-01-31 local.
    cid = await _customer(amy, "老客户", local(2025, 12, 1))
    await Customer.update({Customer.last_followup_at: local(2026, 1, 1, 23, 30)}).where(Customer.id == cid)
    assert await pool.recycle(local(2026, 1, 31, 23, 59)) == 0  # still within 30 local days
    assert await pool.recycle(local(2026, 2, 1, 0, 1)) == 1  # just after local midnight
    assert await pool.recycle(local(2026, 2, 1, 10, 0)) == 0  # second run the same day: nothing left
    row = await Customer.select().where(Customer.id == cid).first()
    assert row["owner"] is None and row["pool"] == setup["pool"].id and row["pre_owner"] == amy.user_id
    hist = await OwnerHistory.select().where(OwnerHistory.customer == cid).order_by(OwnerHistory.id)
    assert hist[-1]["action"] == "recycle" and "30" in hist[-1]["reason"]
    assert await AuditEvent.count().where(AuditEvent.action == "recycle") == 1


async def test_fresh_followup_or_won_customer_is_not_recycled(setup):
    amy = setup["amy"]
    now = dt.datetime.now(dt.UTC)
    old = now - dt.timedelta(days=90)
    talked = await _customer(amy, "最近联系过", old)
    await activity.add_followup(amy, FollowupIn(customer_id=talked, summary="刚聊过"))
    won = await _customer(amy, "已成交", old)
    await Customer.update({Customer.won_at: old}).where(Customer.id == won)
    idle = await _customer(amy, "沉睡客户", old)
    assert await pool.recycle(now) == 1
    assert (await Customer.select(Customer.owner).where(Customer.id == idle).first())["owner"] is None
    assert (await Customer.select(Customer.owner).where(Customer.id == talked).first())["owner"] == amy.user_id


async def test_owner_is_warned_days_before_recycling(setup):
    amy = setup["amy"]
    now = dt.datetime.now(dt.UTC)
    soon = await _customer(amy, "快到期", now - dt.timedelta(days=90))
    await Customer.update({Customer.last_followup_at: now - dt.timedelta(days=28)}).where(Customer.id == soon)
    warned = await pool.soon_recycled(amy, now)
    assert [w["id"] for w in warned] == [soon]
    assert await pool.recycle(now) == 0
    items = {r.key: r.count for r in await reminders.reminders_for(amy, now.astimezone(SHANGHAI).date())}
    assert items["customers.soon_recycled"] == 1


async def test_claim_rules(setup):
    amy, bob = setup["amy"], setup["bob"]
    ids = [await _customer(amy, f"客户{i}", dt.datetime.now(dt.UTC)) for i in range(4)]
    await pool.release(amy, ids, "不跟了")
    assert {r.id for r in (await search.list_customers(bob, ListQuery(view="pool"))).items} == set(ids)
    with pytest.raises(InvalidInput, match="原负责人"):
        await pool.claim(amy, ids[:1])
    assert await pool.claim(bob, ids[:2]) == 2
    with pytest.raises(InvalidInput, match="每日领取上限"):
        await pool.claim(bob, ids[2:3])
    # the next local day the limit resets
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert await pool.claim(bob, ids[2:3], now=tomorrow) == 1
    hist = await OwnerHistory.select().where(OwnerHistory.customer == ids[0]).order_by(OwnerHistory.id)
    assert [h["action"] for h in hist] == ["create", "release", "claim"]
    assert hist[1]["reason"] == "不跟了"


async def test_capacity_cap(setup):
    amy, bob = setup["amy"], setup["bob"]
    for i in range(5):
        await _customer(bob, f"b{i}", dt.datetime.now(dt.UTC))
    cid = await _customer(amy, "a", dt.datetime.now(dt.UTC))
    await pool.release(amy, [cid], "")
    with pytest.raises(InvalidInput, match="上限"):
        await pool.claim(bob, [cid])


async def test_assign_transfer_and_handover(setup):
    amy, bob, admin = setup["amy"], setup["bob"], setup["admin"]
    ids = [await _customer(amy, f"客户{i}", dt.datetime.now(dt.UTC)) for i in range(3)]
    await activity.add_plan(
        amy,
        __import__("core.customers.schemas", fromlist=["PlanIn"]).PlanIn(
            customer_id=ids[0], due_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1), subject="回访"
        ),
    )
    moved = await assign.assign(admin, AssignIn(to_user_id=bob.user_id, customer_ids=ids[:1], reason="调整"))
    assert moved == 1
    totals = await assign.handover(admin, amy.user_id, bob.user_id, "离职")
    assert totals == {"customers": 2, "plans": 1}
    assert await Customer.count().where(Customer.owner == bob.user_id) == 3
    assert await Plan.count().where(Plan.user == bob.user_id) == 1
    actions = [h["action"] for h in await OwnerHistory.select().where(OwnerHistory.customer == ids[0])]
    assert actions == ["create", "transfer"]
    assert await AuditEvent.count().where(AuditEvent.action == "handover") == 3  # two customers + the summary


async def test_assign_by_filter(setup):
    amy, admin = setup["amy"], setup["admin"]
    for i in range(3):
        await records.create_customer(amy, CustomerIn(name=f"意向{i}", type="意向"))
    await records.create_customer(amy, CustomerIn(name="潜在", type="潜在"))
    n = await assign.assign(admin, AssignIn(to_user_id=setup["bob"].user_id, filter=ListQuery(type="意向")))
    assert n == 3
