"""The edition licence inside the running app: seats, grace, read-only, installing, auditing."""

from __future__ import annotations

import datetime as dt

import pytest

from core import host
from core.audit.tables import AuditEvent
from core.auth.tables import User
from core.licence import licence_path
from tests.conftest import TEST_PASSWORD, install_licence, make_licence_text

pytestmark = [pytest.mark.anyio, pytest.mark.db]


def days_ago(n: int) -> dt.date:
    return host.today() - dt.timedelta(days=n)


async def test_seats_enforced_when_creating_users(make_user, client_for):
    install_licence(seats=3)
    admin = await make_user("boss", "admin")
    await make_user("amy", "sales")
    async with client_for(admin) as c:
        r = await c.post("/api/v1/users", json={"username": "third", "password": "a fine passphrase"})
        assert r.status_code == 201
        audits = await AuditEvent.count()
        r = await c.post("/api/v1/users", json={"username": "fourth", "password": "a fine passphrase"})
        assert r.status_code == 400
        assert "席位已满" in r.json()["error"] and "3" in r.json()["error"]
        page = await c.post("/admin/users", data={"username": "fifth", "password": "a fine passphrase",
                                                  "role": "sales"})
        assert page.status_code == 200 and "席位已满" in page.text
    assert not await User.exists().where(User.username.is_in(["fourth", "fifth"]))
    assert await AuditEvent.count() == audits, "a refused create writes nothing"


async def test_seats_enforced_when_reactivating(make_user, client_for):
    install_licence(seats=3)
    admin = await make_user("boss", "admin")
    await make_user("amy", "sales")
    await make_user("bob", "sales")
    carl = await make_user("carl", "sales", active=False)
    async with client_for(admin) as c:
        r = await c.patch(f"/api/v1/users/{carl}", json={"active": True})
        assert r.status_code == 400 and "席位已满" in r.json()["error"]
        assert (await User.select(User.active).where(User.id == carl).first())["active"] is False
        page = await c.post(f"/admin/users/{carl}/active/1")
        assert "席位已满" in page.text
        bob = (await User.select(User.id).where(User.username == "bob").first())["id"]
        assert (await c.patch(f"/api/v1/users/{bob}", json={"active": False})).status_code == 200
        r = await c.patch(f"/api/v1/users/{carl}", json={"active": True})
        assert r.status_code == 200 and r.json()["active"] is True


async def test_cli_user_create_respects_seats(make_user, run_cli):
    install_licence(seats=3)
    for name in ("a1", "a2", "a3"):
        await make_user(name, "sales")
    result = await run_cli("user", "create", "extra", "--password", "a fine passphrase")
    assert result.exit_code == 1 and "席位已满" in result.output
    assert not await User.exists().where(User.username == "extra")


async def test_expired_licence_shows_a_grace_banner_and_still_writes(make_user, client_for):
    install_licence(expires_at=days_ago(3), grace_days=14)
    assert host.current().licence.phase == "grace"
    amy = await make_user("amy", "sales")
    async with client_for(amy) as c:
        home = await c.get("/")
        assert 'class="banner grace"' in home.text and "宽限期剩余 11 天" in home.text
        assert (await c.post("/api/v1/example/notes", json={"text": "still fine"})).status_code == 201
        lic = (await c.get("/api/v1/licence")).json()
        assert lic["phase"] == "grace" and lic["days_left"] == 11


