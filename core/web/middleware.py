"""Per-request context: request id, who is calling (session cookie or Bearer token), CSRF, language,
one structured log line per request (never bodies, cookies or tokens), security headers."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from urllib.parse import urlparse

import structlog
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core import host
from core.auth import sessions, tokens
from core.auth.actors import load_actor
from core.db import read_tx
from core.settings.store import load_cached, section_for
from core.web.i18n import DEFAULT_LANG, LANGUAGES, set_language

log = structlog.get_logger("waihubao.request")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_HEADER = "x-csrf-token"
# Signing in again while signed in must work; the origin check still guards these (login CSRF).
CSRF_EXEMPT = frozenset({"/login", "/api/v1/auth/login"})
LANG_COOKIE = "wh_lang"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
     b"script-src 'self'; frame-ancestors 'none'"),
]


REQUEST_ID_KEY = "waihubao_request_id"


async def add_response_headers(message: Message, scope: Scope) -> None:
    """App-level `before_send` hook: the request id and the security headers go on *every* response,
    including a 404 for a path no route matches (which never reaches the middleware)."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    request_id = scope.get(REQUEST_ID_KEY) or secrets.token_hex(8)
    headers["x-request-id"] = request_id
    for name, value in SECURITY_HEADERS:
        headers.setdefault(name.decode(), value.decode())


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else ""


class RequestContextMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        started = time.perf_counter()
        request_id = secrets.token_hex(8)
        scope[REQUEST_ID_KEY] = request_id  # type: ignore[literal-required]
        structlog.contextvars.clear_contextvars()
        method = scope.get("method", "WEBSOCKET")
        structlog.contextvars.bind_contextvars(request_id=request_id, method=method, path=scope["path"])
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            kind = message["type"]
            if kind in ("http.response.start", "websocket.http.response.start"):
                status["code"] = message["status"]
            elif kind == "websocket.accept":
                status["code"] = 101
            elif kind == "websocket.close" and status["code"] == 500:
                status["code"] = 403  # closed before it was accepted: refused
            await send(message)

        try:
            await self._authenticate(scope, request_id)
            await next_app(scope, receive, send_wrapper)
        finally:
            user = scope.get("user")
            log.info("request", status=status["code"], user_id=getattr(user, "user_id", None),
                     ms=round((time.perf_counter() - started) * 1000, 1))

    async def _authenticate(self, scope: Scope, request_id: str) -> None:
        conn: ASGIConnection = ASGIConnection(scope)
        ip = client_ip(scope)
        scope["user"] = None
        scope["auth"] = None
        cookie = conn.cookies.get(sessions.COOKIE)
        bearer = conn.headers.get("authorization", "")
        context = {"ip": ip, "request_id": request_id}
        if bearer.lower().startswith("bearer "):
            found = await tokens.lookup(bearer[7:].strip())
            if found:
                scope["user"] = await load_actor(found[1], token_id=found[0], **context)
                scope["auth"] = {"kind": "token"}
        elif cookie:
            async with read_tx():
                settings = await load_cached(section_for(host.current().pm, "core"))
                session = await sessions.lookup(cookie, dt.timedelta(hours=settings.session_idle_hours))
                if session and not session.expired:
                    scope["user"] = await load_actor(session.user_id, session_id=session.id, **context)
                    scope["auth"] = {"kind": "session", "csrf": session.csrf_token}
            if session and (session.expired or session.stale):
                await sessions.refresh(session)
        lang = conn.query_params.get("lang") or conn.cookies.get(LANG_COOKIE)
        if not lang and scope["user"] is not None:
            lang = scope["user"].lang
        set_language(lang if lang in LANGUAGES else DEFAULT_LANG)
        if scope["user"] is not None:
            structlog.contextvars.bind_contextvars(user_id=scope["user"].user_id)
        if scope["type"] == ScopeType.WEBSOCKET and scope["auth"] and scope["auth"]["kind"] == "session":
            self._check_origin(conn)  # cross-site websocket hijacking
        if scope.get("method") in UNSAFE:
            self._check_origin(conn)
            if scope["auth"] and scope["auth"]["kind"] == "session" and scope["path"] not in CSRF_EXEMPT:
                sent = conn.headers.get(CSRF_HEADER, "")
                if not secrets.compare_digest(sent, scope["auth"]["csrf"]):
                    raise PermissionDeniedException("CSRF 校验失败，请刷新页面 / CSRF check failed: reload the page")

    @staticmethod
    def _check_origin(conn: ASGIConnection) -> None:
        """Cross-site form posts are refused even before a session exists (login CSRF)."""
        origin = conn.headers.get("origin")
        if origin and origin != "null":
            host = conn.headers.get("host", "")
            if urlparse(origin).netloc != host:
                raise PermissionDeniedException("跨站请求被拒绝 / cross-site request refused")
