"""外呼统计: the figures against a hand-computed expectation (every dimension, scope, date range, calls per hour in
Asia/Shanghai hours), the exports (CSV, xlsx, audited), the page's form and its SVG charts."""

from __future__ import annotations

import datetime as dt
import io
import json
import xml.etree.ElementTree as ET

import pytest
from python_calamine import CalamineWorkbook

from core.audit.tables import AuditEvent
from plugins.dialer import charts, stats
from plugins.dialer.schemas import StatRow
from plugins.dialer.tables import Call, Campaign

SH = dt.timezone(dt.timedelta(hours=8))
RANGE = {"start": "2024-03-01", "end": "2024-03-11"}


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, minute, tzinfo=SH)


async def seed(make_user, make_department) -> dict[str, int]:
    dept, other = await make_department("一部"), await make_department("二部")
    ids = {"alice": await make_user("alice", department_id=dept), "bob": await make_user("bob", department_id=dept),
           "carol": await make_user("carol", department_id=other),
           "boss": await make_user("boss", role="manager", department_id=dept),
           "admin": await make_user("root", role="admin"), "dept": dept}
    now = dt.datetime.now(dt.UTC)
    c1, c2 = [(await Campaign.insert(Campaign(name=n, owner=ids["alice"], created_at=now)).returning(Campaign.id)
               )[0]["id"] for n in ("周一任务", "周二任务")]
    ids["c1"], ids["c2"] = c1, c2
    A, B, C = ids["alice"], ids["bob"], ids["carol"]
    calls = [  # user, dial_at (Shanghai), answered, talk_s, effective, abandoned, box, slot, campaign
        (A, at(4, 9, 5), True, 60.0, True, False, "box1", 1, c1),
        (A, at(4, 9, 40), False, 5.0, False, False, "box1", 1, c1),  # unanswered: its talk_s never counts
        (A, at(4, 14, 10), True, 20.0, False, True, "box1", 2, c1),
        (A, at(5, 23, 30), True, 100.0, True, False, "box1", 2, None),
        (B, at(5, 0, 10), True, 30.0, False, False, "box2", 1, c1),  # 2024-03-04 16:10 UTC: Shanghai's 5th
        (B, at(11, 10, 0), False, 0.0, False, False, "box2", 1, c2),
        (B, at(1, 10, 0, month=2), True, 10.0, True, False, "box2", 1, c2),  # before the range
        (C, at(6, 11, 0), True, 50.0, True, False, "box3", 1, None),  # another department
    ]
    for k, (user, when, answered, talk, effective, abandoned, box, slot, campaign) in enumerate(calls):
        await Call.insert(Call(attempt_key=f"s:{k}", number="+8613800138000", user=user,
                               department=other if user == C else dept, campaign=campaign, device_name=box,
                               slot=slot, answered=answered, talk_s=talk, effective=effective, abandoned=abandoned,
                               dial_at=when, created_at=now))
    return ids


def figures(rows: list[dict]) -> dict[str, tuple]:
    return {r["label"]: (r["dials"], r["answered"], r["answer_rate"], r["effective"], r["talk_s"], r["avg_talk_s"],
                         r["abandoned"], r["abandoned_rate"], r["active_hours"], r["calls_per_hour"]) for r in rows}


