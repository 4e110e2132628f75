"""The zh-CN pages render and their htmx forms work through the app."""

import pytest

from plugins.sms import inbox, worker
from tests.sms.conftest import save_settings

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_pages_and_forms(make_user, actor_for, client_for, make_customer, sim_box):
    await sim_box()
    await save_settings(hours_start="00:00", hours_end="00:00")
    uid = await make_user("amy")
    amy = await actor_for(uid)
    cid = await make_customer(amy, "建慧贸易", "李四", "13800138000")
    async with client_for(uid) as c:
        for path in ("/sms", f"/sms?customer={cid}", "/sms/sent", "/sms/inbox", "/sms/templates", "/sms/optouts"):
            r = await c.get(path)
            assert r.status_code == 200, (path, r.text[:500])
        assert "建慧贸易" in (await c.get(f"/sms?customer={cid}")).text
        r = await c.post("/sms/templates", data={"name": "问候", "body": "{联系人}您好，{客户名称}"},
                         headers={"hx-request": "true"})
        assert "问候" in r.text
        r = await c.get("/sms/customers", params={"q": "建慧"})
        assert f'value="{cid}"' in r.text
        form = {"text": "{联系人}您好", "numbers": "13900139000 王五\n", "customer_ids": str(cid), "skip_invalid": "1"}
        r = await c.post("/sms/preview", data=form)
        assert 'id="preview-count">2<' in r.text and "王五您好" in r.text and "李四您好" in r.text
        r = await c.post("/sms/preview", data={"text": "", "numbers": "13900139000"})
        assert "短信内容不能为空" in r.text
        r = await c.post("/sms/send", data=form)
        assert "已提交" in r.text
        batch = r.text.split("/sms/sent?batch=")[1].split('"')[0]
        await worker.drain()
        r = await c.get(f"/sms/sent?batch={batch}")
        assert r.text.count('class="state">已发送<') == 2
        got = await inbox.ingest("+8613800138000", "好的")
        r = await c.post(f"/sms/inbox/{got.id}/followup")
        assert "已记为联系记录" in r.text
        r = await c.get(f"/sms/customer/{cid}")
        assert "李四您好" in r.text and "好的" in r.text
        r = await c.post("/sms/optouts", data={"number": "13700137000"})
        assert "+8613700137000" in r.text
        r = await c.get(f"/api/v1/customers/{cid}/timeline")
        assert {"sms_out", "sms_in"} <= {e["kind"] for e in r.json()}
        csv = "手机\n13600136000\n".encode()
        r = await c.post("/sms/import", files={"file": ("n.csv", csv, "text/csv")}, data={"numbers": "13900139000"})
        assert "13900139000\n+8613600136000" in r.text and 'id="import-status"' in r.text


async def test_failed_send_reminder(make_user, actor_for, db):
    import datetime as dt

    from core.host import today
    from plugins.sms import compose
    from plugins.sms.schemas import SendIn
    from plugins.sms.timeline import failed_reminder

    await save_settings(box_url="/dev/no-such-box", max_attempts=1, hours_start="00:00", hours_end="00:00")
    amy = await actor_for(await make_user("amy"))
    await compose.send(amy, SendIn(text="hi", numbers=["13800138000"]))
    await worker.drain()
    got = await failed_reminder(amy, today())
    assert [(r.key, r.count) for r in got] == [("sms.failed", 1)]
    assert await failed_reminder(amy, today() - dt.timedelta(days=30)) != []
