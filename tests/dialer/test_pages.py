"""The dialer's pages render for a salesperson and its forms work through htmx."""

from __future__ import annotations

import pytest

from .conftest import add_recording

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_pages_render_and_forms_work(make_user, client_for, files_dir):
    uid = await make_user("pat")
    rec = await add_recording(uid)
    async with client_for(uid) as c:
        for path in ("/dialer", "/dialer/calls", "/dialer/dial?number=13800138000", "/dialer/stats?by=day",
                     "/dialer/recordings", "/dialer/devices"):
            r = await c.get(path)
            assert r.status_code == 200, (path, r.text[:500])
        r = await c.post("/dialer/campaigns", data={"name": "页面外呼", "numbers": "13900000001\n13900000002",
                                                    "recording_id": str(rec), "mode": "prompt"},
                         headers={"hx-request": "true"})
        assert r.status_code == 200 and r.headers.get("hx-redirect", "").startswith("/dialer/campaigns/"), r.text
        page = await c.get(r.headers["hx-redirect"])
        assert page.status_code == 200 and "接管" in page.text and "/dialer/static/console.js" in page.text
        script = await c.get("/dialer/static/console.js")
        assert script.status_code == 200 and "EventSource" in script.text
        assert (await c.get("/dialer/static/nope.js")).status_code == 404
        r = await c.post("/dialer/campaigns", data={"name": "空"}, headers={"hx-request": "true"})
        assert "号码列表为空" in r.text
        cid = r.headers.get("hx-redirect")
        assert cid is None
        r = await c.post("/dialer/campaigns/1/explode", headers={"hx-request": "true"})
        assert "unknown" in r.text or r.status_code == 404