@pytest.mark.anyio
@pytest.mark.db
async def test_every_dimension_matches_the_hand_computed_figures(make_user, make_department, client_for):
    ids = await seed(make_user, make_department)
    async with client_for(ids["admin"]) as c:
        async def get(by: str) -> dict[str, tuple]:
            r = await c.get("/api/v1/dialer/stats", params={"by": by, **RANGE})
            assert r.status_code == 200, r.text
            return figures(r.json())

        assert await get("user") == {
            # alice: hours 03-04 09h (two calls), 03-04 14h, 03-05 23h → 4 dials / 3 hours
            "alice": (4, 3, 0.75, 2, 180.0, 60.0, 1, 0.3333, 3, 1.33),
            "bob": (2, 1, 0.5, 0, 30.0, 30.0, 0, 0.0, 2, 1.0),
            "carol": (1, 1, 1.0, 1, 50.0, 50.0, 0, 0.0, 1, 1.0),
        }
        assert await get("sim") == {
            "box1:1": (2, 1, 0.5, 1, 60.0, 60.0, 0, 0.0, 1, 2.0),
            "box1:2": (2, 2, 1.0, 1, 120.0, 60.0, 1, 0.5, 2, 1.0),
            "box2:1": (2, 1, 0.5, 0, 30.0, 30.0, 0, 0.0, 2, 1.0),
            "box3:1": (1, 1, 1.0, 1, 50.0, 50.0, 0, 0.0, 1, 1.0),
        }
        assert await get("campaign") == {
            "—": (2, 2, 1.0, 2, 150.0, 75.0, 0, 0.0, 2, 1.0),
            "周一任务": (4, 3, 0.75, 1, 110.0, 36.7, 1, 0.3333, 3, 1.33),
            "周二任务": (1, 0, 0.0, 0, 0.0, 0.0, 0, 0.0, 1, 1.0),
        }
        assert await get("department") == {
            "一部": (6, 4, 0.6667, 2, 210.0, 52.5, 1, 0.25, 5, 1.2),
            "二部": (1, 1, 1.0, 1, 50.0, 50.0, 0, 0.0, 1, 1.0),
        }
        assert await get("day") == {  # bob's 00:10 call is Shanghai's 5 March (UTC still the 4th)
            "2024-03-04": (3, 2, 0.6667, 1, 80.0, 40.0, 1, 0.5, 2, 1.5),
            "2024-03-05": (2, 2, 1.0, 1, 130.0, 65.0, 0, 0.0, 2, 1.0),
            "2024-03-06": (1, 1, 1.0, 1, 50.0, 50.0, 0, 0.0, 1, 1.0),
            "2024-03-11": (1, 0, 0.0, 0, 0.0, 0.0, 0, 0.0, 1, 1.0),
        }
        assert await get("week") == {
            "2024-W10": (6, 5, 0.8333, 3, 260.0, 52.0, 1, 0.2, 5, 1.2),
            "2024-W11": (1, 0, 0.0, 0, 0.0, 0.0, 0, 0.0, 1, 1.0),
        }
        everything = figures((await c.get("/api/v1/dialer/stats", params={"by": "month"})).json())
        assert everything["2024-02"][0] == 1 and everything["2024-03"][0] == 7
        r = await c.get("/api/v1/dialer/stats", params={"by": "user", "start": "2024-03-11", "end": "2024-03-01"})
        assert r.status_code == 400 and "开始日期" in r.text
        assert (await c.get("/api/v1/dialer/stats", params={"by": "planet"})).status_code == 400
        assert (await c.get("/api/v1/dialer/stats", params={"format": "pdf"})).status_code == 400


@pytest.mark.anyio
@pytest.mark.db
async def test_scope_a_salesperson_sees_own_figures_a_manager_the_department(make_user, make_department,
                                                                            client_for):
    ids = await seed(make_user, make_department)
    async with client_for(ids["alice"]) as c:
        assert set(figures((await c.get("/api/v1/dialer/stats", params={"by": "user", **RANGE})).json())) == {"alice"}
        sims = figures((await c.get("/api/v1/dialer/stats", params={"by": "sim", **RANGE})).json())
        assert set(sims) == {"box1:1", "box1:2"}
        page = await c.get("/dialer/stats", params={"by": "user", **RANGE})
        assert page.status_code == 200 and "alice" in page.text and "bob" not in page.text
    async with client_for(ids["boss"]) as c:
        users = figures((await c.get("/api/v1/dialer/stats", params={"by": "user", **RANGE})).json())
        assert set(users) == {"alice", "bob"}


@pytest.mark.anyio
@pytest.mark.db
async def test_exports_csv_and_xlsx_with_calls_per_hour_and_are_audited(make_user, make_department, client_for):
    ids = await seed(make_user, make_department)
    async with client_for(ids["admin"]) as c:
        r = await c.get("/api/v1/dialer/stats", params={"by": "user", "format": "xlsx", **RANGE})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert "dialer-stats-user-2024-03-01-2024-03-11.xlsx" in r.headers["content-disposition"]
        rows = CalamineWorkbook.from_filelike(io.BytesIO(r.content)).get_sheet_by_index(0).to_python()
        assert rows[0] == [head for _, head in stats.COLUMNS]
        assert rows[0][-1] == "每小时拨打" and rows[0][2] == "拨打"
        alice = next(row for row in rows[1:] if row[1] == "alice")
        assert alice[2:] == [4, 3, 0.75, 2, 180, 60, 1, 0.3333, 3, 1.33]
        assert len(rows) == 4
        r = await c.get("/api/v1/dialer/stats", params={"by": "day", "format": "csv", **RANGE})
        text = r.content.decode("utf-8-sig")
        assert text.splitlines()[0].endswith("拨打小时数,每小时拨打")
        assert "2024-03-04,2024-03-04,3,2,0.6667,1,80.0,40.0,1,0.5,2,1.5" in text.splitlines()
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.meta).where(AuditEvent.entity == "dialer_stats")
    assert [e["action"] for e in events] == ["export", "export"]
    meta = json.loads(events[0]["meta"])
    assert meta == {"filters": {"by": "user", "start": "2024-03-01", "end": "2024-03-11"}, "rows": 3,
                    "format": "xlsx"}


