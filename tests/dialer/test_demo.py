"""`waihubao demo` gives a new user two weeks of calls to look at in 拨打记录 and 外呼统计."""

from __future__ import annotations

import pytest

from drivers.ev_fwt785.simulator import default_cards
from plugins.dialer.calls import DISPOSITIONS

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_demo_calls_fill_records_and_statistics(db, client_for, files_dir):
    from core.demo import seed_demo

    users = await seed_demo()
    async with client_for(users["lixs"]) as c:
        calls = (await c.get("/api/v1/dialer/calls", params={"limit": 500})).json()
        assert len(calls) > 100 and any(k["answered"] for k in calls) and any(k["customer_id"] for k in calls)
        assert {k["user_id"] for k in calls} == {users["lixs"]}, "a salesperson sees only their own calls"
        assert {k["disposition"] for k in calls} - {""} <= set(DISPOSITIONS)  # what the page lets one pick
        assert {k["caller_number"] for k in calls} <= {card.number for card in default_cards()}  # 外呼设备's SIMs
        prompts = (await c.get("/api/v1/dialer/recordings")).json()  # a campaign can start in the default mode
        assert [p["name"] for p in prompts] == ["开场白（演示）"] and prompts[0]["duration_s"] >= 10
        page = (await c.get("/dialer")).text
        assert f'<option value="{prompts[0]["id"]}" selected>' in page
        rows = (await c.get("/api/v1/dialer/stats", params={"by": "day"})).json()
        assert len(rows) >= 8 and all(0 < r["answer_rate"] < 1 for r in rows)
        page = (await c.get("/dialer/stats", params={"by": "day"})).text
        assert "<svg" in page and "没有拨打记录" not in page
    async with client_for(users["admin"]) as c:
        people = (await c.get("/api/v1/dialer/stats", params={"by": "user"})).json()
        assert {r["label"] for r in people} >= {"李销售", "赵销售"}