async def test_past_grace_the_app_is_read_only(make_user, client_for, anon_client):
    install_licence(expires_at=days_ago(30), grace_days=14)
    admin = await make_user("boss", "admin")
    await make_user("amy", "sales")
    async with client_for(admin) as c:
        home = await c.get("/")
        assert home.status_code == 200 and 'class="banner read_only"' in home.text and "只读" in home.text
        for method, path, body in [("POST", "/api/v1/example/notes", {"text": "x"}),
                                   ("PUT", "/api/v1/settings/core", {"company_name": "新公司"}),
                                   ("PATCH", "/api/v1/users/1", {"display_name": "x"}),
                                   ("DELETE", "/api/v1/auth/tokens/1", None)]:
            r = await c.request(method, path, json=body)
            assert r.status_code == 403, (method, path)
            assert "只读" in r.json()["error"] and "read-only" in r.json()["error"]
        assert (await c.get("/api/v1/example/notes")).status_code == 200
        assert (await c.get("/api/v1/users")).status_code == 200
        r = await c.post("/admin/settings/core", data={"company_name": "新公司"})
        assert r.status_code == 403 and "只读" in r.text
    async with anon_client() as c:
        r = await c.post("/api/v1/auth/login", json={"username": "amy", "password": TEST_PASSWORD})
        assert r.status_code == 200, "signing in still works while read-only"
    async with client_for(admin) as c:
        r = await c.post("/api/v1/licence", content=make_licence_text(issued_at=host.today()),
                         headers={"content-type": "text/plain"})
        assert r.status_code == 200 and r.json()["phase"] == "valid"
        assert (await c.post("/api/v1/example/notes", json={"text": "writable again"})).status_code == 201


async def test_read_only_starts_when_the_grace_ends_without_a_restart(make_user, client_for, monkeypatch):
    """The phase follows the calendar: a server started during grace turns read-only the day grace ends."""
    install_licence(expires_at=days_ago(1), grace_days=2)
    amy = await make_user("amy", "sales")
    async with client_for(amy) as c:
        assert (await c.post("/api/v1/example/notes", json={"text": "in grace"})).status_code == 201
        later = host.today() + dt.timedelta(days=5)
        monkeypatch.setattr(host, "today", lambda: later)
        r = await c.post("/api/v1/example/notes", json={"text": "after grace"})
        assert r.status_code == 403 and "只读" in r.json()["error"]
        assert 'class="banner read_only"' in (await c.get("/")).text


@pytest.mark.parametrize("damage", ["tamper", "unknown_key", "garbage"])
async def test_forged_licence_is_refused_and_the_old_one_kept(make_user, client_for, damage):
    admin = await make_user("boss", "admin")
    before = licence_path().read_text()
    good = make_licence_text(seats=5)
    if damage == "tamper":
        lines = good.splitlines()
        body = lines[1]
        lines[1] = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
        text, message = "\n".join(lines), "签名无效"
    elif damage == "unknown_key":
        from core.licence import generate_keypair, issue_licence, load_private_key, verify_licence  # noqa: F401

        pem, _ = generate_keypair("stranger")
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        import core.licence as lic
        payload = lic.LicencePayload(kid="stranger", lid="5f0b7a5e-9a0e-4a53-9a43-6a6f0d5e6f11",
                                     edition=lic.Edition.TEAM, seats=10, modules=[], issued_at=dt.date(2026, 1, 1))
        text, message = issue_licence(payload, load_pem_private_key(pem, None)), "stranger"
    else:
        text, message = "not a licence at all", "格式错误"
    async with client_for(admin) as c:
        seats = (await c.get("/api/v1/licence")).json()["seats"]
        r = await c.post("/api/v1/licence", content=text, headers={"content-type": "text/plain"})
        assert r.status_code == 400
        assert message in r.json()["error"]
        assert (await c.get("/api/v1/licence")).json()["seats"] == seats
        page = await c.post("/admin/licence", files={"file": ("x.lic", text.encode(), "text/plain")})
        assert page.status_code == 200 and message in page.text
    assert licence_path().read_text() == before
    assert not await AuditEvent.exists().where(AuditEvent.action == "licence")


async def test_installing_a_licence_is_audited(make_user, client_for):
    admin = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    text = make_licence_text(seats=7, issued_at=host.today())
    async with client_for(amy) as c:
        r = await c.post("/api/v1/licence", content=text, headers={"content-type": "text/plain"})
        assert r.status_code == 403
    async with client_for(admin) as c:
        r = await c.post("/api/v1/licence", content=text, headers={"content-type": "text/plain"})
        assert r.status_code == 200
        info = r.json()
        assert info["seats"] == 7 and info["restart_required"] is True
        page = await c.post("/admin/licence", files={"file": ("new.lic", text.encode(), "text/plain")})
        assert page.status_code == 200
    rows = await AuditEvent.select().where(AuditEvent.action == "licence")
    assert len(rows) == 2
    assert rows[0]["actor_id"] == admin and rows[0]["entity"] == "licence" and '"seats":7' in rows[0]["meta"]
