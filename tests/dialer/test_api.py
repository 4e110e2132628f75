"""The dialer API through the app: campaigns (numbers, DNC, scope, counts), recordings, calls, stats, OpenAPI."""

from __future__ import annotations

import datetime as dt
import io
import wave

import pytest

from core.customers.records import create_customer
from core.customers.schemas import CustomerIn
from plugins.dialer import files
from plugins.dialer.tables import Call, Campaign, Dnc

from .audiofiles import encoded_tone
from .conftest import add_recording

pytestmark = [pytest.mark.anyio, pytest.mark.db]


def stereo_wav(seconds: float = 2.0, rate: int = 44100) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00\x02\x00" * int(seconds * rate))
    return buf.getvalue()


async def make_customer(actor, name: str, phone: str) -> int:
    out = await create_customer(actor, CustomerIn(name=name, kind="individual", phones=[phone]))
    return out["id"] if isinstance(out, dict) else out.id


async def test_campaign_from_customers_removes_dnc_scope_duplicates(make_user, actor_for, client_for, files_dir):
    alice, bob = await make_user("alice"), await make_user("bob")
    a, b = await actor_for(alice), await actor_for(bob)
    c1 = await make_customer(a, "甲", "13800138001")
    c2 = await make_customer(a, "乙", "13800138002")
    c3 = await make_customer(b, "丙（别人的）", "13800138003")
    c4 = await make_customer(a, "丁", "13800138004")
    await Dnc.insert(Dnc(e164="+8613800138004", source="platform", created_at=dt.datetime.now(dt.UTC)))
    rec = await add_recording(alice)
    async with client_for(alice) as c:
        r = await c.post("/api/v1/dialer/campaigns", json={
            "name": "周一外呼", "customer_ids": [c1, c2, c3, c4], "numbers": ["138 0013 8001", "12", "13800138003"],
            "recording_id": rec})
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["total"], body["removed_dnc"], body["removed_scope"], body["removed_invalid"],
                body["removed_duplicate"]) == (2, 1, 2, 1, 1)
        assert body["status"] == "draft"
        cid = body["id"]
        nums = (await c.get(f"/api/v1/dialer/campaigns/{cid}/numbers")).json()
        assert [n["e164"] for n in nums] == ["+8613800138001", "+8613800138002"]
        assert nums[0]["customer_id"] == c1
        r = await c.post(f"/api/v1/dialer/campaigns/{cid}/start")
        assert r.status_code == 200 and r.json()["status"] == "waiting"
        assert "no box attached" in r.json()["status_reason"]
        assert (await c.post(f"/api/v1/dialer/campaigns/{cid}/start")).status_code == 409
        assert (await c.post(f"/api/v1/dialer/campaigns/{cid}/pause")).json()["status"] == "paused"
        assert (await c.post(f"/api/v1/dialer/campaigns/{cid}/stop")).json()["status"] == "stopped"
        lst = (await c.get("/api/v1/dialer/campaigns")).json()
        assert [x["id"] for x in lst] == [cid] and lst[0]["owner_name"] == "alice"
    async with client_for(bob) as c:
        assert (await c.get(f"/api/v1/dialer/campaigns/{cid}")).status_code == 404
        assert (await c.get("/api/v1/dialer/campaigns")).json() == []


async def test_bad_campaign_input_is_explained(make_user, client_for, files_dir):
    uid = await make_user("carol")
    rec = await add_recording(uid)
    async with client_for(uid) as c:
        r = await c.post("/api/v1/dialer/campaigns", json={"name": "空", "recording_id": rec})
        assert r.status_code == 400 and "号码列表为空" in r.json()["error"] and "empty" in r.json()["error"]
        await c.post("/api/v1/dialer/dnc", json={"numbers": ["13900000001"]})
        r = await c.post("/api/v1/dialer/campaigns", json={"name": "全是谢绝", "numbers": ["13900000001"],
                                                           "recording_id": rec})
        assert r.status_code == 400 and "谢绝来电 1" in r.json()["error"]
        r = await c.post("/api/v1/dialer/campaigns", json={"name": "x", "numbers": ["13900000002"],
                                                           "recording_id": rec, "config": {"ring_timeout_s": 8}})
        assert r.status_code == 400 and "15" in r.json()["error"]
        r = await c.post("/api/v1/dialer/campaigns", json={"name": "x", "numbers": ["13900000002"]})
        assert r.status_code == 400 and "recording" in r.json()["error"]
        csv = "姓名,手机\n张三,13900000003\n李四,139-0000-0003\n王五,not a phone\n".encode()
        r = await c.post("/api/v1/dialer/campaigns/upload", files={"file": ("list.csv", csv, "text/csv")},
                         data={"name": "文件外呼", "mode": "manual"})
        assert r.status_code == 201, r.text
        assert (r.json()["total"], r.json()["removed_duplicate"], r.json()["removed_invalid"]) == (1, 1, 1)
        r = await c.post("/api/v1/dialer/campaigns/upload", files={"file": ("x.csv", b"", "text/csv")},
                         data={"name": "空文件", "mode": "manual"})
        assert r.status_code == 400


