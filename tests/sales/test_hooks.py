"""Hooks: hand-over, reminders and performance, customer tab and timeline, demo data, import and export."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from python_calamine import CalamineWorkbook

from core import host
from core.customers.assign import handover
from core.perms.actor import system_actor
from plugins.sales import performance, records
from plugins.sales.schemas import OpportunityIn, OpportunityPatch
from plugins.sales.tables import Need, Opportunity

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def _customer(c, name: str = "珠海建慧贸易有限公司") -> int:
    r = await c.post("/api/v1/customers", json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_handover_moves_open_opportunities_and_needs_with_customers(make_user, make_department, client_for):
    south, north = await make_department("华南"), await make_department("华北")
    amy = await make_user("amy", "sales", south)
    bob = await make_user("bob", "sales", north)
    async with client_for(amy) as c:
        cid = await _customer(c)
        open_id = (await c.post("/api/v1/opportunities", json={"name": "开着的", "customer_id": cid})).json()["id"]
        body = {"name": "赢了的", "customer_id": cid, "stage": "赢单"}
        won = (await c.post("/api/v1/opportunities", json=body)).json()
        assert won["state"] == "已完成"
        await c.post("/api/v1/needs", json={"customer_id": cid, "title": "要试用"})
    moved = await handover(system_actor(), amy, bob)
    assert moved["opportunities"] == 1 and moved["needs"] == 1 and moved["customers"] == 1
    row = await Opportunity.select(Opportunity.owner, Opportunity.department).where(Opportunity.id == open_id).first()
    assert row == {"owner": bob, "department": north}
    assert (await Opportunity.select(Opportunity.owner).where(Opportunity.id == won["id"]).first())["owner"] == amy
    assert (await Need.select(Need.owner).first())["owner"] == bob
    async with client_for(bob) as c:
        assert (await c.get(f"/api/v1/opportunities/{open_id}")).status_code == 200


async def test_reminders_and_performance_for_user_and_their_people(make_user, make_department, actor_for,
                                                                   client_for):
    dept = await make_department("华南")
    amy = await make_user("amy", "sales", dept)
    boss = await make_user("boss", "manager", dept)
    today = host.today()
    async with client_for(amy) as c:
        cid = await _customer(c)
        for name, close in (("快到期", today + dt.timedelta(days=3)), ("已过期", today - dt.timedelta(days=2))):
            body = {"name": name, "customer_id": cid, "start_date": str(today - dt.timedelta(days=10)),
                    "expected_close": str(close), "amount": "1000.50"}
            assert (await c.post("/api/v1/opportunities", json=body)).status_code == 201, body
        oid = (await c.get("/api/v1/opportunities", params={"q": "快到期"})).json()["items"][0]["id"]
        await c.patch(f"/api/v1/opportunities/{oid}", json={"stage": "赢单"})
        await c.post("/api/v1/followups", json={"customer_id": cid, "summary": "电话"})
        got = {r["key"]: r for r in (await c.get("/api/v1/reminders")).json()}
        assert got["sales.close_past"]["count"] == 1 and got["sales.close_soon"]["count"] == 0
        assert "¥1,000.50" in got["sales.performance.this_week"]["label"]
        r = await c.get(got["sales.close_past"]["href"])
        assert r.status_code == 200 and "已过期" in r.text and "快到期" not in r.text
        assert "天内预计成交的销售机会" in got["sales.close_soon"]["label"]
        await c.get("/lang/en")
        page = (await c.get("/reminders")).text
        assert "Opportunities expected to close within" in page and "Customers not contacted for over" in page
    figures = {p.key: p for p in await performance.figures(await actor_for(boss), today)}
    week = figures["this_week"]
    assert (week.total.won, week.total.new_opportunities, week.total.followups) == (1, 2, 1)
    assert {p.user_id for p in week.people} >= {amy, boss}
    own = {p.key: p for p in await performance.figures(await actor_for(amy), today)}
    assert [p.user_id for p in own["this_week"].people] == [amy]
    async with client_for(boss) as c:
        r = await c.get("/sales/performance")
        assert r.status_code == 200 and "amy" in r.text


async def test_customer_tab_pages_and_htmx_forms(make_user, client_for):
    amy = await make_user("amy", "sales")
    async with client_for(amy) as c:
        cid = await _customer(c)
        detail = (await c.get(f"/customers/{cid}")).text
        assert f"/sales/customers/{cid}/opportunities" in detail and f"/sales/customers/{cid}/needs" in detail
        tab = await c.get(f"/sales/customers/{cid}/opportunities")
        assert tab.status_code == 200 and "新建销售机会" in tab.text
        r = await c.get(f"/sales/opportunities/new?customer_id={cid}")
        assert r.status_code == 200 and "珠海建慧" in r.text
        r = await c.post("/sales/opportunities/new", data={"customer_id": str(cid), "name": "页面新建", "amount": "-3"},
                         headers={"hx-request": "true"})
        assert "金额不能为负数" in r.text
        r = await c.post("/sales/opportunities/new", data={"customer_id": str(cid), "name": "页面新建",
                                                          "amount": "88.80", "needs": ["外呼设备", "短信服务"]},
                         headers={"hx-request": "true"})
        location = r.headers.get("hx-redirect", "")
        assert location.startswith("/sales/opportunities/"), r.text
        oid = int(location.rsplit("/", 1)[1])
        r = await c.post(f"/sales/opportunities/{oid}/stage", data={"stage": "需求确认"},
                         headers={"hx-request": "true"})
        assert r.status_code in (200, 201) and "需求确认" in r.text and "线索收集 → 需求确认" in r.text
        page = (await c.get(f"/sales/opportunities/{oid}")).text
        assert "¥88.80" in page and "外呼设备" in page
        r = await c.post(f"/sales/opportunities/{oid}/followups", data={"summary": "发了报价单"})
        assert "发了报价单" in r.text
        r = await c.get("/sales/opportunities", params={"q": "页面"}, headers={"hx-request": "true",
                                                                            "hx-target": "opp-rows"})
        assert r.status_code == 200 and "页面新建" in r.text and "<html" not in r.text
        r = await c.post("/sales/opportunities/columns", data={"columns": ["stage", "amount"]})
        assert (await c.get("/api/v1/opportunities/columns")).json() == ["stage", "amount"]
        assert (await c.put("/api/v1/opportunities/columns", json={"columns": ["nope"]})).status_code == 400
        r = await c.post(f"/sales/opportunities/{oid}/edit", data={"name": "改过的", "stage": "需求确认",
                                                                   "amount": "99", "state": "跟进中"})
        assert r.headers.get("hx-redirect") == f"/sales/opportunities/{oid}", r.text
        r = await c.post("/sales/needs", data={"customer_id": str(cid), "title": "要演示", "cycle_days": "3"})
        assert "要演示" in r.text
        for url in ("/sales/needs", "/sales/needs?due=1", f"/sales/customers/{cid}/needs",
                    f"/sales/opportunities/{oid}/edit", "/sales/opportunities?view=mine"):
            assert (await c.get(url)).status_code == 200, url
        timeline = (await c.get(f"/api/v1/customers/{cid}/timeline")).json()
        assert {"opportunity", "opportunity_stage", "need"} <= {e["kind"] for e in timeline}
        await c.get("/lang/en")
        assert "Stage and state history" in (await c.get(f"/sales/opportunities/{oid}")).text


async def test_import_all_or_nothing_and_export_round_trip(make_user, make_department, client_for):
    dept = await make_department("华南")
    boss = await make_user("boss", "manager", dept)
    amy = await make_user("amy", "sales", dept)
    async with client_for(boss) as c:
        cid = await _customer(c)
        good = ("机会名称,客户,阶段,金额,预计成交日期,开始日期,负责人,需求\n"
                f"甲,珠海建慧贸易有限公司,方案报价,\"1,200.50\",2099-01-01,2026-01-01,amy,外呼设备、短信服务\n"
                f"乙,{cid},线索收集,0,,,,\n")
        good = good.replace(f"乙,{cid}", "乙,珠海建慧贸易有限公司")
        bad = good + "丙,没有这个客户,线索收集,-1,,,,\n"
        r = await c.post("/api/v1/opportunities/import", files={"file": ("o.csv", bad.encode(), "text/csv")})
        assert r.status_code == 400 and {e["column"] for e in r.json()["detail"]} >= {"客户", "金额"}, r.text
        assert (await c.get("/api/v1/opportunities")).json()["items"] == []
        r = await c.post("/api/v1/opportunities/import", files={"file": ("o.csv", bad.encode(), "text/csv")},
                         data={"dry_run": "true"})
        assert r.status_code == 200 and r.json()["errors"] and r.json()["created"] == 0
        r = await c.post("/api/v1/opportunities/import", files={"file": ("o.csv", good.encode(), "text/csv")})
        assert r.status_code == 200 and r.json()["created"] == 2, r.text
        items = {i["name"]: i for i in (await c.get("/api/v1/opportunities")).json()["items"]}
        assert items["甲"]["amount"] == "1200.50" and items["甲"]["owner_id"] == amy
        r = await c.get("/api/v1/opportunities/export", params={"format": "xlsx", "stage": "方案报价"})
        book = CalamineWorkbook.from_filelike(io.BytesIO(r.content))
        rows = book.get_sheet_by_index(0).to_python()
        assert rows[0][:2] == ["编号", "机会名称"] and len(rows) == 2 and rows[1][1] == "甲"
        assert 1200.5 in rows[1]
        r_csv = await c.get("/api/v1/opportunities/export", params={"format": "csv", "stage": "方案报价"})
        assert ",1200.50," in r_csv.content.decode("utf-8-sig")
        # the exported file imports again (a copy of each row)
        r = await c.post("/api/v1/opportunities/import", files={"file": ("o.xlsx", r.content, "application/vnd.ms")})
        assert r.status_code == 200 and r.json()["created"] == 1, r.text
    async with client_for(amy) as c:
        r = await c.post("/api/v1/opportunities/import", files={"file": ("o.csv", good.encode(), "text/csv")})
        assert r.status_code == 403


async def test_demo_data_seeds_opportunities_for_demo_users(db, make_user, make_department):
    from plugins.sales.demo import seed

    dept = await make_department("销售一部")
    users = {"lixs": await make_user("lixs", "sales", dept), "zhaoxs": await make_user("zhaoxs", "sales", dept),
             "wangjl": await make_user("wangjl", "manager", dept)}
    await seed(users)
    rows = await Opportunity.select(Opportunity.stage, Opportunity.owner)
    assert len(rows) == 6 and {r["stage"] for r in rows} >= {"赢单", "输单", "方案报价"}
    assert await Need.count() == 1


async def test_number_is_unique_per_day_under_concurrency(make_user, actor_for):
    import anyio

    from core.customers.records import create_customer
    from core.customers.schemas import CustomerIn

    amy = await make_user("amy", "sales")
    actor = await actor_for(amy)
    cid = (await create_customer(actor, CustomerIn(name="并发客户")))["id"]
    numbers: list[str] = []

    async def one(i: int) -> None:
        numbers.append((await records.create(actor, OpportunityIn(name=f"并发{i}", customer_id=cid))).number)

    async with anyio.create_task_group() as tg:
        for i in range(12):
            tg.start_soon(one, i)
    assert len(set(numbers)) == 12
    o = await records.create(actor, OpportunityIn(name="x", customer_id=cid, stage="商务谈判", probability="35%"))
    assert o.probability == 35
    o = await records.update(actor, o.id, OpportunityPatch(state="已完成"))
    assert (o.stage, o.outcome) == ("赢单", "won")
    o = await records.update(actor, o.id, OpportunityPatch(stage="商务谈判", state="跟进中"))
    assert (o.outcome, o.closed_on, o.probability) == ("open", None, 70)
