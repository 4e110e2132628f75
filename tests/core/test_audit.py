"""操作日志: what is recorded, the hash chain and its verification, purging, reading with permission."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from core.audit.log import purge_before, record, verify
from core.audit.tables import AuditEvent
from core.db import engine
from core.perms.actor import system_actor
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def rows(**where) -> list[dict]:
    query = AuditEvent.select().order_by(AuditEvent.seq)
    for key, value in where.items():
        query = query.where(getattr(AuditEvent, key) == value)
    return await query


async def test_logins_failures_creates_and_updates_are_recorded(make_user, client_for, anon_client):
    admin = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    async with anon_client() as c:
        await c.post("/api/v1/auth/login", json={"username": "amy", "password": "not the password"})
        await c.post("/api/v1/auth/login", json={"username": "amy", "password": TEST_PASSWORD})
    async with client_for(admin) as c:
        r = await c.post("/api/v1/departments", json={"name": "销售三部"})
        dept = r.json()["id"]
        r = await c.patch(f"/api/v1/users/{amy}", json={"display_name": "艾米", "department_id": dept})
        assert r.status_code == 200
    failed = (await rows(action="login_failed"))[0]
    assert (failed["actor_name"], failed["entity"], failed["entity_id"], failed["ip"]) == (
        "amy", "user", str(amy), "testclient")
    assert msgspec.json.decode(failed["meta"]) == {"reason": "bad_credentials"}
    login = (await rows(action="login"))[0]
    assert login["actor_id"] == amy and login["entity_id"] == str(amy)
    created = (await rows(action="create", entity="department"))[0]
    assert created["actor_id"] == admin and msgspec.json.decode(created["diff"])["name"] == [None, "销售三部"]
    updated = (await rows(action="update", entity="user"))[0]
    diff = msgspec.json.decode(updated["diff"])
    assert diff["display_name"] == ["amy", "艾米"] and diff["department"] == [None, dept]
    assert "password_hash" not in diff
    assert updated["request_id"], "the row carries the request id"
    assert (await verify()).ok


async def test_password_changes_are_recorded_without_the_password(make_user, client_for):
    admin = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    async with client_for(admin) as c:
        await c.patch(f"/api/v1/users/{amy}", json={"password": "a brand new passphrase"})
    row = (await rows(action="update", entity="user"))[-1]
    assert msgspec.json.decode(row["diff"])["password"] == ["***", "***"]
    assert "brand new" not in row["diff"] and "argon2" not in row["diff"]


async def test_chain_verifies_and_finds_an_edit_behind_the_apps_back(db):
    actor = system_actor("test")
    for i in range(5):
        await record(actor, "update", "thing", i, diff={"n": [i, i + 1]})
    assert (await verify()) == type(await verify())(ok=True, checked=5)
    await AuditEvent.raw("UPDATE audit_events SET diff = {} WHERE seq = 3", '{"n":[2,99]}')
    result = await verify()
    assert (result.ok, result.first_broken_seq, result.checked) == (False, 3, 2)
    assert "3" in result.reason and "altered" in result.reason


async def test_chain_finds_a_deleted_row(db):
    actor = system_actor("test")
    for i in range(5):
        await record(actor, "create", "thing", i)
    await engine().run_ddl("DELETE FROM audit_events WHERE seq = 2")
    result = await verify()
    assert (result.ok, result.first_broken_seq) == (False, 2)
    assert "missing" in result.reason


async def test_chain_finds_a_forged_timestamp_and_a_reordered_actor(db):
    actor = system_actor("test")
    for i in range(4):
        await record(actor, "create", "thing", i)
    await AuditEvent.update({AuditEvent.actor_name: "someone else"}).where(AuditEvent.seq == 4)
    assert (await verify()).first_broken_seq == 4
    await AuditEvent.update({AuditEvent.actor_name: "test"}).where(AuditEvent.seq == 4)
    assert (await verify()).ok
    await AuditEvent.update({AuditEvent.at: dt.datetime(2020, 1, 1, tzinfo=dt.UTC)}).where(AuditEvent.seq == 1)
    assert (await verify()).first_broken_seq == 1


async def test_purge_keeps_the_rest_verifiable(db):
    actor = system_actor("test")
    for i in range(6):
        await record(actor, "create", "thing", i)
    cutoff = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert await purge_before(cutoff - dt.timedelta(days=1), actor) == 0
    deleted = await purge_before(cutoff, actor)
    assert deleted == 6
    remaining = await rows()
    assert [r["action"] for r in remaining] == ["audit.purge"]
    assert remaining[0]["seq"] == 7
    for i in range(3):
        await record(actor, "create", "thing", 100 + i)
    result = await verify()
    assert result.ok and result.checked == 4
    await engine().run_ddl("DELETE FROM audit_events WHERE seq = 8")
    assert (await verify()).first_broken_seq == 8


async def test_cli_audit_verify_exit_codes(db, run_cli):
    actor = system_actor("test")
    for i in range(3):
        await record(actor, "create", "thing", i)
    result = await run_cli("audit", "verify")
    assert result.exit_code == 0 and "OK: 3 rows verified" in result.output
    await AuditEvent.raw("UPDATE audit_events SET entity = {} WHERE seq = 2", "other")
    result = await run_cli("audit", "verify")
    assert result.exit_code == 1 and "BROKEN at seq 2" in result.output


async def test_audit_api_filters_and_needs_its_permission(make_user, client_for):
    admin = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    amy_actor = system_actor("amy")
    amy_actor.user_id, amy_actor.system = amy, False
    await record(amy_actor, "create", "customer", 1)
    await record(amy_actor, "update", "customer", 1, diff={"name": ["a", "b"]})
    await record(system_actor("job"), "delete", "customer", 2)
    await record(amy_actor, "create", "order", 9)
    async with client_for(admin) as c:
        everything = (await c.get("/api/v1/audit")).json()
        assert [r["seq"] for r in everything] == sorted((r["seq"] for r in everything), reverse=True)
        by_actor = (await c.get("/api/v1/audit", params={"actor_id": amy})).json()
        assert len(by_actor) == 3 and {r["actor_id"] for r in by_actor} == {amy}
        by_entity = (await c.get("/api/v1/audit", params={"entity": "customer"})).json()
        assert len(by_entity) == 3
        both = (await c.get("/api/v1/audit", params={"entity": "customer", "action": "update"})).json()
        assert [(r["entity_id"], r["diff"]) for r in both] == [("1", '{"name":["a","b"]}')]
        future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
        past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
        assert (await c.get("/api/v1/audit", params={"since": future})).json() == []
        assert len((await c.get("/api/v1/audit", params={"since": past, "until": future})).json()) == len(everything)
        assert (await c.get("/api/v1/audit", params={"until": past})).json() == []
        r = await c.get("/api/v1/audit", params={"since": "yesterday"})
        assert r.status_code == 400 and "since" in r.json()["error"]
        page = await c.get("/admin/audit", params={"entity": "order"})
        assert page.status_code == 200 and "order" in page.text
        older = (await c.get("/api/v1/audit", params={"before_seq": everything[0]["seq"], "limit": 2})).json()
        assert [r["seq"] for r in older] == [everything[1]["seq"], everything[2]["seq"]]
    async with client_for(amy) as c:
        r = await c.get("/api/v1/audit")
        assert r.status_code == 403 and "audit:read" in r.json()["error"]
        assert (await c.get("/admin/audit")).status_code == 403


async def test_chain_finds_the_newest_rows_deleted(db):
    actor = system_actor("test")
    for i in range(4):
        await record(actor, "create", "thing", i)
    await engine().run_ddl("DELETE FROM audit_events WHERE seq = 4")
    assert not (await verify()).ok


async def test_a_deleted_newest_row_stays_missing_after_later_writes(db):
    actor = system_actor("test")
    for i in range(3):
        await record(actor, "create", "thing", i)
    await engine().run_ddl("DELETE FROM audit_events WHERE seq = 3")
    await record(actor, "create", "thing", "later")
    result = await verify()
    assert not result.ok and result.first_broken_seq == 3