@pytest.mark.anyio
@pytest.mark.db
async def test_stats_page_form_defaults_to_30_days_and_links_exports(make_user, make_department, client_for):
    from plugins.dialer.engine.calendar import zone

    ids = await seed(make_user, make_department)
    today = dt.datetime.now(zone("Asia/Shanghai")).date()
    async with client_for(ids["admin"]) as c:
        r = await c.get("/dialer/stats")
        assert r.status_code == 200
        assert f'name="start" value="{(today - dt.timedelta(days=29)).isoformat()}"' in r.text
        assert f'name="end" value="{today.isoformat()}"' in r.text
        assert "所选范围内没有拨打记录" in r.text  # the seeded calls are from 2024
        r = await c.get("/dialer/stats", params={"by": "day", **RANGE})
        assert 'class="chart time"' in r.text and "2024-03-05" in r.text
        assert "/api/v1/dialer/stats?by=day&amp;start=2024-03-01&amp;end=2024-03-11&amp;format=xlsx" in r.text
        assert "/api/v1/dialer/stats?by=day&amp;start=2024-03-01&amp;end=2024-03-11&amp;format=csv" in r.text
        assert "每小时拨打" in r.text and "有拨打的小时数" in r.text
        r = await c.get("/dialer/stats", params={"by": "sim", **RANGE})
        assert 'class="chart bars"' in r.text and "box1:2" in r.text
        r = await c.get("/dialer/stats", params={"by": "user", "start": "03/01/2024"})
        assert r.status_code == 200 and "YYYY-MM-DD" in r.text
        r = await c.get("/dialer/stats", params={"by": "user", "start": "2024-03-11", "end": "2024-03-01"})
        assert "开始日期不能晚于结束日期" in r.text
        r = await c.get("/dialer/stats", params={"by": "week", **RANGE, "lang": "en"})
        assert r.status_code == 200 and "Calls per hour" in r.text and "Call statistics · By week" in r.text
        assert "Effective conversations" in r.text and "idle hours do not lower the figure" in r.text


def row(k: int, dials: int = 10) -> StatRow:
    return StatRow(key=str(k), label=f"销售{k}", dials=dials, answered=dials // 2, answer_rate=0.5,
                   effective=dials // 4, talk_s=60.0, avg_talk_s=12.0, abandoned=0, abandoned_rate=0.0,
                   active_hours=2, calls_per_hour=dials / 2)


def svg(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # well-formed XML or it raises


NS = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("n", [0, 1, 2, 200])
def test_charts_render_for_zero_one_and_many_rows(n: int):
    rows = [row(k, dials=k + 1) for k in range(n)]
    for markup in (charts.time_chart(rows, "拨打趋势", "日期", ident="t"), charts.bar_chart(rows, "按人员", ident="b")):
        root = svg(markup)
        assert root.get("role") == "img" and root.get("aria-labelledby")
        assert root.find(f"{NS}title") is not None and root.find(f"{NS}desc") is not None
        text = "".join(root.itertext())
        if n == 0:
            assert "没有拨打记录" in text
            continue
        assert "拨打" in text and "接通" in text and "有效通话" in text  # the legend
        for el in root.iter():
            for attr in ("x", "y", "width", "height", "cx", "cy", "x1", "x2", "y1", "y2"):
                value = el.get(attr)
                if value is not None:
                    assert float(value) >= 0 and value != "nan", (attr, value)
    bars = svg(charts.bar_chart(rows, "按人员"))
    groups = [g for g in bars.iter(f"{NS}g") if g.get("class") == "row"]
    assert len(groups) == min(n, charts.BAR_LIMIT)
    if n == 200:
        assert "共 200 项" in "".join(bars.itertext())
        assert "销售199" in "".join(bars.itertext())  # most dials first
        labels = [t.text for t in svg(charts.time_chart(rows, "t", "日期")).iter(f"{NS}text")
                  if t.text and t.text.startswith("销售")]
        assert 0 < len(labels) <= 10  # x labels thinned out
    if n == 1:
        line = svg(charts.time_chart(rows, "t", "日期"))
        assert len(list(line.iter(f"{NS}circle"))) == 3 and not list(line.iter(f"{NS}polyline"))


def test_labels_are_escaped_and_ticks_are_round():
    evil = row(1)
    evil.label = '<script>alert("x")</script>'
    assert "<script>" not in str(charts.bar_chart([evil], "t"))
    svg(charts.bar_chart([evil], "t"))
    assert charts.nice_ticks(0) == [0.0, 1.0]
    assert charts.nice_ticks(1) == [0, 1]
    assert charts.nice_ticks(97) == [0, 25, 50, 75, 100]
    assert charts.nice_ticks(1234)[-1] >= 1234
