"""Browser sessions kept in the database.

Login always creates a fresh random id (so a planted cookie can never become a session: no
fixation), logout and disabling a user delete the rows. Idle and absolute lifetimes both apply.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from core.auth.secrets import digest, new_token
from core.auth.tables import Session
from core.db import write_tx

COOKIE = "wh_session"
IDLE = dt.timedelta(hours=12)  # the default of 系统设置 session_idle_hours
ABSOLUTE = dt.timedelta(days=7)
TOUCH_EVERY = dt.timedelta(minutes=1)


class SessionRow(msgspec.Struct):
    id: int
    user_id: int
    csrf_token: str
    expired: bool = False
    stale: bool = False  # last seen long enough ago to be touched


async def create(user_id: int, ip: str, user_agent: str) -> tuple[str, str]:
    """Returns (cookie value, csrf token)."""
    token, csrf = new_token(), new_token(24)
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        await Session.insert(Session(
            id_hash=digest(token), user=user_id, csrf_token=csrf, ip=ip[:64], user_agent=user_agent[:255],
            created_at=now, last_seen_at=now, expires_at=now + ABSOLUTE,
        ))
    return token, csrf


async def lookup(token: str, idle: dt.timedelta = IDLE) -> SessionRow | None:
    """Read only: the caller ends an expired session or touches a stale one with `refresh`."""
    row = await Session.select(Session.id, Session.user, Session.csrf_token, Session.last_seen_at,
                               Session.expires_at).where(Session.id_hash == digest(token)).first()
    if row is None:
        return None
    now = dt.datetime.now(dt.UTC)
    return SessionRow(id=row["id"], user_id=row["user"], csrf_token=row["csrf_token"],
                      expired=row["expires_at"] <= now or row["last_seen_at"] + idle <= now,
                      stale=now - row["last_seen_at"] >= TOUCH_EVERY)


async def refresh(session: SessionRow) -> None:
    """Delete an expired session, or record that a live one was just used (at most once a minute)."""
    async with write_tx():
        if session.expired:
            await Session.delete().where(Session.id == session.id)
        elif session.stale:
            await Session.update({Session.last_seen_at: dt.datetime.now(dt.UTC)}).where(Session.id == session.id)


async def end(token: str) -> None:
    async with write_tx():
        await Session.delete().where(Session.id_hash == digest(token))


async def end_all_for(user_id: int) -> int:
    async with write_tx():
        count = await Session.count().where(Session.user == user_id)
        await Session.delete().where(Session.user == user_id)
    return count