async def test_recordings_upload_convert_and_refuse(make_user, client_for, files_dir):
    uid = await make_user("dave")
    async with client_for(uid) as c:
        r = await c.post("/api/v1/dialer/recordings", files={"file": ("hi.wav", stereo_wav(), "audio/wav")},
                         data={"name": "开场白", "handover_s": "1.5", "shared": "true"})
        assert r.status_code == 201, r.text
        rec = r.json()
        assert rec["duration_s"] == pytest.approx(2.0, abs=0.05) and rec["handover_s"] == 1.5
        audio = await c.get(f"/api/v1/dialer/recordings/{rec['id']}/audio")
        with wave.open(io.BytesIO(audio.content)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        r = await c.post("/api/v1/dialer/recordings", files={"file": ("long.wav", stereo_wav(70, 8000), "audio/wav")},
                         data={"name": "太长"})
        assert r.status_code == 400 and "too long" in r.json()["error"]
        r = await c.post("/api/v1/dialer/recordings", files={"file": ("x.mp3", b"ID3\x03junk", "audio/mpeg")},
                         data={"name": "mp3"})
        assert r.status_code == 400 and "could not be decoded" in r.json()["error"]
        r = await c.post("/api/v1/dialer/recordings", files={"file": ("x.txt", b"hello", "text/plain")},
                         data={"name": "txt"})
        assert r.status_code == 400 and "unsupported audio format" in r.json()["error"]
        fmt = (await c.get("/api/v1/dialer/recordings/formats")).json()
        assert all(k in fmt["accepted"] for k in ("WAV", "MP3", "M4A", "WebM", "OGG"))
        assert "ffmpeg" not in fmt["accepted"]
        r = await c.patch(f"/api/v1/dialer/recordings/{rec['id']}", json={"handover_s": 99})
        assert r.status_code == 400


@pytest.mark.parametrize(("kind", "mime"), [("mp3", "audio/mpeg"), ("m4a", "audio/mp4"),
                                          ("webm", "audio/webm;codecs=opus"), ("ogg", "audio/ogg"),
                                          ("amr", "audio/amr")])
async def test_compressed_uploads_become_8k_mono_wav_prompts(make_user, client_for, files_dir, kind, mime):
    """MP3/M4A/WebM-Opus (what the browser's 录音 button uploads)/OGG decode with PyAV, no system ffmpeg."""
    uid = await make_user(f"erin_{kind}")
    async with client_for(uid) as c:
        r = await c.post("/api/v1/dialer/recordings", files={"file": (f"prompt.{kind}", encoded_tone(kind, 3.0), mime)},
                         data={"name": f"开场白 {kind}", "handover_s": "2.5"})
        assert r.status_code == 201, r.text
        rec = r.json()
        assert rec["duration_s"] == pytest.approx(3.0, abs=0.05) and rec["handover_s"] == 2.5
        audio = await c.get(f"/api/v1/dialer/recordings/{rec['id']}/audio")
        assert audio.headers["content-type"] == "audio/wav" and rec["size"] == len(audio.content)
        with wave.open(io.BytesIO(audio.content)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
            assert w.getnframes() / 8000 == pytest.approx(3.0, abs=0.05)
            frames = w.readframes(w.getnframes())
        assert max(abs(v) for v in memoryview(frames).cast("h")[8000:16000]) > 3000  # the tone survived
        r = await c.post("/api/v1/dialer/recordings", files={"file": (f"p.{kind}", encoded_tone(kind, 3.0), mime)},
                         data={"name": "too late", "handover_s": "4"})
        assert r.status_code == 400


async def test_webm_recording_over_a_minute_or_too_short_is_refused(make_user, client_for, files_dir):
    uid = await make_user("frank")
    async with client_for(uid) as c:
        r = await c.post("/api/v1/dialer/recordings", files={"file": ("rec.webm", encoded_tone("webm", 62),
                                                                          "audio/webm")}, data={"name": "太长"})
        assert r.status_code == 400 and "too long" in r.json()["error"]
        r = await c.post("/api/v1/dialer/recordings", files={"file": ("rec.webm", encoded_tone("webm", 0.2),
                                                                          "audio/webm")}, data={"name": "太短"})
        assert r.status_code == 400 and "too short" in r.json()["error"]


async def test_call_records_recording_access_is_checked_and_audited(make_user, actor_for, client_for, files_dir):
    from core.audit.tables import AuditEvent

    alice, bob = await make_user("alice2"), await make_user("bob2")
    files.calls_dir().mkdir(parents=True, exist_ok=True)
    (files.calls_dir() / "r1.wav").write_bytes(stereo_wav(1, 8000))
    now = dt.datetime.now(dt.UTC)
    rows = await Call.insert(Call(attempt_key="t:1", kind="direct", number="+8613800138009", user=alice,
                                  answered=True, cause="normal", dial_at=now, answer_at=now, end_at=now,
                                  talk_s=42.0, effective=True, recording_file="r1.wav", created_at=now)
                             ).returning(Call.id)
    call_id = rows[0]["id"]
    async with client_for(alice) as c:
        calls = (await c.get("/api/v1/dialer/calls")).json()
        assert [x["id"] for x in calls] == [call_id] and calls[0]["state"] == "已接" and calls[0]["has_recording"]
        r = await c.get(f"/api/v1/dialer/calls/{call_id}/recording")
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        r = await c.get(f"/api/v1/dialer/calls/{call_id}/recording", params={"download": "true"})
        assert "attachment" in r.headers["content-disposition"]
        r = await c.post(f"/api/v1/dialer/calls/{call_id}/disposition", json={"disposition": "不要再打",
                                                                              "note": "客户要求"})
        assert r.status_code == 200 and r.json()["disposition"] == "不要再打"
        assert await Dnc.exists().where(Dnc.e164 == "+8613800138009")
        r = await c.post(f"/api/v1/dialer/calls/{call_id}/disposition", json={"disposition": "随便"})
        assert r.status_code == 400
        stats = (await c.get("/api/v1/dialer/stats", params={"by": "user"})).json()
        assert stats[0]["dials"] == 1 and stats[0]["effective"] == 1 and stats[0]["label"] == "alice2"
        csv = await c.get("/api/v1/dialer/stats", params={"by": "day", "format": "csv"})
        assert csv.status_code == 200 and "拨打" in csv.content.decode("utf-8-sig")
    actions = [r["action"] for r in await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.entity == "dialer_call_recording")]
    assert actions == ["listen", "download"]
    async with client_for(bob) as c:
        assert (await c.get(f"/api/v1/dialer/calls/{call_id}/recording")).status_code == 404
        assert (await c.get("/api/v1/dialer/calls")).json() == []


async def test_openapi_lists_the_dialer(make_user, client_for):
    uid = await make_user("eve", role="admin")
    async with client_for(uid) as c:
        schema = (await c.get("/schema/openapi.json")).json()
    for path in ("/api/v1/dialer/campaigns", "/api/v1/dialer/calls", "/api/v1/dialer/recordings",
                 "/api/v1/dialer/devices", "/api/v1/dialer/stats", "/api/v1/dialer/dial"):
        assert any(p.rstrip("/") == path for p in schema["paths"]), path
    assert Campaign


async def test_long_call_to_an_unknown_number_can_become_a_customer(make_user, actor_for, files_dir):
    from core.customers.tables import ContactPhone, Followup
    from core.settings.store import save
    from plugins.dialer.followups import followup_for_call
    from plugins.dialer.settings import SECTION

    uid = await make_user("newbie")
    actor = await actor_for(uid)
    now = dt.datetime.now(dt.UTC)
    rows = await Call.insert(Call(attempt_key="t:2", number="+8613800138077", user=uid, answered=True,
                                  cause="normal", dial_at=now, end_at=now, talk_s=25.0, created_at=now)
                             ).returning(Call.id)
    assert await followup_for_call(rows[0]["id"]) is None  # the setting is off by default
    admin = await actor_for(await make_user("boss9", role="admin"))
    await save(SECTION, {"create_unknown_customer": True}, admin)
    fid = await followup_for_call(rows[0]["id"])
    assert fid is not None and actor.user_id == uid
    phone = await ContactPhone.select().where(ContactPhone.e164 == "+8613800138077").first()
    follow = await Followup.select().where(Followup.id == fid).first()
    assert phone is not None and follow["customer"] == phone["customer"]
    assert (await Call.select(Call.customer).where(Call.id == rows[0]["id"]).first())["customer"] == phone["customer"]
