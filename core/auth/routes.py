"""Sign-in and sign-out (page and JSON API), API tokens, language switch."""

from __future__ import annotations

import os
from typing import Annotated
from urllib.parse import urlparse

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Template

from core.audit.log import record
from core.auth import sessions, tokens
from core.auth.actors import load_actor
from core.auth.login import LoginError, login
from core.auth.tables import ApiToken, User
from core.web.i18n import LANGUAGES
from core.web.middleware import LANG_COOKIE, client_ip
from core.web.responses import actor_of

PUBLIC = {"public": True, "allow_read_only": True}


def _session_cookie(value: str, max_age: int | None = None) -> Cookie:
    return Cookie(
        key=sessions.COOKIE, value=value, httponly=True, samesite="lax", path="/",
        secure=os.environ.get("WAIHUBAO_SECURE_COOKIES") == "1", max_age=max_age,
    )


def _safe_next(target: str | None) -> str:
    """A local path to go back to, or "/". Browsers read `/\\host` as `//host`, so backslashes and
    control characters are refused along with `//` and absolute URLs."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return "/"
    return target


class LoginIn(msgspec.Struct):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class LoginForm(msgspec.Struct):
    username: str = ""
    password: str = ""
    next: str = "/"


class MeOut(msgspec.Struct):
    id: int
    username: str
    display_name: str
    department_id: int | None
    roles: list[str]
    permissions: dict[str, str]
    csrf_token: str | None = None


class TokenIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    user_id: int | None = None


class TokenOut(msgspec.Struct):
    id: int
    name: str
    prefix: str
    user_id: int
    token: str | None = None
    created_at: str = ""
    last_used_at: str | None = None
    revoked: bool = False


def _me(request: Request, csrf: str | None = None) -> MeOut:
    actor = actor_of(request)
    return MeOut(id=actor.user_id, username=actor.username, display_name=actor.display_name,
                 department_id=actor.department_id, roles=actor.role_keys, permissions=actor.grants,
                 csrf_token=csrf)


@get("/login", opt=PUBLIC, include_in_schema=False)
async def login_page(request: Request, next: FromQuery[str] = "/") -> Template:
    return Template(template_name="login.html", context={"next": _safe_next(next), "error": None})


@post("/login", opt=PUBLIC, include_in_schema=False, status_code=200)
async def login_submit(
    request: Request, data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Response:
    try:
        ok = await login(data.username, data.password, client_ip(request.scope), request.headers.get("user-agent", ""))
    except LoginError as exc:
        return Template(template_name="login.html", status_code=401,
                        context={"next": _safe_next(data.next), "error": str(exc), "username": data.username})
    response = Redirect(_safe_next(data.next), status_code=303)
    response.set_cookie(_session_cookie(ok.session_token))
    return response


@post("/logout", include_in_schema=False, opt={"allow_read_only": True}, status_code=200)
async def logout(request: Request) -> Response:
    token = request.cookies.get(sessions.COOKIE)
    if token:
        await sessions.end(token)
        await record(actor_of(request), "logout", "user", actor_of(request).user_id)
    response: Response = (Response("", headers={"HX-Redirect": "/login"}) if request.headers.get("hx-request")
                          else Redirect("/login", status_code=303))
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@get("/lang/{lang:str}", opt=PUBLIC, include_in_schema=False)
async def switch_language(request: Request, lang: FromPath[str]) -> Redirect:
    if lang not in LANGUAGES:
        raise NotFoundException("未知语言 / unknown language")
    referer = urlparse(request.headers.get("referer", "/"))
    back = referer.path + (f"?{referer.query}" if referer.query else "")
    response = Redirect(_safe_next(back))
    response.set_cookie(LANG_COOKIE, lang, path="/", samesite="lax", max_age=365 * 86400)
    return response


@post("/api/v1/auth/login", opt=PUBLIC, tags=["auth"], status_code=200)
async def api_login(request: Request, data: JSONBody[LoginIn]) -> Response[MeOut]:
    """Sign in with JSON; the response sets the session cookie and returns the CSRF token to send as
    `X-CSRF-Token` on every unsafe request made with that cookie."""
    try:
        ok = await login(data.username, data.password, client_ip(request.scope), request.headers.get("user-agent", ""))
    except LoginError as exc:
        status = 429 if exc.reason == "throttled" else 403 if exc.reason == "ip_blocked" else 401
        return Response({"error": str(exc), "status": status}, status_code=status)  # type: ignore[arg-type]
    actor = await load_actor(ok.user_id)
    assert actor is not None
    me = MeOut(id=actor.user_id, username=actor.username, display_name=actor.display_name,
               department_id=actor.department_id, roles=actor.role_keys, permissions=actor.grants,
               csrf_token=ok.csrf_token)
    return Response(me, cookies=[_session_cookie(ok.session_token)])


@post("/api/v1/auth/logout", tags=["auth"], opt={"allow_read_only": True}, status_code=204)
async def api_logout(request: Request) -> Response[None]:
    token = request.cookies.get(sessions.COOKIE)
    if token:
        await sessions.end(token)
    return Response(None, status_code=204, cookies=[_session_cookie("", max_age=0)])


@get("/api/v1/auth/me", tags=["auth"])
async def api_me(request: Request) -> MeOut:
    auth = request.scope.get("auth") or {}
    return _me(request, auth.get("csrf"))


async def _token_owner(request: Request, user_id: int | None) -> int:
    actor = actor_of(request)
    if user_id is None or user_id == actor.user_id:
        return actor.user_id
    if not actor.can("users:edit"):
        raise PermissionDeniedException("只有管理员可以为他人创建令牌 / only admins create tokens for others")
    if not await User.exists().where(User.id == user_id):
        raise NotFoundException("用户不存在 / no such user")
    return user_id


@post("/api/v1/auth/tokens", tags=["auth"], status_code=201)
async def create_token(request: Request, data: JSONBody[TokenIn]) -> TokenOut:
    """Create a Bearer token (shown once) for the caller, or — for admins — for another user."""
    owner = await _token_owner(request, data.user_id)
    token_id, secret = await tokens.create(owner, data.name)
    await record(actor_of(request), "create", "api_token", token_id, meta={"user_id": owner, "name": data.name})
    return TokenOut(id=token_id, name=data.name, prefix=secret[:12], user_id=owner, token=secret)


@get("/api/v1/auth/tokens", tags=["auth"])
async def list_tokens(request: Request) -> list[TokenOut]:
    actor = actor_of(request)
    query = ApiToken.select().order_by(ApiToken.id)
    if not actor.can("users:edit"):
        query = query.where(ApiToken.user == actor.user_id)
    return [
        TokenOut(id=r["id"], name=r["name"], prefix=r["prefix"], user_id=r["user"],
                 created_at=r["created_at"].isoformat(),
                 last_used_at=r["last_used_at"].isoformat() if r["last_used_at"] else None,
                 revoked=r["revoked_at"] is not None)
        for r in await query
    ]


@delete("/api/v1/auth/tokens/{token_id:int}", tags=["auth"], status_code=204)
async def revoke_token(request: Request, token_id: FromPath[int]) -> None:
    actor = actor_of(request)
    row = await ApiToken.select(ApiToken.user).where(ApiToken.id == token_id).first()
    if row is None or (row["user"] != actor.user_id and not actor.can("users:edit")):
        raise NotFoundException("令牌不存在 / no such token")
    await tokens.revoke(token_id)
    await record(actor, "delete", "api_token", token_id)


ROUTES = [login_page, login_submit, logout, switch_language, api_login, api_logout, api_me,
          create_token, list_tokens, revoke_token]
