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
        r = await c.get("/dialer/campaigns", follow_redirects=False)
        assert r.status_code in (302, 303, 307) and r.headers["location"] == "/dialer"  # 外呼管理 by its other name
        r = await c.post("/dialer/campaigns", data={"name": "页面外呼", "numbers": "13900000001\n13900000002",
                                                    "recording_id": str(rec), "mode": "prompt"},
                         headers={"hx-request": "true"})
        assert r.status_code == 200 and r.headers.get("hx-redirect", "").startswith("/dialer/campaigns/"), r.text
        cid_url = r.headers["hx-redirect"]
        page = await c.get(cid_url)
        assert page.status_code == 200 and "接管" in page.text and "/dialer/static/console.js" in page.text
        script = await c.get("/dialer/static/console.js")
        assert script.status_code == 200 and "EventSource" in script.text
        assert (await c.get("/dialer/static/nope.js")).status_code == 404
        r = await c.post("/dialer/campaigns", data={"name": "空"}, headers={"hx-request": "true"})
        assert "号码列表为空" in r.text
        cid = r.headers.get("hx-redirect")
        assert cid is None
        r = await c.post(cid_url + "/pause", headers={"hx-request": "true"})
        assert "外呼任务当前为“草稿”，不能暂停" in r.text, r.text  # a draft cannot pause, said in words
        r = await c.post(cid_url + "/stop", headers={"hx-request": "true"})
        assert "外呼任务：已停止" in r.text, r.text
        r = await c.post("/dialer/campaigns/1/explode", headers={"hx-request": "true"})
        assert "unknown" in r.text or r.status_code == 404


