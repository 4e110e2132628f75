"""Signing in: throttling, IP allow-list, password check, login log, audit, a fresh session."""

from __future__ import annotations

import datetime as dt

import msgspec

from core.audit.log import record
from core.auth import sessions
from core.auth.ip_rules import ip_allowed
from core.auth.passwords import hash_password, needs_rehash, verify_password
from core.auth.tables import LoginFailure, LoginLog, User
from core.db import write_tx
from core.perms.actor import Actor

WINDOW = dt.timedelta(minutes=15)
MAX_PER_USER = 5
MAX_PER_IP = 30
# Verifying against a real hash keeps "unknown user" as slow as "wrong password".
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$LoxD2y7uofKvOtlghqDjPg$e5WfmKA603baSqPX7AkFMRggt6uTSxQXhir0JVC9VCA"

MESSAGES = {
    "bad_credentials": "用户名或密码错误 / wrong username or password",
    "disabled": "账号已停用，请联系管理员 / this account is disabled",
    "throttled": "尝试次数过多，请 15 分钟后再试 / too many attempts, try again in 15 minutes",
    "ip_blocked": "当前 IP 不允许登录 / sign-in is not allowed from this IP address",
}


class LoginError(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(MESSAGES[reason])


class LoginOk(msgspec.Struct):
    user_id: int
    session_token: str
    csrf_token: str


async def _throttled(username: str, ip: str) -> bool:
    since = dt.datetime.now(dt.UTC) - WINDOW
    recent = LoginFailure.at > since
    by_user = await LoginFailure.count().where((LoginFailure.key == f"user:{username}") & recent)
    by_ip = await LoginFailure.count().where((LoginFailure.key == f"ip:{ip}") & recent)
    return by_user >= MAX_PER_USER or by_ip >= MAX_PER_IP


async def _fail(username: str, user_id: int | None, ip: str, ua: str, reason: str) -> LoginError:
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        if reason in ("bad_credentials", "disabled"):
            await LoginFailure.insert(LoginFailure(key=f"user:{username}", at=now),
                                      LoginFailure(key=f"ip:{ip}", at=now))
        await LoginLog.insert(LoginLog(at=now, username=username[:64], user=user_id, ip=ip, user_agent=ua[:255],
                                       success=False, reason=reason))
        actor = Actor(user_id=user_id, username=username[:64], display_name="", ip=ip)
        await record(actor, "login_failed", "user", user_id or "", meta={"reason": reason})
    return LoginError(reason)


async def login(username: str, password: str, ip: str, user_agent: str = "") -> LoginOk:
    username = username.strip()
    if await _throttled(username, ip):
        raise await _fail(username, None, ip, user_agent, "throttled")
    user = await User.select(User.id, User.password_hash, User.active, User.ip_exempt).where(
        User.username == username).first()
    if user is None:
        await verify_password(_DUMMY_HASH, password)
        raise await _fail(username, None, ip, user_agent, "bad_credentials")
    if not await verify_password(user["password_hash"], password):
        raise await _fail(username, user["id"], ip, user_agent, "bad_credentials")
    if not user["active"]:
        raise await _fail(username, user["id"], ip, user_agent, "disabled")
    if not user["ip_exempt"] and not await ip_allowed(ip):
        raise await _fail(username, user["id"], ip, user_agent, "ip_blocked")
    token, csrf = await sessions.create(user["id"], ip, user_agent)
    now = dt.datetime.now(dt.UTC)
    rehashed = await hash_password(password) if needs_rehash(user["password_hash"]) else None
    async with write_tx():
        values = {User.last_login_at: now}
        if rehashed:
            values[User.password_hash] = rehashed
        await User.update(values).where(User.id == user["id"])
        await LoginFailure.delete().where(LoginFailure.key == f"user:{username}")
        await LoginLog.insert(LoginLog(at=now, username=username, user=user["id"], ip=ip, user_agent=user_agent[:255],
                                       success=True, reason=""))
        await record(Actor(user_id=user["id"], username=username, display_name="", ip=ip), "login", "user", user["id"])
    return LoginOk(user_id=user["id"], session_token=token, csrf_token=csrf)
