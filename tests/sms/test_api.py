"""`/api/v1/sms` through the app, and the published `sms_send` hook."""

import io

import pytest

from plugins.sms import worker
from tests.sms.conftest import save_settings

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_send_preview_logs_and_scope(make_user, client_for, sim_box):
    await sim_box()
    await save_settings(hours_start="00:00", hours_end="00:00")
    amy = await make_user("amy")
    eve = await make_user("eve")
    async with client_for(amy) as c:
        r = await c.post("/api/v1/sms/preview", json={"text": "您好", "numbers": ["13800138000", "13900139000"]})
        assert r.status_code == 200, r.text
        assert r.json()["parts_total"] == 2 and r.json()["cost"] == "¥0.10"
        r = await c.post("/api/v1/sms/send", json={"text": "您好", "numbers": ["13800138000"]})
        assert r.status_code == 201, r.text
        batch = r.json()["batch_id"]
        r = await c.post("/api/v1/sms/send", json={"text": "", "numbers": ["13800138000"]})
        assert r.status_code == 400 and "短信内容不能为空" in r.json()["error"] and "empty" in r.json()["error"]
        r = await c.post("/api/v1/sms/send", json={"text": "hi", "numbers": ["12"]})
        assert r.status_code == 400 and r.json()["detail"][0]["column"] == "number"
        await worker.drain()
        r = await c.get("/api/v1/sms/messages", params={"batch_id": batch})
        assert [m["state"] for m in r.json()] == ["sent"]
        r = await c.get(f"/api/v1/sms/batches/{batch}")
        assert r.json()["states"] == {"sent": 1} and r.json()["user_name"] == "amy"
        r = await c.get("/api/v1/sms/messages", params={"status": "bogus"})
        assert r.status_code == 400
        assert (await c.get("/api/v1/sms/balance")).json()["balance"] is None
    async with client_for(eve) as c:
        assert (await c.get("/api/v1/sms/messages")).json() == []
        assert (await c.get(f"/api/v1/sms/batches/{batch}")).status_code == 404
        assert (await c.post(f"/api/v1/sms/batches/{batch}/cancel")).status_code == 404


async def test_templates_optouts_and_import(make_user, client_for, sim_box):
    await sim_box()
    amy = await make_user("amy")
    boss = await make_user("boss", "admin")
    async with client_for(amy) as c:
        r = await c.post("/api/v1/sms/templates", json={"name": "问候", "body": "{联系人}您好"})
        assert r.status_code == 201 and r.json()["fields"] == ["联系人"]
        tid = r.json()["id"]
        r = await c.post("/api/v1/sms/templates", json={"name": "坏", "body": "{公司}您好"})
        assert r.status_code == 400 and "未知字段" in r.json()["error"]
        r = await c.post("/api/v1/sms/templates", json={"name": "共享", "body": "hi", "shared": True})
        assert r.status_code == 403
        r = await c.patch(f"/api/v1/sms/templates/{tid}", json={"body": "{联系人}，您好"})
        assert r.json()["body"] == "{联系人}，您好"
        r = await c.post("/api/v1/sms/optouts", json={"number": "139 0013 9000", "note": "电话里要求"})
        assert r.status_code == 201 and r.json() == {"added": True}
        assert [o["number"] for o in (await c.get("/api/v1/sms/optouts")).json()] == ["+8613900139000"]
        assert (await c.delete("/api/v1/sms/optouts/+8613900139000")).status_code == 403
        csv = "姓名,手机号\n张三,13800138000\n李四,1.3900139E10\n王五,abc\n张三,138 0013 8000\n".encode()
        r = await c.post("/api/v1/sms/import", files={"file": ("numbers.csv", io.BytesIO(csv), "text/csv")})
        assert r.status_code == 200, r.text
        body = r.json()
        assert [x["number"] for x in body["recipients"]] == ["+8613800138000", "+8613900139000"]
        assert body["recipients"][0]["name"] == "张三" and body["duplicates"] == 1 and len(body["invalid"]) == 1
        r = await c.post("/api/v1/sms/preview", json={"template_id": tid, "recipients": body["recipients"]})
        assert r.json()["recipients"] == 1 and r.json()["samples"][0]["text"] == "张三，您好"
    async with client_for(boss) as c:
        assert (await c.delete("/api/v1/sms/optouts/+8613900139000")).status_code == 204
        assert (await c.get("/api/v1/sms/optouts")).json() == []


async def test_xlsx_import_with_float_phones(make_user, client_for, db):
    import xlsxwriter

    amy = await make_user("amy")
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["客户", "联系电话"])
    sheet.write_row(1, 0, ["建慧", 13800138000])
    sheet.write_row(2, 0, ["恒信", 13900139000.0])
    book.close()
    async with client_for(amy) as c:
        r = await c.post("/api/v1/sms/import", files={"file": ("n.xlsx", io.BytesIO(buf.getvalue()), "application/x")})
        assert [x["number"] for x in r.json()["recipients"]] == ["+8613800138000", "+8613900139000"]


async def test_published_hook_sends_without_importing_the_plugin(make_user, actor_for, gateway):
    from core import host
    from core.perms.actor import system_actor
    from core.plugins import call_published
    from plugins.sms.tables import SmsMessage
    from tests.sms.conftest import use_gateway

    await use_gateway(gateway, hours_start="00:00", hours_end="00:00")
    pm = host.current().pm
    results = await call_published(pm, "sms_send", to=["13800138000", "bad"], text="您的订单已审批",
                                   actor=system_actor("orders"), purpose="orders:42:approved")
    assert results is not None and results[0]["queued"] == 1 and results[0]["skipped"][0]["number"] == "bad"
    again = await call_published(pm, "sms_send", to=["13800138000"], text="您的订单已审批",
                                 actor=system_actor("orders"), purpose="orders:42:approved")
    assert again[0]["queued"] == 0 and "already" in again[0]["skipped"][0]["reason"]
    await worker.drain()
    assert len(gateway.sent) == 1 and await SmsMessage.count() == 1
    sales = await actor_for(await make_user("amy"))
    assert (await call_published(pm, "sms_send", to=["13900139000"], text="hi", actor=sales, purpose=""))[0]["queued"]


async def test_hook_absent_without_the_plugin(db):
    import pluggy

    from core.plugins import call_published

    bare = pluggy.PluginManager("waihubao")
    assert await call_published(bare, "sms_send", to=[], text="", actor=None, purpose="") is None


async def test_openapi_lists_the_sms_api(make_user, client_for):
    async with client_for(await make_user("boss", "admin")) as c:
        r = await c.get("/schema/openapi.json")
        assert r.status_code == 200
        paths = {p for p in r.json()["paths"] if p.startswith("/api/v1/sms")}
        assert {"/api/v1/sms/send", "/api/v1/sms/preview", "/api/v1/sms/messages", "/api/v1/sms/inbox",
                "/api/v1/sms/templates", "/api/v1/sms/optouts", "/api/v1/sms/batches"} <= paths