async def test_recordings_page_records_in_the_browser_and_uploads_webm(make_user, client_for, files_dir):
    """The 录音 button's script is a static file (CSP: no inline scripts) posting MediaRecorder's WebM/Opus
    blob to the upload API; that upload (built here as the script builds it) becomes an 8 kHz WAV prompt."""
    import io
    import re
    import wave

    from .audiofiles import encoded_tone

    uid = await make_user("rita")
    async with client_for(uid) as c:
        page = await c.get("/dialer/recordings")
        assert page.status_code == 200
        assert 'id="rec-start"' in page.text and "录音" in page.text and ".webm" in page.text
        assert page.text.count('<script src="/dialer/static/recordings.js" defer></script>') == 1
        assert "<title>外呼语音 · 外呼宝</title>" in page.text  # the script once, in the body, not in the title
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)  # no inline script
        assert "script-src 'self'" in page.headers["content-security-policy"]
        script = await c.get("/dialer/static/recordings.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("application/javascript")
        for needle in ("getUserMedia", "MediaRecorder", "audio/webm;codecs=opus", "/api/v1/dialer/recordings",
                       "X-CSRF-Token"):
            assert needle in script.text
        r = await c.post("/api/v1/dialer/recordings",
                         files={"file": ("录音.webm", encoded_tone("webm", 4.5), "audio/webm;codecs=opus")},
                         data={"name": "浏览器录音", "handover_s": "3", "shared": "false"})
        assert r.status_code == 201, r.text
        rec = r.json()
        assert rec["duration_s"] == pytest.approx(4.5, abs=0.05) and rec["handover_s"] == 3 and not rec["shared"]
        audio = await c.get(f"/api/v1/dialer/recordings/{rec['id']}/audio")
        with wave.open(io.BytesIO(audio.content)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
            assert w.getnframes() == pytest.approx(4.5 * 8000, abs=400)
        page = await c.get("/dialer/recordings")
        assert "浏览器录音" in page.text and f"/api/v1/dialer/recordings/{rec['id']}/audio" in page.text


async def test_click_to_call_from_a_contact_number(make_user, actor_for, client_for, files_dir):
    from core.customers.records import create_customer
    from core.customers.schemas import CustomerIn

    uid = await make_user("quinn")
    out = await create_customer(await actor_for(uid), CustomerIn(name="李四", kind="individual",
                                                                 phones=["010-6552-9988"]))
    cid = out["id"] if isinstance(out, dict) else out.id
    async with client_for(uid) as c:
        tab = (await c.get(f"/customers/{cid}/tab/contacts")).text
        assert '<a class="phone" href="/dialer/dial?number=%2B861065529988" title="拨打">010 6552 9988</a>' in tab
        pad = (await c.get("/dialer/dial", params={"number": "+861065529988"})).text
        assert 'value="+861065529988"' in pad


async def test_campaign_from_the_customer_list_ticked_or_filtered(make_user, actor_for, client_for, files_dir):
    import html
    import re

    from core.customers.records import create_customer
    from core.customers.schemas import CustomerIn

    uid, other = await make_user("rosa"), await make_user("sam")
    mine = []
    for k, name in enumerate(["甲一", "甲二", "乙三"], start=1):
        out = await create_customer(await actor_for(uid), CustomerIn(name=name, kind="individual",
                                                                     phones=[f"1390000010{k}"]))
        mine.append(out["id"] if isinstance(out, dict) else out.id)
    await create_customer(await actor_for(other), CustomerIn(name="甲外", kind="individual", phones=["13900000199"]))
    async with client_for(uid) as c:
        listing = (await c.get("/customers", params={"view": "mine"})).text
        assert 'formaction="/dialer"' in listing and "发起外呼" in listing
        page = (await c.get("/dialer", params=[("selection", "ticked"), ("ids", mine[0]), ("ids", mine[2])])).text
        assert f'name="customer_ids" value="{mine[0]},{mine[2]}"' in page and "已从客户列表选择 2 位客户" in page
        page = (await c.get("/dialer", params={"selection": "filter", "filter": '{"view": "all", "q": "甲"}'})).text
        carried = html.unescape(re.search(r'name="filter" value="([^"]*)"', page).group(1))
        r = await c.post("/dialer/campaigns", data={"name": "甲字头", "filter": carried, "mode": "manual"},
                         headers={"hx-request": "true"})
        assert r.headers.get("hx-redirect", "").startswith("/dialer/campaigns/"), r.text
        cid = int(r.headers["hx-redirect"].rsplit("/", 1)[1])
        numbers = (await c.get(f"/api/v1/dialer/campaigns/{cid}/numbers")).json()
        assert sorted(n["customer_id"] for n in numbers) == mine[:2], "甲外 is someone else's: out of scope"
        r = await c.post("/dialer/campaigns", data={"name": "坏筛选", "filter": '{"view": "nobody"}'},
                         headers={"hx-request": "true"})
        assert "客户筛选条件无效" in r.text


async def test_campaign_form_picks_boxes_and_slots(make_user, client_for, files_dir):
    import msgspec

    from plugins.dialer.tables import Campaign

    from .conftest import add_device, make_sim

    uid = await make_user("tess")
    dev = await add_device(make_sim())
    async with client_for(uid) as c:
        page = (await c.get("/dialer")).text
        assert f'name="slot" value="{dev}:2"' in page
        r = await c.post("/dialer/campaigns", data={"name": "卡槽", "numbers": "13900000051", "mode": "manual",
                                                    "slot": [f"{dev}:2", f"{dev}:3"]}, headers={"hx-request": "true"})
        assert r.headers.get("hx-redirect"), r.text
    row = await Campaign.select(Campaign.devices).where(Campaign.name == "卡槽").first()
    devices = row["devices"] if isinstance(row["devices"], list) else msgspec.json.decode(row["devices"])
    assert devices == [{"device": dev, "slots": [2, 3]}]


async def test_call_records_speak_the_users_language(make_user, client_for, files_dir):
    """拨打记录 says why a call failed in words, shows the caller number in local format, and does not pretend
    an undisposed call was marked 意向."""
    import datetime as dt

    from plugins.dialer.tables import Call

    uid = await make_user("lan")
    at = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)
    for key, answered, cause in (("a", False, "no_answer"), ("b", False, "rejected"), ("c", True, "normal")):
        await Call.insert(Call(attempt_key=f"t:{key}", kind="campaign", number="+8613800138009", user=uid,
                               caller_number="18600130002", answered=answered, cause=cause, dial_at=at,
                               end_at=at, created_at=at))
    async with client_for(uid) as c:
        page = (await c.get("/dialer/calls")).text
        assert "无人接听" in page and "拒接" in page and "no_answer" not in page and ">rejected<" not in page
        assert "186 0013 0002" in page and 'href="/dialer/dial?number=18600130002' not in page  # our SIM: no call link
        assert "selected>意向" not in page and '<option value="" selected>' in page
        await c.get("/lang/en")
        page = (await c.get("/dialer/calls")).text
        assert "no answer" in page and "Answered" in page and "已接" not in page
        assert "Business contact" in page and "业务联系" not in page  # the call type, stored in Chinese
        pad = (await c.get("/dialer/dial")).text
        assert '<option value="业务联系">Business contact</option>' in pad
        assert "Ringing" in pad and "CallAlerting" in pad  # the call's progress in words, not event names


async def test_campaign_form_sets_calling_windows_and_public_holidays(make_user, client_for, files_dir):
    """外呼时段 typed as people write them; 法定节假日 on by default, off when unticked; bad times refused."""
    import msgspec

    from plugins.dialer.tables import Campaign

    uid = await make_user("wendy")
    async with client_for(uid) as c:
        page = (await c.get("/dialer")).text
        assert 'value="09:00-12:00, 13:30-18:00"' in page and 'name="public_holidays" value="1" checked' in page
        form = {"numbers": "13900000061", "mode": "manual", "holidays_shown": "1"}
        r = await c.post("/dialer/campaigns", data={**form, "name": "时段", "windows": "9:00-11:30，14:00～17:30"},
                         headers={"hx-request": "true"})
        assert r.headers.get("hx-redirect"), r.text
        r = await c.post("/dialer/campaigns", data={**form, "name": "默认", "public_holidays": "1"},
                         headers={"hx-request": "true"})
        assert r.headers.get("hx-redirect"), r.text
        for bad, message in (("25:00-26:00", "HH:MM"), ("午饭后", "外呼时段"), ("14:00-09:00", "早于结束")):
            r = await c.post("/dialer/campaigns", data={**form, "name": "坏", "windows": bad},
                             headers={"hx-request": "true"})
            assert not r.headers.get("hx-redirect") and message in r.text, (bad, r.text)
    rows = {r["name"]: r["config"] for r in await Campaign.select(Campaign.name, Campaign.config)}
    configs = {k: v if isinstance(v, dict) else msgspec.json.decode(v) for k, v in rows.items()}
    assert set(configs) == {"时段", "默认"}
    assert configs["时段"]["windows"] == [["09:00", "11:30"], ["14:00", "17:30"]]
    assert configs["时段"]["public_holidays"] == ""
    assert configs["默认"]["public_holidays"] == "CN" and configs["默认"]["windows"] == [["09:00", "12:00"],
                                                                                         ["13:30", "18:00"]]
