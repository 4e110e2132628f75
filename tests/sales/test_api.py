"""The opportunities and needs API through the real app: lifecycle, history, scope, bad input."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def _customer(c, name: str = "珠海建慧贸易有限公司") -> int:
    r = await c.post("/api/v1/customers", json={"name": name, "contacts": [{"name": "李四"}]})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_opportunity_lifecycle_with_history(make_user, make_department, client_for):
    dept = await make_department("华南组")
    amy = await make_user("amy", "sales", dept)
    async with client_for(amy) as c:
        cid = await _customer(c)
        r = await c.post("/api/v1/opportunities", json={
            "name": "外呼盒子 5 台", "customer_id": cid, "amount": "24500.50", "expected_close": "2099-01-01",
            "source": "展会", "needs": ["外呼设备"], "custom": {"预算来源": "年度"}})
        assert r.status_code == 201, r.text
        o = r.json()
        assert o["number"].startswith("XS") and len(o["number"]) == 15
        assert o["stage"] == "线索收集" and o["probability"] == 10 and o["amount"] == "24500.50"
        assert o["weighted_amount"] == "2450.05" and o["state"] == "跟进中"
        r = await c.patch(f"/api/v1/opportunities/{o['id']}", json={"stage": "方案报价"})
        assert r.status_code == 200, r.text
        assert r.json()["probability"] == 50
        r = await c.patch(f"/api/v1/opportunities/{o['id']}", json={"stage": "赢单"})
        o2 = r.json()
        assert (o2["state"], o2["outcome"], o2["probability"]) == ("已完成", "won", 100)
        assert o2["closed_on"] is not None and o2["cycle_days"] == 0
        stages = [(h["field"], h["from_value"], h["to_value"], h["user_name"]) for h in o2["history"]]
        assert ("stage", "线索收集", "方案报价", "amy") in stages and ("state", "跟进中", "已完成", "amy") in stages
        second = (await c.post("/api/v1/opportunities", json={"name": "续约", "customer_id": cid})).json()
        assert int(second["number"][-5:]) == int(o["number"][-5:]) + 1
        r = await c.get("/api/v1/opportunities", params={"q": "盒子"})
        assert [i["id"] for i in r.json()["items"]] == [o["id"]]
        r = await c.get("/api/v1/opportunities", params={"q": "建慧", "sort": "amount_fen", "desc": "true"})
        assert [i["id"] for i in r.json()["items"]] == [o["id"], second["id"]]
        r = await c.get("/api/v1/opportunities", params={"stage": "赢单"})
        assert [i["id"] for i in r.json()["items"]] == [o["id"]]
        r = await c.post(f"/api/v1/opportunities/{o['id']}/followups", json={"summary": "电话确认签约"})
        assert r.status_code == 201, r.text
        r = await c.get(f"/api/v1/customers/{cid}/timeline")
        kinds = {e["kind"] for e in r.json()}
        assert {"opportunity", "opportunity_stage", "followup"} <= kinds
        assert (await c.get(f"/api/v1/opportunities/{o['id']}")).json()["followup_ids"]


async def test_keyset_pages_cover_every_row_once(make_user, client_for):
    amy = await make_user("amy", "manager")
    async with client_for(amy) as c:
        cid = await _customer(c)
        for i in range(7):
            body = {"name": f"机会{i}", "customer_id": cid, "amount": str(i % 3 * 100)}
            if i % 2:
                body["expected_close"] = f"2099-01-0{i}"
            assert (await c.post("/api/v1/opportunities", json=body)).status_code == 201
        for sort in ("id", "amount_fen", "expected_close", "name"):
            for desc in ("true", "false"):
                seen, after = [], ""
                while True:
                    r = await c.get("/api/v1/opportunities", params={"limit": 2, "sort": sort, "desc": desc,
                                                                     "after": after})
                    assert r.status_code == 200, r.text
                    seen += [i["id"] for i in r.json()["items"]]
                    after = r.json()["next"]
                    if not after:
                        break
                assert sorted(seen) == sorted(set(seen)) and len(seen) == 7, (sort, desc, seen)


async def test_bad_input_is_refused_and_nothing_written(make_user, make_department, client_for):
    dept = await make_department("华南组")
    amy = await make_user("amy", "sales", dept)
    eve = await make_user("eve", "sales", dept)
    async with client_for(eve) as c:
        other = await _customer(c, "别人的客户")
    async with client_for(amy) as c:
        cid = await _customer(c)
        cases = [
            ({"amount": "-5"}, "金额不能为负数"),
            ({"amount": "abc"}, "金额必须是数字"),
            ({"amount": "1.234"}, "两位小数"),
            ({"probability": 101}, "0 到 100"),
            ({"probability": -1}, "0 到 100"),
            ({"probability": "x"}, "0–100"),
            ({"start_date": "2026-06-10", "expected_close": "2026-06-01"}, "早于开始日期"),
            ({"stage": "不存在的阶段"}, "未知的阶段"),
            ({"state": "胡乱"}, "未知的状态"),
            ({"customer_id": other}, "不在您的权限范围内"),
            ({"customer_id": 999999}, "不在您的权限范围内"),
            ({"source": "天上掉下来"}, "不在可选项中"),
        ]
        for extra, message in cases:
            r = await c.post("/api/v1/opportunities", json={"name": "x", "customer_id": cid, **extra})
            assert r.status_code == 400, (extra, r.text)
            body = r.json()
            assert message in body["error"] and "/" in body["error"], (extra, body)
        assert (await c.get("/api/v1/opportunities")).json()["items"] == []
        o = (await c.post("/api/v1/opportunities", json={"name": "好机会", "customer_id": cid, "amount": 10})).json()
        r = await c.patch(f"/api/v1/opportunities/{o['id']}", json={"amount": "-1", "name": "改名"})
        assert r.status_code == 400
        r = await c.patch(f"/api/v1/opportunities/{o['id']}", json={"expected_close": "2000-01-01"})
        assert r.status_code == 400 and "早于" in r.json()["error"]
        after = (await c.get(f"/api/v1/opportunities/{o['id']}")).json()
        assert (after["name"], after["amount"], after["expected_close"]) == ("好机会", "10.00", None)


async def test_scope_hides_other_peoples_opportunities(make_user, make_department, client_for):
    south = await make_department("华南组")
    north = await make_department("华北组")
    amy = await make_user("amy", "sales", south)
    eve = await make_user("eve", "sales", south)
    boss = await make_user("boss", "manager", south)
    far = await make_user("far", "manager", north)
    async with client_for(amy) as c:
        cid = await _customer(c)
        oid = (await c.post("/api/v1/opportunities", json={"name": "甲", "customer_id": cid})).json()["id"]
    for user, visible in ((eve, False), (boss, True), (far, False)):
        async with client_for(user) as c:
            r = await c.get(f"/api/v1/opportunities/{oid}")
            assert (r.status_code == 200) is visible, (user, r.status_code)
            assert (len((await c.get("/api/v1/opportunities")).json()["items"]) == 1) is visible
            if not visible:
                assert (await c.patch(f"/api/v1/opportunities/{oid}", json={"name": "x"})).status_code == 404
                r = await c.post("/api/v1/opportunities/bulk", json={"ids": [oid], "state": "搁置挂起"})
                assert r.status_code == 404
                r = await c.get("/api/v1/opportunities/export", params={"format": "csv"})
                assert "甲" not in r.content.decode("utf-8-sig")
    async with client_for(boss) as c:
        r = await c.post("/api/v1/opportunities/bulk", json={"ids": [oid], "owner_id": eve, "state": "搁置挂起"})
        assert r.status_code == 200 and r.json()["changed"] == 1, r.text
        o = (await c.get(f"/api/v1/opportunities/{oid}")).json()
        assert (o["owner_id"], o["state"]) == (eve, "搁置挂起")
        r = await c.get("/api/v1/opportunities/export", params={"format": "xlsx"})
        assert r.status_code == 200 and r.content[:2] == b"PK"


async def test_needs_with_reminder_cycle(make_user, client_for):
    amy = await make_user("amy", "sales")
    eve = await make_user("eve", "sales")
    async with client_for(amy) as c:
        cid = await _customer(c)
        r = await c.post("/api/v1/needs", json={"customer_id": cid, "title": "试用一周", "type": "产品",
                                                "cycle_days": 7, "next_due": "2020-01-01"})
        assert r.status_code == 201, r.text
        nid = r.json()["id"]
        assert [n["id"] for n in (await c.get("/api/v1/needs", params={"due": "true"})).json()] == [nid]
        reminders = {x["key"]: x for x in (await c.get("/api/v1/reminders")).json()}
        assert reminders["sales.needs_due"]["count"] == 1
        r = await c.post(f"/api/v1/needs/{nid}/done")
        assert r.status_code == 200 and r.json()["next_due"] > "2026"
        assert (await c.get("/api/v1/needs", params={"due": "true"})).json() == []
        r = await c.post("/api/v1/needs", json={"customer_id": cid, "title": "x", "type": "乱写"})
        assert r.status_code == 400
    async with client_for(eve) as c:
        assert (await c.get(f"/api/v1/needs/{nid}")).status_code == 404
        assert (await c.get("/api/v1/needs")).json() == []
        r = await c.post("/api/v1/needs", json={"customer_id": cid, "title": "偷偷加"})
        assert r.status_code == 400


async def test_settings_stages_openapi_and_personal_edition(make_user, client_for):
    from core.licence import Edition
    from tests.conftest import install_licence

    admin = await make_user("root", "admin")
    async with client_for(admin) as c:
        cid = await _customer(c)
        oid = (await c.post("/api/v1/opportunities", json={"name": "甲", "customer_id": cid})).json()["id"]
        stages = [{"name": "初步接触", "probability": 5}, {"name": "成交", "probability": 100, "outcome": "won"}]
        r = await c.put("/api/v1/settings/sales", json={"stages": stages})
        assert r.status_code == 200, r.text
        r = await c.put("/api/v1/settings/sales", json={"stages": [*stages, stages[0]]})
        assert r.status_code == 400 and "重名" in r.text
        # an opportunity in a stage that no longer exists can still be edited, and moved to a new stage
        assert (await c.patch(f"/api/v1/opportunities/{oid}", json={"amount": "5"})).status_code == 200
        r = await c.patch(f"/api/v1/opportunities/{oid}", json={"stage": "成交"})
        assert r.json()["state"] == "已完成", r.text
        r = await c.post("/api/v1/opportunities", json={"name": "乙", "customer_id": cid})
        assert r.json()["stage"] == "初步接触" and r.json()["probability"] == 5
        page = (await c.get("/admin/settings")).text
        assert page.count("初步接触") >= 1
        form = {"stages": '[{"name": "线索", "probability": 20}, {"name": "签约", "probability": 100, '
                '"outcome": "won"}]', "sources": "展会\n网络", "close_warn_days": "5"}
        r = await c.post("/admin/settings/sales", data=form)
        assert r.status_code == 200 and "已保存" in r.text, r.text[-500:]
        assert [s["name"] for s in (await c.get("/api/v1/settings/sales")).json()["stages"]] == ["线索", "签约"]
        paths = (await c.get("/schema/openapi.json")).json()["paths"]
        assert {"/api/v1/opportunities", "/api/v1/needs", "/api/v1/opportunities/analysis"} <= set(paths)
    install_licence(edition=Edition.PERSONAL, seats=1)
    async with client_for(admin) as c:
        assert (await c.get("/api/v1/opportunities")).status_code == 200
        assert (await c.get("/sales/analysis")).status_code == 403


async def test_a_customer_with_opportunities_is_merged_not_deleted(make_user, client_for):
    boss = await make_user("boss", "admin")
    async with client_for(boss) as c:
        keep = await _customer(c)
        gone = await _customer(c, "珠海建慧贸易公司")
        oid = (await c.post("/api/v1/opportunities", json={"name": "续约", "customer_id": gone})).json()["id"]
        r = await c.delete(f"/api/v1/customers/{gone}")
        assert r.status_code == 409 and "销售机会 1" in r.json()["error"]
        assert (await c.post("/api/v1/customers/merge", json={"keep_id": keep, "merge_id": gone})).status_code == 204
        assert (await c.get(f"/api/v1/opportunities/{oid}")).json()["customer_id"] == keep
        assert (await c.get(f"/api/v1/customers/{gone}")).status_code == 404
