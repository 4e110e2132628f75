"""Sign-in: the JSON and form logins, the login log, throttling, IP allow-lists, session rotation,
CSRF, sign-out, disabling, API tokens and password hashing."""

from __future__ import annotations

from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import pytest
from litestar.testing import AsyncTestClient

from core.auth import sessions
from core.auth.login import MAX_PER_USER
from core.auth.tables import LoginLog, Session, User
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.anyio, pytest.mark.db]

UA = "Mozilla/5.0 (X11; Linux x86_64) WaihubaoTest/1.0"


@pytest.fixture
def client_from(app):
    """A signed-out client whose requests come from a given IP address (the ASGI scope's client)."""

    @asynccontextmanager
    async def make(ip: str):
        async def from_ip(scope, receive, send):
            if scope["type"] == "http":
                scope["client"] = (ip, 40000)
            await app(scope, receive, send)

        async with AsyncTestClient(app=from_ip) as client:
            client.headers["user-agent"] = UA
            yield client

    return make


async def login(client, username: str, password: str = TEST_PASSWORD):
    return await client.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_login_ok_gives_a_session_and_csrf_token(make_user, client_from):
    uid = await make_user("amy", "sales")
    async with client_from("10.0.0.5") as c:
        r = await login(c, "amy")
        assert r.status_code == 200, r.text
        me = r.json()
        assert me["id"] == uid and me["username"] == "amy" and me["roles"] == ["sales"]
        assert me["csrf_token"]
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{sessions.COOKIE}=") and "httponly" in cookie.lower()
        assert "samesite=lax" in cookie.lower()
        r = await c.get("/api/v1/auth/me")
        assert r.status_code == 200 and r.json()["username"] == "amy"
        c.headers["x-csrf-token"] = me["csrf_token"]
        r = await c.post("/api/v1/example/notes", json={"text": "hello"})
        assert r.status_code == 201
    row = await User.select(User.last_login_at).where(User.id == uid).first()
    assert row["last_login_at"] is not None


@pytest.mark.parametrize(("username", "password", "status", "message", "reason"), [
    ("amy", "wrong password!", 401, "用户名或密码错误", "bad_credentials"),
    ("nobody", TEST_PASSWORD, 401, "用户名或密码错误", "bad_credentials"),
    ("gone", TEST_PASSWORD, 401, "账号已停用", "disabled"),
])
async def test_failed_logins_say_why_and_are_logged(make_user, client_from, username, password, status, message,
                                                    reason):
    await make_user("amy", "sales")
    await make_user("gone", "sales", active=False)
    async with client_from("192.0.2.7") as c:
        r = await login(c, username, password)
        assert r.status_code == status
        assert r.json()["error"].startswith(message)
        assert "set-cookie" not in r.headers
        assert (await c.get("/api/v1/auth/me")).status_code == 401
    rows = await LoginLog.select().order_by(LoginLog.id)
    assert len(rows) == 1
    row = rows[0]
    assert (row["username"], row["ip"], row["user_agent"], row["success"], row["reason"]) == (
        username, "192.0.2.7", UA, False, reason)
    assert row["at"] is not None
    assert await Session.count() == 0


async def test_successful_login_is_logged_and_shown_to_admins(make_user, client_from, client_for):
    admin = await make_user("boss", "admin")
    await make_user("amy", "sales")
    async with client_from("198.51.100.9") as c:
        assert (await login(c, "amy", "nope nope nope")).status_code == 401
        assert (await login(c, "amy")).status_code == 200
    async with client_for(admin) as c:
        r = await c.get("/api/v1/login-log")
        assert r.status_code == 200
        rows = r.json()
        assert [(x["username"], x["success"], x["reason"], x["ip"], x["user_agent"]) for x in rows] == [
            ("amy", True, "", "198.51.100.9", UA), ("amy", False, "bad_credentials", "198.51.100.9", UA)]
        page = await c.get("/admin/login-log")
        assert page.status_code == 200 and "198.51.100.9" in page.text


async def test_login_log_needs_its_permission(make_user, client_for):
    amy = await make_user("amy", "sales")
    async with client_for(amy) as c:
        assert (await c.get("/api/v1/login-log")).status_code == 403


