"""Call recordings on local disk or an S3-compatible store (a real S3 HTTP server: moto's, in-process), played
back through our API with Range, kept locally when S3 is down, and purged by the retention job."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import boto3
import msgspec
import pytest
from structlog.testing import capture_logs

from core.audit.tables import AuditEvent
from core.customers.records import create_customer
from core.customers.schemas import CustomerIn
from core.customers.tables import FollowupAttachment
from core.perms.actor import system_actor
from core.settings.store import save
from drivers.ev_fwt785.simulator import Callee
from drivers.ev_fwt785.simulator.audio import tone_wav
from plugins.dialer import campaigns, files, recording_store, runtime
from plugins.dialer.agent_protocol import Item, ResultMsg
from plugins.dialer.agent_server import ingest_item
from plugins.dialer.recording_store import RangeNotSatisfiable, parse_range
from plugins.dialer.runner import CampaignRunner
from plugins.dialer.schemas import CampaignIn, DeviceSpec
from plugins.dialer.settings import SECTION
from plugins.dialer.tables import Call

from .conftest import ALWAYS, add_device, add_recording, drive, make_sim, open_box, wait_for
from .test_agent import free_port

SECRET = "moto-secret-never-shown"


# ------------------------------------------------------------------ pure


def test_parse_range() -> None:
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-", 100) == (0, 99)
    assert parse_range("bytes=10-19", 100) == (10, 19)
    assert parse_range("bytes=90-500", 100) == (90, 99)
    assert parse_range("bytes=-30", 100) == (70, 99)
    assert parse_range("bytes=-300", 100) == (0, 99)
    assert parse_range("bytes=0-1,5-6", 100) is None  # several ranges: the whole file
    assert parse_range("items=0-1", 100) is None and parse_range("bytes=x-y", 100) is None
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=100-", 100)


# ------------------------------------------------------------------ an S3 server


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@dataclass
class S3:
    endpoint: str
    bucket: str
    client: Any

    def keys(self) -> list[str]:
        return [o["Key"] for o in self.client.list_objects_v2(Bucket=self.bucket).get("Contents", [])]

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    monkeypatch.setenv(recording_store.SECRET_ENV, SECRET)
    client = boto3.session.Session().client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                                            aws_access_key_id="testing", aws_secret_access_key=SECRET)
    bucket = f"calls-{secrets.token_hex(4)}"
    client.create_bucket(Bucket=bucket)
    yield S3(s3_endpoint, bucket, client)
    recording_store.forget_clients()


async def configure(**values: Any) -> None:
    await save(SECTION, values, system_actor("test"))


async def use_s3(s3: S3, **extra: Any) -> None:
    await configure(**{"recording_store": "s3", "s3_endpoint_url": s3.endpoint, "s3_region": "us-east-1",
                       "s3_bucket": s3.bucket, "s3_prefix": "rec", "s3_access_key": "testing", "s3_path_style": True,
                       **extra})


def dead_endpoint() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused


async def add_call(user: int, name: str, *, store: str = "local", ended: dt.datetime | None = None,
                   customer: int | None = None, talk_s: float = 42.0) -> int:
    at = ended or dt.datetime.now(dt.UTC)
    rows = await Call.insert(Call(attempt_key=f"t:{secrets.token_hex(6)}", kind="direct", number="+8613800138009",
                                  user=user, customer=customer, answered=True, cause="normal", dial_at=at,
                                  answer_at=at, end_at=at, talk_s=talk_s, effective=True, recording_file=name,
                                  recording_store=store, created_at=at)).returning(Call.id)
    return rows[0]["id"]


def local_recording(data: bytes) -> str:
    name = secrets.token_hex(16) + ".wav"
    files.calls_dir().mkdir(parents=True, exist_ok=True)
    (files.calls_dir() / name).write_bytes(data)
    return name


async def audit_rows(action: str | None = None) -> list[dict[str, Any]]:
    q = AuditEvent.select().where(AuditEvent.entity == "dialer_call_recording").order_by(AuditEvent.seq)
    rows = await q
    return [r for r in rows if action is None or r["action"] == action]


NO_GZIP = {"accept-encoding": "identity"}  # what a browser's <audio> sends: byte ranges of the file itself

pytestmark = [pytest.mark.anyio]


# ------------------------------------------------------------------ writers


@pytest.mark.db
async def test_campaign_recording_goes_to_s3_and_plays_back_with_range(make_user, actor_for, client_for,
                                                                       files_dir, s3):
    uid = await make_user("rec1")
    actor = await actor_for(uid)
    await use_s3(s3)
    sim = make_sim()
    sim.callees.add("13900000001", Callee.answers(3, hangup_after=20, ring_after=1))
    dev = await add_device(sim)
    rec = await add_recording(uid, seconds=4)
    out = await campaigns.create(actor, CampaignIn(name="S3", numbers=["13900000001"], recording_id=rec,
                                                   devices=[DeviceSpec(device=dev)],
                                                   config={**ALWAYS, "ring_timeout_s": 20, "retry": {}}))
    await campaigns.transition(actor, out.id, "start")
    async with open_box(sim) as box, anyio.create_task_group() as tg:
        runner = CampaignRunner(out.id, {sim.name: box}, clock=sim.clock.now, tick=0.5)
        tg.start_soon(runner.run)
        await drive(runner, sim.clock, 300)
        assert runner.finished
    row = await Call.select().where(Call.campaign == out.id).first()
    assert row["answered"] and row["recording_file"] and row["recording_store"] == "s3"
    assert not (files.calls_dir() / row["recording_file"]).exists()  # moved, not copied
    key = f"rec/{row['recording_file']}"
    assert s3.keys() == [key]
    data = s3.get(key)
    assert data[:4] == b"RIFF" and len(data) == row["recording_size"] > 1000

    async with client_for(uid) as c:
        r = await c.get(f"/api/v1/dialer/calls/{row['id']}/recording", headers={**NO_GZIP, "range": "bytes=100-1123"})
        assert r.status_code == 206, r.text
        assert r.content == data[100:1124]
        assert r.headers["content-range"] == f"bytes 100-1123/{len(data)}"
        assert r.headers["content-length"] == "1024" and r.headers["accept-ranges"] == "bytes"
        r = await c.get(f"/api/v1/dialer/calls/{row['id']}/recording", headers=NO_GZIP)
        assert r.status_code == 200 and r.content == data and r.headers["content-type"] == "audio/wav"
        r = await c.get(f"/api/v1/dialer/calls/{row['id']}/recording", headers={**NO_GZIP, "range": "bytes=-10"})
        assert r.status_code == 206 and r.content == data[-10:]
        r = await c.get(f"/api/v1/dialer/calls/{row['id']}/recording",
                        headers={**NO_GZIP, "range": f"bytes={len(data)}-"})
        assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(data)}"
        r = await c.get(f"/api/v1/dialer/calls/{row['id']}/recording", params={"download": "true"})
        assert r.status_code == 200 and r.content == data and "attachment" in r.headers["content-disposition"]
    audits = await audit_rows()
    assert [a["action"] for a in audits] == ["listen", "listen", "listen", "download"]  # 416 served nothing
    meta = msgspec.json.decode(audits[0]["meta"])
    assert audits[0]["entity_id"] == str(row["id"]) and audits[0]["actor_id"] == uid
    assert meta["store"] == "s3" and meta["range"] == "100-1123"


@pytest.mark.db
async def test_direct_call_recording_goes_to_s3(make_user, files_dir, s3):
    uid = await make_user("rec2")
    await use_s3(s3)
    sim = make_sim()
    sim.callees.add("13500000009", Callee.answers(2, hangup_after=15, ring_after=1))
    dev = await add_device(sim)
    rt = runtime.Runtime(sim.clock.now, tick=0.2)
    row: dict[str, Any] = {}
    async with anyio.create_task_group() as tg:
        tg.start_soon(rt.serve, {sim.name: (f"sim://{sim.name}", "quectel")})
        await wait_for(lambda: runtime.current() is rt and bool(rt.boxes))
        key = await rt.direct.dial(user_id=uid, department_id=None, e164="+8613500000009", box_name=sim.name,
                                   device_id=dev, slot=None, prompt=None, call_type="直拨", customer_id=None,
                                   contact_id=None)
        with anyio.fail_after(20):
            while row.get("recording_store") != "s3":
                sim.advance(1)  # virtual time: the callee talks 15 s in a few event-loop turns
                await anyio.sleep(0.01)
                row = await Call.select().where(Call.attempt_key == key).first() or {}
        tg.cancel_scope.cancel()
    assert row["answered"] and row["recording_file"]
    assert s3.keys() == [f"rec/{row['recording_file']}"]
    assert not (files.calls_dir() / row["recording_file"]).exists()


def _finished(seq: int, key: str, audio: bytes) -> Item:
    now = time.time()
    result = {"key": key, "answered": True, "cause": "normal", "answer_at": now - 20, "end_at": now, "talk_s": 20.0,
              "total_s": 22.0}
    return Item(seq=seq, msg=ResultMsg(key=f"finished:{key}", campaign=None, number="+8613900000001", answered=True,
                                       cause="normal", at=now, talk_s=20.0,
                                       detail={"kind": "finished", "result": result,
                                               "recording": base64.b64encode(audio).decode(),
                                               "followup_min_s": None}))


async def _agent_call(uid: int) -> str:
    key = f"d:{secrets.token_hex(6)}"
    now = dt.datetime.now(dt.UTC)
    await Call.insert(Call(attempt_key=key, kind="direct", number="+8613900000001", user=uid, dial_at=now,
                           created_at=now))
    return key


@pytest.mark.db
async def test_agent_upload_goes_to_s3_and_falls_back_to_local_when_s3_is_down(make_user, actor_for, client_for,
                                                                                 files_dir, s3):
    uid = await make_user("rec3")
    actor = await actor_for(uid)
    audio = tone_wav(1.0)
    await use_s3(s3)
    key = await _agent_call(uid)
    await ingest_item(_finished(1, key, audio), actor, ["box"])
    row = await Call.select().where(Call.attempt_key == key).first()
    assert row["recording_store"] == "s3" and s3.get(f"rec/{row['recording_file']}") == audio
    assert not (files.calls_dir() / row["recording_file"]).exists()
    await ingest_item(_finished(2, key, audio), actor, ["box"])  # a repeated upload leaves nothing behind
    assert list(files.calls_dir().iterdir()) == [] and len(s3.keys()) == 1

    await configure(s3_endpoint_url=dead_endpoint())
    key = await _agent_call(uid)
    with capture_logs() as logs:
        await ingest_item(_finished(3, key, audio), actor, ["box"])
    row = await Call.select().where(Call.attempt_key == key).first()
    assert row["recording_store"] == "s3_pending"  # held on the local disk until S3 answers again
    assert (files.calls_dir() / row["recording_file"]).read_bytes() == audio
    assert any(e["event"] == "recording_kept_locally" and e["log_level"] == "warning" for e in logs), logs
    assert SECRET not in repr(logs)
    async with client_for(uid) as c:
        r = await c.get(f"/api/v1/dialer/calls/{row['id']}/recording", headers=NO_GZIP)
        assert r.status_code == 200 and r.content == audio
    assert await recording_store.upload_pending() == 0  # S3 still down: it stays, nothing lost

    await configure(s3_endpoint_url=s3.endpoint)  # S3 is back: the retry job uploads what waited
    assert await recording_store.upload_pending() == 1
    row = await Call.select().where(Call.attempt_key == key).first()
    assert row["recording_store"] == "s3" and s3.get(f"rec/{row['recording_file']}") == audio
    assert not (files.calls_dir() / row["recording_file"]).exists()
    assert await recording_store.upload_pending() == 0
    async with client_for(uid) as c:
        r = await c.get(f"/api/v1/dialer/calls/{row['id']}/recording", headers=NO_GZIP)
        assert r.status_code == 200 and r.content == audio


@pytest.mark.db
async def test_recordings_held_locally_wait_while_the_store_is_set_back_to_local(make_user, files_dir, s3):
    """Switching to local keeps them local and untouched; switching to S3 again uploads them. Old local
    recordings (made before S3 was chosen) never move."""
    uid = await make_user("rec3b")
    audio = tone_wav(0.5)
    old = await add_call(uid, local_recording(audio))
    lost = await add_call(uid, secrets.token_hex(16) + ".wav", store="s3_pending")  # its file is gone
    held = await add_call(uid, local_recording(audio), store="s3_pending")
    await configure(recording_store="local")
    assert await recording_store.upload_pending() == 0
    await use_s3(s3)
    assert await recording_store.upload_pending() == 1  # the lost one does not hold up the others
    rows = {r["id"]: r["recording_store"] for r in await Call.select(Call.id, Call.recording_store)}
    assert rows == {old: "local", lost: "local", held: "s3"} and len(s3.keys()) == 1


@pytest.mark.db
async def test_campaign_call_keeps_its_recording_locally_when_s3_is_down(make_user, actor_for, client_for,
                                                                         files_dir, s3):
    uid = await make_user("rec4")
    actor = await actor_for(uid)
    await use_s3(s3, s3_endpoint_url=dead_endpoint())
    sim = make_sim()
    sim.callees.add("13900000002", Callee.answers(3, hangup_after=15, ring_after=1))
    dev = await add_device(sim)
    rec = await add_recording(uid, seconds=4)
    out = await campaigns.create(actor, CampaignIn(name="S3 down", numbers=["13900000002"], recording_id=rec,
                                                   devices=[DeviceSpec(device=dev)],
                                                   config={**ALWAYS, "ring_timeout_s": 20, "retry": {}}))
    await campaigns.transition(actor, out.id, "start")
    with capture_logs() as logs:
        async with open_box(sim) as box, anyio.create_task_group() as tg:
            runner = CampaignRunner(out.id, {sim.name: box}, clock=sim.clock.now, tick=0.5)
            tg.start_soon(runner.run)
            await drive(runner, sim.clock, 300)
            assert runner.finished
    row = await Call.select().where(Call.campaign == out.id).first()
    assert row["recording_file"] and row["recording_store"] == "s3_pending"
    data = (files.calls_dir() / row["recording_file"]).read_bytes()
    assert data[:4] == b"RIFF"
    assert any(e["event"] == "recording_kept_locally" for e in logs) and SECRET not in repr(logs)
    async with client_for(uid) as c:  # it plays from the local disk, S3 still down
        r = await c.get(f"/api/v1/dialer/calls/{row['id']}/recording", headers={**NO_GZIP, "range": "bytes=0-99"})
        assert r.status_code == 206 and r.content == data[:100]


# ------------------------------------------------------------------ readers


@pytest.mark.db
async def test_old_local_recording_still_plays_after_switching_to_s3(make_user, client_for, files_dir, s3):
    uid = await make_user("rec5")
    data = tone_wav(2.0)
    call_id = await add_call(uid, local_recording(data))
    await use_s3(s3)
    async with client_for(uid) as c:
        r = await c.get(f"/api/v1/dialer/calls/{call_id}/recording", headers={**NO_GZIP, "range": "bytes=44-"})
        assert r.status_code == 206 and r.content == data[44:]
        assert r.headers["content-range"] == f"bytes 44-{len(data) - 1}/{len(data)}"
    assert s3.keys() == []


@pytest.mark.db
async def test_recordings_stay_playable_and_purgeable_after_the_bucket_changes(make_user, client_for, files_dir, s3):
    uid = await make_user("rec_moved")
    data = tone_wav(1.0)
    name = local_recording(data)
    call_id = await add_call(uid, name, ended=dt.datetime.now(dt.UTC) - dt.timedelta(days=40))
    await use_s3(s3)
    assert await recording_store.offload(call_id, name) == "s3"
    s3.client.create_bucket(Bucket=s3.bucket + "-new")
    await use_s3(s3, s3_bucket=s3.bucket + "-new", s3_prefix="")  # the admin moves new recordings elsewhere
    async with client_for(uid) as c:
        r = await c.get(f"/api/v1/dialer/calls/{call_id}/recording", headers=NO_GZIP)
        assert r.status_code == 200 and r.content == data  # read from the bucket it went to
    await configure(recording_retention_days=30)
    assert await recording_store.purge_expired() == 1
    assert s3.keys() == []  # deleted where it was, not looked for in the new bucket


@pytest.mark.db
async def test_missing_object_is_a_clear_404_and_an_unreachable_store_a_503(make_user, client_for, files_dir, s3):
    uid = await make_user("rec6")
    await use_s3(s3)
    gone = await add_call(uid, secrets.token_hex(16) + ".wav", store="s3")
    lost = await add_call(uid, secrets.token_hex(16) + ".wav", store="local")
    async with client_for(uid) as c:
        r = await c.get(f"/api/v1/dialer/calls/{gone}/recording")
        assert r.status_code == 404 and "recording file is missing" in r.text
        r = await c.get(f"/api/v1/dialer/calls/{lost}/recording")
        assert r.status_code == 404 and "recording file is missing" in r.text
        await configure(s3_endpoint_url=dead_endpoint())
        r = await c.get(f"/api/v1/dialer/calls/{gone}/recording")
        assert r.status_code == 503 and "unreachable" in r.text
    assert await audit_rows() == []  # nothing was served


@pytest.mark.db
async def test_recording_needs_listen_permission_and_scope(make_user, client_for, files_dir, s3):
    from core.perms.tables import Role, RoleGrant

    owner, other, deaf = await make_user("rec7"), await make_user("rec8"), await make_user("rec9")
    await use_s3(s3)
    name = secrets.token_hex(16) + ".wav"
    s3.client.put_object(Bucket=s3.bucket, Key=f"rec/{name}", Body=tone_wav(1.0))
    call_id = await add_call(owner, name, store="s3")
    async with client_for(other) as c:  # a salesperson who may listen, but not to this call
        r = await c.get(f"/api/v1/dialer/calls/{call_id}/recording", headers={"range": "bytes=0-9"})
        assert r.status_code == 404
    sales = await Role.select(Role.id).where(Role.key == "sales").first()
    await RoleGrant.delete().where((RoleGrant.role == sales["id"]) & (RoleGrant.permission == "dialer:listen"))
    async with client_for(deaf) as c:
        assert (await c.get(f"/api/v1/dialer/calls/{call_id}/recording")).status_code == 403
    async with client_for(owner) as c:  # the owner lost dialer:listen with the role too
        assert (await c.get(f"/api/v1/dialer/calls/{call_id}/recording")).status_code == 403
    assert await audit_rows() == []


@pytest.mark.db
async def test_followup_attaches_the_recording_read_from_s3(make_user, actor_for, client_for, files_dir, s3):
    uid = await make_user("rec10")
    actor = await actor_for(uid)
    cust = await create_customer(actor, CustomerIn(name="丁公司", kind="individual", phones=["13700000009"]))
    customer_id = cust["id"] if isinstance(cust, dict) else cust.id
    await use_s3(s3)
    data = tone_wav(1.5)
    name = secrets.token_hex(16) + ".wav"
    s3.client.put_object(Bucket=s3.bucket, Key=f"rec/{name}", Body=data)
    call_id = await add_call(uid, name, store="s3", customer=customer_id)
    async with client_for(uid) as c:
        r = await c.post(f"/api/v1/dialer/calls/{call_id}/disposition", json={"disposition": "意向"})
        assert r.status_code == 200 and r.json()["followup_id"]
    att = await FollowupAttachment.select().where(FollowupAttachment.followup == r.json()["followup_id"]).first()
    assert att["size"] == len(data) and att["content_type"] == "audio/wav"


# ------------------------------------------------------------------ retention


@pytest.mark.db
async def test_retention_purges_old_recordings_on_both_stores_once(make_user, client_for, files_dir, s3):
    uid = await make_user("rec11")
    await use_s3(s3)
    now = dt.datetime.now(dt.UTC)
    old, recent = now - dt.timedelta(days=40), now - dt.timedelta(days=5)

    def put(name: str) -> str:
        s3.client.put_object(Bucket=s3.bucket, Key=f"rec/{name}", Body=b"RIFF....")
        return name

    calls = {
        "old_local": await add_call(uid, local_recording(b"RIFF-old"), ended=old),
        "old_s3": await add_call(uid, put(secrets.token_hex(16) + ".wav"), store="s3", ended=old),
        "old_local_2": await add_call(uid, local_recording(b"RIFF-old2"), ended=old),
        "new_local": await add_call(uid, local_recording(b"RIFF-new"), ended=recent),
        "new_s3": await add_call(uid, put(secrets.token_hex(16) + ".wav"), store="s3", ended=recent),
        "old_none": await add_call(uid, "", ended=old),
    }
    before = {k: await Call.select().where(Call.id == v).first() for k, v in calls.items()}
    assert await recording_store.purge_expired(now) == 0  # retention 0 keeps everything, audits nothing
    assert await audit_rows("purge") == []

    await configure(recording_retention_days=30, s3_endpoint_url=dead_endpoint())
    assert await recording_store.purge_expired(now, batch=2) == 2  # S3 down: the local ones only
    await configure(s3_endpoint_url=s3.endpoint)
    assert await recording_store.purge_expired(now, batch=2) == 1  # S3 back: the rest
    assert await recording_store.purge_expired(now, batch=2) == 0  # idempotent

    after = {k: await Call.select().where(Call.id == v).first() for k, v in calls.items()}
    purged = {k for k, r in after.items() if r["recording_purged_at"] is not None}
    assert purged == {"old_local", "old_s3", "old_local_2"}
    for k in calls:  # the call records stay, with nothing else changed
        changed = {f for f in before[k] if before[k][f] != after[k][f]}
        assert changed <= {"recording_purged_at"}, (k, changed)
    assert not (files.calls_dir() / before["old_local"]["recording_file"]).exists()
    assert (files.calls_dir() / before["new_local"]["recording_file"]).exists()
    assert s3.keys() == [f"rec/{before['new_s3']['recording_file']}"]
    runs = [msgspec.json.decode(a["meta"]) for a in await audit_rows("purge")]
    assert [(m["count"], m["failed"]) for m in runs] == [(2, 1), (1, 0), (0, 0)]
    assert all(m["retention_days"] == 30 for m in runs)

    async with client_for(uid) as c:
        listed = {x["id"]: x for x in (await c.get("/api/v1/dialer/calls")).json()}
        assert not listed[calls["old_s3"]]["has_recording"] and listed[calls["new_s3"]]["has_recording"]
        r = await c.get(f"/api/v1/dialer/calls/{calls['old_s3']}/recording")
        assert r.status_code == 410 and "录音已按保留期限删除" in r.json()["error"]
        r = await c.get(f"/api/v1/dialer/calls/{calls['new_s3']}/recording", headers=NO_GZIP)
        assert r.status_code == 200 and r.content == b"RIFF...."


@pytest.mark.db
async def test_retention_also_deletes_the_copy_on_the_followup(make_user, actor_for, client_for, files_dir):
    from core.customers.attachments import files_dir as attachments_dir

    uid = await make_user("rec13")
    actor = await actor_for(uid)
    cust = await create_customer(actor, CustomerIn(name="戊公司", kind="individual", phones=["13700000019"]))
    customer_id = cust["id"] if isinstance(cust, dict) else cust.id
    now = dt.datetime.now(dt.UTC)
    call_id = await add_call(uid, local_recording(tone_wav(1.0)), customer=customer_id,
                             ended=now - dt.timedelta(days=40))
    async with client_for(uid) as c:
        followup = (await c.post(f"/api/v1/dialer/calls/{call_id}/disposition", json={"disposition": "意向"})
                    ).json()["followup_id"]
    copy = await FollowupAttachment.select().where(FollowupAttachment.followup == followup).first()
    assert (attachments_dir() / copy["stored_name"]).exists()
    await configure(recording_retention_days=30)
    assert await recording_store.purge_expired(now) == 1
    assert await FollowupAttachment.count().where(FollowupAttachment.followup == followup) == 0
    assert not (attachments_dir() / copy["stored_name"]).exists(), "no copy outlives the keep period"


@pytest.mark.db
async def test_call_records_page_says_the_recording_was_purged(make_user, client_for, files_dir):
    uid = await make_user("rec12")
    now = dt.datetime.now(dt.UTC)
    call_id = await add_call(uid, local_recording(b"RIFF"), ended=now - dt.timedelta(days=40))
    await configure(recording_retention_days=30)
    assert await recording_store.purge_expired(now) == 1
    async with client_for(uid) as c:
        page = (await c.get("/dialer/calls")).text
        assert "录音已按保留期限删除" in page and f"/api/v1/dialer/calls/{call_id}/recording" not in page
        assert (await c.get(f"/api/v1/dialer/calls/{call_id}")).json()["recording_purged_at"]


@pytest.mark.db
async def test_retention_and_upload_retry_jobs_are_registered(db):
    from core import host
    from core.plugins import collect_sync

    jobs = {j.name: j for j in collect_sync(host.current().pm.hook.jobs)}
    assert jobs["dialer.recording_retention"].daily_at
    assert jobs["dialer.recording_upload_retry"].every == 600


# ------------------------------------------------------------------ settings and the connection check


@pytest.mark.db
async def test_store_check_and_settings_never_show_the_secret(make_user, client_for, s3):
    admin, sales = await make_user("boss", role="admin"), await make_user("rec13")
    async with client_for(admin) as c:
        r = await c.post("/api/v1/dialer/recordings/store/check")
        assert r.status_code == 200 and not r.json()["ok"] and "no S3 bucket" in r.json()["message"]
        r = await c.put("/api/v1/settings/dialer", json={
            "recording_store": "s3", "s3_endpoint_url": s3.endpoint, "s3_region": "us-east-1",
            "s3_bucket": s3.bucket, "s3_access_key": "testing", "s3_path_style": True})
        assert r.status_code == 200, r.text
        r = await c.post("/api/v1/dialer/recordings/store/check")
        assert r.status_code == 200 and r.json()["ok"], r.json()
        assert r.json()["bucket"] == s3.bucket and s3.keys() == []  # the probe object is gone again
        settings = (await c.get("/api/v1/settings/dialer")).json()
        page = (await c.get("/admin/settings")).text
        assert SECRET not in repr(settings) and SECRET not in page and "s3_bucket" in page
        r = await c.put("/api/v1/settings/dialer", json={"recording_store": "ftp"})
        assert r.status_code == 400
        await configure(s3_endpoint_url=dead_endpoint())
        r = await c.post("/api/v1/dialer/recordings/store/check")
        assert not r.json()["ok"] and "write" in r.json()["message"] and SECRET not in r.text
    async with client_for(sales) as c:
        assert (await c.post("/api/v1/dialer/recordings/store/check")).status_code == 403
