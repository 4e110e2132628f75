"""Sales analysis numbers equal plain SQL over the same scope (a manager's department subtree)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from core.customers.records import create_customer
from core.customers.schemas import CustomerIn
from core.db import is_sqlite
from plugins.sales import analysis, records
from plugins.sales.schemas import ListQuery, OpportunityIn, OpportunityPatch
from plugins.sales.tables import Opportunity
from tests.conftest import install_licence

pytestmark = [pytest.mark.anyio, pytest.mark.db]
STAGES = ["线索收集", "需求确认", "方案报价", "商务谈判", "赢单", "输单"]


async def _world(make_user, make_department, actor_for):
    south = await make_department("华南")
    child = await make_department("珠海组", south)
    north = await make_department("华北")
    boss = await make_user("boss", "manager", south)
    people = [await make_user(f"s{i}", "sales", d) for i, d in enumerate([south, child, child, north, north])]
    rng = random.Random(5)
    today = dt.date.today()
    for uid in [*people, boss]:
        actor = await actor_for(uid)
        cid = (await create_customer(actor, CustomerIn(name=f"客户{uid}")))["id"]
        for k in range(6):
            o = await records.create(actor, OpportunityIn(
                name=f"机会{uid}-{k}", customer_id=cid, amount=f"{rng.randrange(0, 500000)}.{rng.randrange(100):02d}",
                start_date=today - dt.timedelta(days=rng.randrange(0, 400)), source=rng.choice(["展会", "网络", ""]),
                probability=rng.choice([None, 15, 85])))
            for stage in STAGES[1:rng.randrange(1, 6)]:
                await records.update(actor, o.id, OpportunityPatch(stage=stage))
            if rng.random() < 0.15:
                await records.update(actor, o.id, OpportunityPatch(stage="输单"))
            elif rng.random() < 0.1:
                await records.update(actor, o.id, OpportunityPatch(state="已放弃"))
    return boss, [south, child], people[3:]


async def test_report_equals_plain_sql_over_the_same_scope(make_user, make_department, actor_for):
    boss, subtree, outside = await _world(make_user, make_department, actor_for)
    manager = await actor_for(boss)
    report = await analysis.report(manager, ListQuery(), by="owner", period="month")
    scope = f"(owner = {boss} OR department IN ({', '.join(map(str, subtree))}))"  # the resolver's clause, by hand

    rows = await Opportunity.raw(
        f"SELECT stage, COUNT(*) AS n, SUM(amount_fen) AS a, SUM(amount_fen * probability) AS w "
        f"FROM sales_opportunities WHERE {scope} GROUP BY stage")
    plain = {r["stage"]: (int(r["n"]), Decimal(int(r["a"])) / 100, Decimal(int(r["w"])) / 10000) for r in rows}
    got = {f.stage: (f.count, f.amount, f.weighted_amount) for f in report.funnel if f.count}
    assert set(got) == set(plain)
    for stage, (n, amount, weighted) in plain.items():
        assert got[stage][0] == n and got[stage][1] == amount
        assert got[stage][2] == weighted.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert report.total_count == sum(v[0] for v in plain.values()) == 6 * 4

    seq = STAGES[:5]
    joined = scope.replace("owner", "o.owner").replace("department", "o.department")
    for row, i in zip(report.conversion, range(len(seq) - 1), strict=True):
        counts = []
        for j in (i, i + 1):
            names = ", ".join(f"'{s}'" for s in seq[j:])
            r = await Opportunity.raw(
                "SELECT COUNT(DISTINCT h.opportunity) AS n FROM sales_opportunity_history h JOIN sales_opportunities o "
                f"ON o.id = h.opportunity WHERE {joined} AND h.field = 'stage' AND h.to_value IN ({names})")
            counts.append(int(r[0]["n"]))
        assert (row.reached_from, row.reached_to) == tuple(counts), row

    rows = await Opportunity.raw(
        "SELECT owner, COUNT(*) AS n, SUM(CASE WHEN outcome = 'won' THEN 1 ELSE 0 END) AS won, "
        "SUM(CASE WHEN outcome = 'lost' THEN 1 ELSE 0 END) AS lost, "
        "SUM(CASE WHEN outcome = 'won' THEN amount_fen ELSE 0 END) AS won_fen, "
        "SUM(CASE WHEN outcome = 'won' THEN cycle_days ELSE 0 END) AS cycle "
        f"FROM sales_opportunities WHERE {scope} GROUP BY owner")
    groups = {g.key: g for g in report.groups}
    assert set(groups) == {str(r["owner"]) for r in rows}
    for r in rows:
        g = groups[str(r["owner"])]
        won, lost = int(r["won"]), int(r["lost"])
        assert (g.count, g.won, g.lost, g.won_amount) == (int(r["n"]), won, lost, Decimal(int(r["won_fen"])) / 100)
        assert g.win_rate == (analysis.percent(won, won + lost))
        if won:
            assert abs(g.avg_cycle_days - Decimal(int(r["cycle"])) / won) < Decimal("0.06")

    month = "substr(start_date, 1, 7)" if is_sqlite() else "to_char(start_date, 'YYYY-MM')"
    rows = await Opportunity.raw(
        f"SELECT {month} AS p, COUNT(*) AS n, SUM(amount_fen) AS a FROM sales_opportunities WHERE {scope} "
        f"GROUP BY {month} ORDER BY p")
    assert [(p.period, p.count, p.amount) for p in report.periods] == [
        (r["p"], int(r["n"]), Decimal(int(r["a"])) / 100) for r in rows]

    for by in ("department", "source"):
        other = await analysis.report(manager, ListQuery(), by=by, period="quarter")
        assert sum(g.count for g in other.groups) == report.total_count
    outsider = await actor_for(outside[0])
    mine = await analysis.report(outsider, ListQuery(), by="owner", period="year")
    assert {g.key for g in mine.groups} == {str(outside[0])}


async def test_analysis_pages_api_and_licence(make_user, client_for):
    boss = await make_user("boss", "manager")
    async with client_for(boss) as c:
        cid = (await c.post("/api/v1/customers", json={"name": "甲公司"})).json()["id"]
        await c.post("/api/v1/opportunities", json={"name": "一", "customer_id": cid, "amount": "100"})
        r = await c.get("/api/v1/opportunities/analysis", params={"by": "source", "period": "day"})
        assert r.status_code == 200 and r.json()["total_count"] == 1, r.text
        assert (await c.get("/api/v1/opportunities/analysis", params={"by": "x"})).status_code == 400
        r = await c.get("/api/v1/opportunities/analysis.csv")
        assert r.status_code == 200 and "销售漏斗" in r.content.decode("utf-8-sig")
        r = await c.get("/sales/analysis")
        assert r.status_code == 200 and "<svg" in r.text and "销售漏斗" in r.text
        assert "/sales/analysis" in (await c.get("/")).text
    install_licence(edition=__import__("core.licence", fromlist=["Edition"]).Edition.PERSONAL, seats=1)
    async with client_for(boss) as c:
        assert (await c.get("/api/v1/opportunities/analysis")).status_code == 403
        assert "/sales/analysis" not in (await c.get("/")).text
