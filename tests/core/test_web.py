"""The web shell: health, OpenAPI, languages, errors for browsers and the API, headers, logging."""

from __future__ import annotations

import datetime as dt

import pytest
import structlog
from structlog.testing import capture_logs

from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.anyio, pytest.mark.db]

SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "content-security-policy", "referrer-policy")


async def test_healthz_answers_without_sign_in(anon_client):
    async with anon_client() as c:
        r = await c.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["database"] in ("sqlite", "postgres")


async def test_openapi_lists_the_api_without_signing_in(anon_client):
    async with anon_client() as c:
        r = await c.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/api/v1/auth/login", "/api/v1/auth/tokens", "/api/v1/users", "/api/v1/plugins",
                 "/api/v1/audit", "/api/v1/settings/{key}", "/api/v1/licence", "/api/v1/example/notes"):
        assert path in paths, path
    assert not any(p.startswith("/admin") for p in paths), "pages stay out of the API schema"


async def test_chinese_by_default_and_english_on_request(anon_client):
    async with anon_client() as c:
        r = await c.get("/login")
        assert '<html lang="zh-CN">' in r.text and "登录" in r.text
        r = await c.get("/lang/en", headers={"referer": "http://testserver/login?next=/admin"},
                        follow_redirects=False)
        assert r.status_code in (302, 303)
        assert r.headers["location"] == "/login?next=/admin"
        r = await c.get("/login")
        assert '<html lang="en">' in r.text and "Sign in" in r.text and "Username" in r.text
        r = await c.get("/lang/zh-CN")
        assert "登录" in (await c.get("/login")).text
        assert (await c.get("/lang/fr")).status_code == 404


async def test_language_switch_never_redirects_off_site(anon_client):
    async with anon_client() as c:
        r = await c.get("/lang/en", headers={"referer": "http://evil.example//evil.example/x"},
                        follow_redirects=False)
    assert r.headers["location"] == "/"


async def test_malformed_json_body_gets_a_json_400(make_user, client_for, anon_client):
    async with anon_client() as c:
        r = await c.post("/api/v1/auth/login", content=b'{"username": "a", ',
                         headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/json")
    assert "not valid JSON" in r.json()["error"] and r.json()["status"] == 400
    admin = await make_user("boss", "admin")
    async with client_for(admin) as c:
        r = await c.post("/api/v1/users", content=b"[1, 2", headers={"content-type": "application/json"})
        assert r.status_code == 400 and "不是有效的 JSON" in r.json()["error"]
        r = await c.post("/api/v1/users", json={"username": "x"})  # a field missing
        assert r.status_code == 400 and "password" in r.text


async def test_unknown_page_is_readable_for_browsers_and_json_for_the_api(make_user, client_for, anon_client):
    user = await make_user("amy", "sales")
    async with client_for(user) as c:
        r = await c.get("/no/such/page")
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")
        assert "页面不存在" in r.text and "<html" in r.text
        r = await c.get("/api/v1/no/such/thing")
        assert r.status_code == 404
        assert r.json() == {"error": r.json()["error"], "status": 404}
    async with anon_client() as c:
        r = await c.get("/api/v1/no/such/thing")
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")


async def test_signed_out_pages_redirect_to_login_and_api_says_401(anon_client):
    async with anon_client() as c:
        r = await c.get("/admin/users?x=1", follow_redirects=False)
        assert r.status_code in (302, 303)
        assert r.headers["location"] == "/login?next=/admin/users%3Fx%3D1"
        r = await c.get("/api/v1/users")
        assert r.status_code == 401
        assert r.json()["error"].startswith("请先登录")


async def test_forbidden_page_and_api_say_so_clearly(make_user, client_for):
    user = await make_user("amy", "sales")
    async with client_for(user) as c:
        r = await c.get("/admin/users")
        assert r.status_code == 403 and "没有权限" in r.text and "<html" in r.text
        r = await c.get("/api/v1/users")
        assert r.status_code == 403 and "users:read" in r.json()["error"]


@pytest.mark.parametrize("path", ["/healthz", "/login", "/api/v1/users", "/no/such/page", "/api/v1/no/such"])
async def test_security_headers_and_request_id_on_every_response(anon_client, path):
    async with anon_client() as c:
        first = await c.get(path, follow_redirects=False)
        second = await c.get(path, follow_redirects=False)
    for name in SECURITY_HEADERS:
        assert name in first.headers, (path, name)
    assert "frame-ancestors 'none'" in first.headers["content-security-policy"]
    assert first.headers["x-frame-options"] == "DENY"
    assert len(first.headers["x-request-id"]) >= 16
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_request_log_has_request_id_and_never_bodies_or_passwords(make_user, client_for, anon_client):
    await make_user("amy", "sales")
    secret_new = "brand new secret 99"
    admin = await make_user("boss", "admin")
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with anon_client() as c:
            r = await c.post("/api/v1/auth/login", json={"username": "amy", "password": "wrong password here"})
            failed_id = r.headers["x-request-id"]
            r = await c.post("/api/v1/auth/login", json={"username": "amy", "password": TEST_PASSWORD})
            assert r.status_code == 200
            await c.post("/login", data={"username": "amy", "password": TEST_PASSWORD})
        async with client_for(admin) as c:
            r = await c.post("/api/v1/users", json={"username": "newbie", "password": secret_new})
            assert r.status_code == 201
            r = await c.post("/api/v1/auth/tokens", json={"name": "phone"})
            token = r.json()["token"]
            assert (await c.get("/api/v1/auth/me", headers={"authorization": f"Bearer {token}"})).status_code == 200
    requests = [e for e in logs if e.get("event") == "request"]
    assert len(requests) >= 6
    assert all(e.get("request_id") and e.get("path") and e.get("status") for e in requests)
    assert {e["path"] for e in requests} >= {"/api/v1/auth/login", "/login", "/api/v1/users", "/api/v1/auth/tokens"}
    assert any(e["request_id"] == failed_id and e["status"] == 401 for e in requests)
    text = repr(logs)
    for secret in (TEST_PASSWORD, "wrong password here", secret_new, token):
        assert secret not in text


def test_structlog_events_carry_no_secrets_when_captured():
    """What core logs itself through structlog (here: a licence install) names no key material."""
    from core.licence import install
    from tests.conftest import make_licence_text

    text = make_licence_text()
    with capture_logs() as logs:
        install(text, dt.date(2026, 6, 1))
    assert [e["event"] for e in logs] == ["licence.installed"]
    body = text.splitlines()[1]
    assert body[:20] not in repr(logs)
