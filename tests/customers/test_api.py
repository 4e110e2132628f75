"""The JSON API and the pages, through the real app with a signed-in user."""

import pytest

pytestmark = [pytest.mark.db, pytest.mark.anyio]


async def test_api_customer_lifecycle(make_user, make_department, client_for):
    dept = await make_department("华南组")
    amy = await make_user("amy", "sales", dept)
    eve = await make_user("eve", "sales", dept)
    async with client_for(amy) as c:
        r = await c.post(
            "/api/v1/customers",
            json={"name": "珠海建慧贸易有限公司", "contacts": [{"name": "李四", "phones": ["138 0013 8000"]}]},
        )
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        r = await c.get("/api/v1/customers", params={"q": "+86 138-0013-8000"})
        assert [i["id"] for i in r.json()["items"]] == [cid]
        r = await c.get(f"/api/v1/customers/{cid}")
        assert r.json()["contacts"][0]["phones"] == ["+8613800138000"]
        r = await c.post("/api/v1/followups", json={"customer_id": cid, "summary": "首次电话", "method": "电话"})
        assert r.status_code == 201, r.text
        r = await c.get(f"/api/v1/customers/{cid}/timeline")
        assert [e["kind"] for e in r.json()] == ["followup"]
        r = await c.patch(f"/api/v1/customers/{cid}", json={"credit_code": "123"})
        assert r.status_code == 400 and "统一社会信用代码" in r.json()["error"]
        r = await c.post("/api/v1/customers", json={"name": "x", "phones": ["12"]})
        assert r.status_code == 400 and r.json()["detail"][0]["column"] == "电话"
        r = await c.get("/api/v1/customers/export", params={"format": "csv", "q": "建慧"})
        assert r.status_code == 200 and "珠海建慧" in r.content.decode("utf-8-sig")
    async with client_for(eve) as c:
        assert (await c.get(f"/api/v1/customers/{cid}")).status_code == 404
        assert (await c.patch(f"/api/v1/customers/{cid}", json={"name": "x"})).status_code == 404
        assert (await c.get(f"/api/v1/customers/{cid}/timeline")).status_code == 404
        assert (await c.get("/api/v1/customers", params={"q": "建慧"})).json()["items"] == []
        assert (await c.get("/api/v1/customers/99999")).status_code == 404


async def test_import_endpoint_dry_run_and_commit(make_user, client_for):
    boss = await make_user("boss", "manager")
    content = "客户名称,电话\n甲公司,13800138000\n乙公司,bad\n".encode()
    async with client_for(boss) as c:
        r = await c.post(
            "/api/v1/customers/import/dry-run", files={"file": ("a.csv", content, "text/csv")}, data={"mode": "create"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["errors"][0]["row"] == 3
        r = await c.post("/api/v1/customers/import", files={"file": ("a.csv", content, "text/csv")})
        assert r.status_code == 400 and r.json()["detail"][0]["column"] == "电话"
        r = await c.post("/api/v1/customers/import", files={"file": ("a.csv", b"", "text/csv")})
        assert r.status_code == 400 and "0 字节" in r.json()["error"]


async def test_pages_render_and_filter_with_htmx(make_user, client_for):
    amy = await make_user("amy", "sales")
    async with client_for(amy) as c:
        r = await c.post(
            "/customers/new",
            data={"name": "珠海建慧贸易有限公司", "contact_name": "李四", "phones": "13800138000", "type": "潜在"},
            headers={"hx-request": "true"},
        )
        assert r.status_code in (200, 201), r.text
        cid = int(r.headers["hx-redirect"].rsplit("/", 1)[1])
        page = await c.get(f"/customers/{cid}")
        assert page.status_code == 200 and "珠海建慧贸易有限公司" in page.text
        r = await c.post(
            f"/customers/{cid}/followups",
            data={"method": "电话", "summary": "聊了报价"},
            headers={"hx-request": "true"},
        )
        assert "聊了报价" in r.text
        rows = await c.get(
            "/customers", params={"q": "138 0013 8000"}, headers={"hx-request": "true", "hx-target": "customer-rows"}
        )
        assert "珠海建慧" in rows.text and "<html" not in rows.text
        full = await c.get("/customers")
        assert "<html" in full.text
        for path in (
            "/customers/contacts",
            "/customers/plans",
            "/customers/followups",
            "/customers/warnings",
            f"/customers/{cid}/tab/info",
            f"/customers/{cid}/tab/contacts",
            "/customers/new",
        ):
            assert (await c.get(path)).status_code == 200, path


async def test_openapi_documents_the_customer_api(make_user, client_for):
    admin = await make_user("root", "admin")
    async with client_for(admin) as c:
        r = await c.get("/schema/openapi.json")
        assert r.status_code == 200, r.text
        paths = r.json()["paths"]
        for path in ("/api/v1/customers", "/api/v1/contacts", "/api/v1/followups", "/api/v1/plans", "/api/v1/pools"):
            assert path in paths, path


async def test_column_chooser_is_saved_per_user(make_user, client_for):
    amy = await make_user("amy", "sales")
    bob = await make_user("bob", "sales")
    async with client_for(amy) as c:
        await c.post("/api/v1/customers", json={"name": "甲公司", "industry": "制造业"})
        r = await c.post(
            "/customers/columns", data={"columns": ["industry", "created_at"]}, headers={"hx-request": "true"}
        )
        assert r.status_code in (200, 201), r.text
        assert (await c.get("/api/v1/customers/columns")).json() == ["industry", "created_at"]
        page = await c.get("/customers")
        assert "制造业" in page.text and "创建时间" in page.text and "最后联系</th>" not in page.text
        bad = await c.put("/api/v1/customers/columns", json={"columns": ["password_hash"]})
        assert bad.status_code == 400
    async with client_for(bob) as c:
        assert (await c.get("/api/v1/customers/columns")).json() == []


async def test_bulk_assign_and_pool_rules_pages(make_user, make_department, client_for):
    from core.customers.tables import Customer, Pool, PoolRule

    dept = await make_department("华南组")
    boss = await make_user("boss", "admin", dept)
    amy = await make_user("amy", "sales", dept)
    async with client_for(boss) as c:
        for name in ("甲", "乙", "丙"):
            await c.post("/api/v1/customers", json={"name": name, "type": "意向"})
        page = await c.get("/customers")
        assert "分派" in page.text
        r = await c.post(
            "/customers/assign?view=all&type=意向",
            data={"scope": "filter", "to_user_id": str(amy), "reason": "调整"},
            headers={"hx-request": "true"},
        )
        assert "已分派 3 个客户" in r.text
        assert await Customer.count().where(Customer.owner == amy) == 3
        r = await c.post(
            "/customers/pools", data={"name": "华南公海", "daily_claim_limit": "5"}, headers={"hx-request": "true"}
        )
        pool_id = (await Pool.select(Pool.id).first())["id"]
        r = await c.post(
            "/customers/pools",
            data={"pool_id": str(pool_id), "kind": "no_followup", "days": "15"},
            headers={"hx-request": "true"},
        )
        assert (await PoolRule.select(PoolRule.days).first())["days"] == 15
        assert "未跟进 15 天收回" in (await c.get("/customers/pools")).text
    async with client_for(amy) as c:
        assert (await c.get("/customers/pools")).status_code == 403
        assert (
            await c.post("/customers/assign", data={"to_user_id": str(amy)}, headers={"hx-request": "true"})
        ).status_code == 403
