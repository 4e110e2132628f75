"""Follow-ups, plans, reminders, warnings, attachments and analysis as the sales team uses them."""

import datetime as dt

import pytest
from litestar.exceptions import NotFoundException

from core.customers import activity, analysis, attachments, records, reminders, search
from core.customers.schemas import ContactIn, CustomerIn, FollowupIn, ListQuery, PlanIn
from core.customers.tables import Customer
from core.host import SHANGHAI

pytestmark = [pytest.mark.db, pytest.mark.anyio]


@pytest.fixture
async def people(make_user, make_department, actor_for):
    dept = await make_department("华南组")
    return {
        "amy": await actor_for(await make_user("amy", "sales", dept)),
        "eve": await actor_for(await make_user("eve", "sales")),
        "mgr": await actor_for(await make_user("mgr", "manager", dept)),
    }


async def test_doing_a_plan_is_recording_a_followup(people):
    amy = people["amy"]
    cid = (await records.create_customer(amy, CustomerIn(name="甲公司")))["id"]
    plan = await activity.add_plan(
        amy, PlanIn(customer_id=cid, due_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), subject="回访报价")
    )
    today = dt.datetime.now(SHANGHAI).date()
    assert (await reminders.plan_buckets(amy, today))["overdue"] + (await reminders.plan_buckets(amy, today))[
        "today"
    ] == 1
    await activity.add_followup(amy, FollowupIn(customer_id=cid, plan_id=plan.id, summary="已报价", method="电话"))
    assert (await activity.plans_of(amy, cid))[0].done_at is not None
    assert sum((await reminders.plan_buckets(amy, today)).values()) == 0
    row = await Customer.select(Customer.last_followup_at).where(Customer.id == cid).first()
    assert row["last_followup_at"] is not None
    kinds = [e.kind for e in await activity.core_timeline(amy, cid)]
    assert sorted(kinds) == ["followup", "plan"]


async def test_plan_buckets_use_local_days(people):
    amy = people["amy"]
    cid = (await records.create_customer(amy, CustomerIn(name="甲公司")))["id"]
    today = dt.date(2030, 6, 10)
    for days in (0, 2, 5, 9):
        due = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(23, 30), SHANGHAI)
        await activity.add_plan(amy, PlanIn(customer_id=cid, due_at=due, subject=f"+{days}"))
    assert await reminders.plan_buckets(amy, today) == {"overdue": 0, "today": 1, "3days": 2, "7days": 3}


async def test_birthdays_and_not_contacted_warnings(people):
    amy = people["amy"]
    today = dt.datetime.now(SHANGHAI).date()
    birthday = today.replace(year=1990) if not (today.month == 2 and today.day == 29) else dt.date(1992, 2, 29)
    cid = (
        await records.create_customer(
            amy, CustomerIn(name="甲公司", contacts=[ContactIn(name="寿星", birthday=birthday)])
        )
    )["id"]
    assert [b["name"] for b in await reminders.birthdays(amy, today)] == ["寿星"]
    assert [r["id"] for r in await reminders.not_contacted(amy, 0)] == [cid]
    await activity.add_followup(amy, FollowupIn(customer_id=cid, summary="联系了"))
    assert await reminders.not_contacted(amy, 1) == []
    moved = await reminders.move_to_public(amy, [cid], to_pool=False, reason="预警")
    assert moved == 1
    assert [r.id for r in (await search.list_customers(people["eve"], ListQuery(view="public"))).items] == [cid]
    keys = {r.key for r in await reminders.reminders_for(amy, today)}
    assert {"plans.today", "contacts.birthdays", "customers.not_contacted"} <= keys


async def test_attachments_follow_the_customer_scope(people, tmp_path, monkeypatch):
    monkeypatch.setenv("WAIHUBAO_FILES_DIR", str(tmp_path))
    amy, eve = people["amy"], people["eve"]
    cid = (await records.create_customer(amy, CustomerIn(name="甲公司")))["id"]
    f = await activity.add_followup(amy, FollowupIn(customer_id=cid, summary="附录音"))
    aid = await attachments.attach(amy, f.id, "../../etc/录音.mp3", b"ID3data", "audio/mpeg")
    path, row = await attachments.for_download(amy, aid)
    assert path.read_bytes() == b"ID3data" and row["filename"] == "录音.mp3" and path.parent == tmp_path / "followups"
    with pytest.raises(NotFoundException):
        await attachments.for_download(eve, aid)


async def test_analysis_counts_within_scope(people):
    amy, eve, mgr = people["amy"], people["eve"], people["mgr"]
    for t in ("潜在", "潜在", "意向"):
        await records.create_customer(amy, CustomerIn(name=f"{t}客户", type=t))
    await records.create_customer(eve, CustomerIn(name="别人的", type="意向"))
    by_type = {r["key"]: r["count"] for r in await analysis.counts(mgr, "type")}
    assert by_type == {"潜在": 2, "意向": 1}
    by_month = await analysis.counts(amy, "type", period="month")
    month = dt.datetime.now(SHANGHAI).strftime("%Y-%m")
    assert {(r["key"], r["period"], r["count"]) for r in by_month} == {("潜在", month, 2), ("意向", month, 1)}
    assert analysis.period_key(dt.datetime(2025, 12, 31, 17, 0, tzinfo=dt.UTC), "quarter") == "2026-Q1"
    csv_text = analysis.to_csv(by_month, "type", "month").decode("utf-8-sig")
    assert csv_text.splitlines()[0] == "type,period,count"


async def test_contact_list_and_contact_search_by_phone(people):
    amy, eve = people["amy"], people["eve"]
    await records.create_customer(amy, CustomerIn(name="甲", contacts=[ContactIn(name="张三", phones=["13800138000"])]))
    await records.create_customer(eve, CustomerIn(name="乙", contacts=[ContactIn(name="李四", phones=["13900139000"])]))
    assert [c.name for c in await records.list_contacts(amy)] == ["张三"]
    assert [c.name for c in await records.list_contacts(amy, "138-0013-8000")] == ["张三"]
    assert await records.list_contacts(amy, "13900139000") == []