async def test_form_login_sets_a_session_and_redirects_to_next(make_user, client_from):
    await make_user("amy", "sales")
    async with client_from("10.0.0.5") as c:
        r = await c.post("/login", data={"username": "amy", "password": "wrong password", "next": "/admin"})
        assert r.status_code == 401 and "用户名或密码错误" in r.text and 'value="amy"' in r.text
        r = await c.post("/login", data={"username": "amy", "password": TEST_PASSWORD, "next": "/example"},
                         follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/example"
        r = await c.get("/example")
        assert r.status_code == 200 and "示例插件页面" in r.text


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example", "https://evil.example/", "/\\/evil",
                                    "javascript:alert(1)", ""])
def test_next_target_stays_on_site(target):
    from core.auth.routes import _safe_next

    safe = _safe_next(target)
    assert safe.startswith("/") and not safe.startswith(("//", "/\\")) and urlsplit(safe).netloc == ""


async def test_login_never_redirects_off_site(make_user, client_from):
    await make_user("amy", "sales")
    async with client_from("10.0.0.5") as c:
        r = await c.post("/login", data={"username": "amy", "password": TEST_PASSWORD, "next": "//evil.example/x"},
                         follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/"


async def test_account_throttled_after_five_failures_even_with_the_right_password(make_user, client_from):
    await make_user("amy", "sales")
    await make_user("bob", "sales")
    async with client_from("10.0.0.5") as c:
        for _ in range(MAX_PER_USER):
            assert (await login(c, "amy", "wrong password")).status_code == 401
        r = await login(c, "amy")
        assert r.status_code == 429
        assert "15 分钟" in r.json()["error"]
        assert (await login(c, "bob")).status_code == 200, "another account from the same IP is not locked"
    async with client_from("10.9.9.9") as c:
        assert (await login(c, "amy")).status_code == 429, "the lock is per account, whatever the IP"
    reasons = [r["reason"] for r in await LoginLog.select(LoginLog.reason).where(LoginLog.username == "amy")]
    assert reasons.count("throttled") == 2


async def test_ip_throttled_after_many_failures_across_accounts(make_user, client_from, monkeypatch):
    from core.auth import login as login_module

    monkeypatch.setattr(login_module, "MAX_PER_IP", 4)  # 30 in production: the rule, not the number, is tested
    await make_user("amy", "sales")
    async with client_from("203.0.113.66") as c:
        for name in ("u1", "u2", "u3", "u4"):
            assert (await login(c, name, "guess guess")).status_code == 401
        r = await login(c, "amy")
        assert r.status_code == 429
    async with client_from("203.0.113.67") as c:
        assert (await login(c, "amy")).status_code == 200


async def test_ip_allow_list_with_exempt_user(make_user, client_for, client_from):
    admin = await make_user("boss", "admin")
    await make_user("amy", "sales")
    async with client_for(admin) as c:
        r = await c.post("/api/v1/ip-rules", json={"cidr": "10.1.0.0/16", "note": "办公室"})
        assert r.status_code == 201 and r.json()["cidr"] == "10.1.0.0/16"
        r = await c.post("/api/v1/ip-rules", json={"cidr": "not-an-ip"})
        assert r.status_code == 400 and "not an IP" in r.json()["error"]
        r = await c.patch(f"/api/v1/users/{admin}", json={"ip_exempt": True})
        assert r.status_code == 200 and r.json()["ip_exempt"] is True
    async with client_from("10.1.2.3") as c:
        assert (await login(c, "amy")).status_code == 200
    async with client_from("172.16.0.1") as c:
        r = await login(c, "amy")
        assert r.status_code == 403 and "IP" in r.json()["error"]
        assert (await login(c, "boss")).status_code == 200, "exempt users sign in from anywhere"
        r = await c.post("/login", data={"username": "amy", "password": TEST_PASSWORD})
        assert r.status_code == 401 and "当前 IP 不允许登录" in r.text
    rows = await LoginLog.select(LoginLog.reason).where(LoginLog.username == "amy").order_by(LoginLog.id)
    assert [r["reason"] for r in rows] == ["", "ip_blocked", "ip_blocked"]


async def test_a_planted_session_cookie_never_becomes_the_session(make_user, client_from):
    await make_user("amy", "sales")
    await make_user("mallory", "sales")
    async with client_from("10.0.0.66") as attacker:
        r = await login(attacker, "mallory")
        mallory_cookie = r.cookies[sessions.COOKIE]
    for planted in ("chosen-by-the-attacker", mallory_cookie):
        async with client_from("10.0.0.5") as c:
            c.cookies.set(sessions.COOKIE, planted)
            r = await login(c, "amy")
            assert r.status_code == 200
            fresh = r.cookies[sessions.COOKIE]
            assert fresh != planted and len(fresh) >= 40
            c.cookies.clear()
            c.cookies.set(sessions.COOKIE, fresh)
            assert (await c.get("/api/v1/auth/me")).json()["username"] == "amy"
        async with client_from("10.0.0.66") as c:
            c.cookies.set(sessions.COOKIE, planted)
            me = await c.get("/api/v1/auth/me")
            assert me.status_code == 401 or me.json()["username"] == "mallory"
    async with client_from("10.0.0.5") as c:
        first = (await login(c, "amy")).cookies[sessions.COOKIE]
        second = (await login(c, "amy")).cookies[sessions.COOKIE]
    assert first != second
    stored = {r["id_hash"] for r in await Session.select(Session.id_hash)}
    assert first not in stored and second not in stored, "only a digest of the id is stored"


async def test_csrf_and_origin_checks_on_unsafe_requests(make_user, client_for, client_from):
    amy = await make_user("amy", "sales")
    async with client_for(amy) as c:
        good = c.headers["x-csrf-token"]
        del c.headers["x-csrf-token"]
        r = await c.post("/api/v1/example/notes", json={"text": "no token"})
        assert r.status_code == 403 and "CSRF" in r.json()["error"]
        wrong = good[:-1] + ("y" if good.endswith("x") else "x")
        r = await c.post("/api/v1/example/notes", json={"text": "bad"}, headers={"x-csrf-token": wrong})
        assert r.status_code == 403
        r = await c.post("/api/v1/example/notes", json={"text": "evil"},
                         headers={"x-csrf-token": good, "origin": "https://evil.example"})
        assert r.status_code == 403 and "跨站" in r.json()["error"]
        r = await c.post("/api/v1/example/notes", json={"text": "ok"},
                         headers={"x-csrf-token": good, "origin": str(c.base_url).rstrip("/")})
        assert r.status_code == 201
        assert [n["text"] for n in (await c.get("/api/v1/example/notes")).json()] == ["ok"]
    async with client_from("10.0.0.5") as c:
        r = await c.post("/login", data={"username": "amy", "password": TEST_PASSWORD},
                         headers={"origin": "https://evil.example"}, follow_redirects=False)
        assert r.status_code == 403, "a cross-site login form post is refused (login CSRF)"


async def test_logout_ends_the_session(make_user, client_from):
    await make_user("amy", "sales")
    async with client_from("10.0.0.5") as c:
        me = (await login(c, "amy")).json()
        cookie = c.cookies[sessions.COOKIE]
        c.headers["x-csrf-token"] = me["csrf_token"]
        r = await c.post("/api/v1/auth/logout")
        assert r.status_code == 204
        c.cookies.set(sessions.COOKIE, cookie)
        assert (await c.get("/api/v1/auth/me")).status_code == 401
    async with client_from("10.0.0.5") as c:
        me = (await login(c, "amy")).json()
        cookie = c.cookies[sessions.COOKIE]
        r = await c.post("/logout", headers={"x-csrf-token": me["csrf_token"]}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        c.cookies.set(sessions.COOKIE, cookie)
        assert (await c.get("/", follow_redirects=False)).headers["location"].startswith("/login")
    assert await Session.count() == 0


async def test_disabling_a_user_ends_their_sessions_and_tokens(make_user, client_for):
    admin = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    async with client_for(amy) as c:
        token = (await c.post("/api/v1/auth/tokens", json={"name": "phone"})).json()["token"]
        async with client_for(admin) as a:
            r = await a.patch(f"/api/v1/users/{amy}", json={"active": False})
            assert r.status_code == 200 and r.json()["active"] is False
            r = await a.patch(f"/api/v1/users/{admin}", json={"active": False})
            assert r.status_code == 400 and "不能停用自己" in r.json()["error"]
        assert (await c.get("/api/v1/auth/me")).status_code == 401
    assert await Session.count().where(Session.user == amy) == 0
    async with client_for(admin) as c:
        r = await c.get("/api/v1/auth/me", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 401


async def test_api_tokens_create_use_revoke(make_user, client_for, anon_client):
    admin = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    bob = await make_user("bob", "sales")
    async with client_for(amy) as c:
        r = await c.post("/api/v1/auth/tokens", json={"name": "电话助手"})
        assert r.status_code == 201
        created = r.json()
        token = created["token"]
        assert token.startswith("whb_") and created["prefix"] == token[:12] and created["user_id"] == amy
        listed = (await c.get("/api/v1/auth/tokens")).json()
        assert [(t["name"], t["token"], t["revoked"]) for t in listed] == [("电话助手", None, False)]
        r = await c.post("/api/v1/auth/tokens", json={"name": "for bob", "user_id": bob})
        assert r.status_code == 403
    async with anon_client() as c:
        bearer = {"authorization": f"Bearer {token}"}
        r = await c.get("/api/v1/auth/me", headers=bearer)
        assert r.status_code == 200 and r.json()["id"] == amy
        r = await c.post("/api/v1/example/notes", json={"text": "from the phone"}, headers=bearer)
        assert r.status_code == 201, "Bearer requests need no CSRF token"
        assert (await c.get("/api/v1/auth/me", headers={"authorization": "Bearer whb_nope"})).status_code == 401
    async with client_for(bob) as c:
        assert (await c.get("/api/v1/auth/tokens")).json() == []
        r = await c.delete(f"/api/v1/auth/tokens/{created['id']}")
        assert r.status_code == 404, "another user's token does not exist for bob"
        assert (await c.delete("/api/v1/auth/tokens/99999")).status_code == 404
    async with client_for(admin) as c:
        r = await c.post("/api/v1/auth/tokens", json={"name": "bob's box", "user_id": bob})
        assert r.status_code == 201 and r.json()["user_id"] == bob
        assert {t["user_id"] for t in (await c.get("/api/v1/auth/tokens")).json()} == {amy, bob}
    async with client_for(amy) as c:
        assert (await c.delete(f"/api/v1/auth/tokens/{created['id']}")).status_code == 204
        assert (await c.get("/api/v1/auth/tokens")).json()[0]["revoked"] is True
    async with anon_client() as c:
        assert (await c.get("/api/v1/auth/me", headers={"authorization": f"Bearer {token}"})).status_code == 401


async def test_passwords_are_hashed_with_argon2id(make_user, client_for, client_from):
    admin = await make_user("boss", "admin")
    async with client_for(admin) as c:
        r = await c.post("/api/v1/users", json={"username": "newbie", "password": "a fine passphrase"})
        assert r.status_code == 201
        r = await c.post("/api/v1/users", json={"username": "weak", "password": "12345678"})
        assert r.status_code == 400 and "常见" in r.json()["error"]
        r = await c.post("/api/v1/users", json={"username": "short", "password": "abc"})
        assert r.status_code == 400 and "8" in r.json()["error"]
    row = await User.select(User.password_hash).where(User.username == "newbie").first()
    assert row["password_hash"].startswith("$argon2id$")
    assert "a fine passphrase" not in row["password_hash"]
    async with client_from("10.0.0.5") as c:
        assert (await login(c, "newbie", "a fine passphrase")).status_code == 200


async def test_changing_a_password_ends_sessions_and_the_new_one_works(make_user, client_for, client_from):
    admin = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    async with client_for(amy) as amy_client:
        async with client_for(admin) as c:
            r = await c.patch(f"/api/v1/users/{amy}", json={"password": "another passphrase"})
            assert r.status_code == 200
        assert (await amy_client.get("/api/v1/auth/me")).status_code == 401
    async with client_from("10.0.0.5") as c:
        assert (await login(c, "amy")).status_code == 401
        assert (await login(c, "amy", "another passphrase")).status_code == 200


async def test_idle_sessions_end_after_the_configured_hours(make_user, client_for):
    import datetime as dt

    admin = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    two_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    async with client_for(amy) as c:
        await Session.update({Session.last_seen_at: two_hours_ago}).where(Session.user == amy)
        assert (await c.get("/api/v1/auth/me")).status_code == 200, "12 idle hours by default"
        async with client_for(admin) as a:
            assert (await a.put("/api/v1/settings/core", json={"session_idle_hours": 1})).status_code == 200
        await Session.update({Session.last_seen_at: two_hours_ago}).where(Session.user == amy)
        assert (await c.get("/api/v1/auth/me")).status_code == 401
