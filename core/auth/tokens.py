"""API tokens (Bearer) for agents, phones and integrations. The secret is shown once, at creation."""

from __future__ import annotations

import datetime as dt

from core.auth.secrets import digest, new_token
from core.auth.tables import ApiToken
from core.db import write_tx

PREFIX = "whb_"


async def create(user_id: int, name: str) -> tuple[int, str]:
    secret = PREFIX + new_token()
    async with write_tx():
        rows = await ApiToken.insert(ApiToken(
            user=user_id, name=name[:100], token_hash=digest(secret), prefix=secret[:12],
            created_at=dt.datetime.now(dt.UTC),
        )).returning(ApiToken.id)
    return rows[0]["id"], secret


async def lookup(secret: str) -> tuple[int, int] | None:
    """(token id, user id) for a live token of an active user."""
    row = await ApiToken.select(ApiToken.id, ApiToken.user, ApiToken.last_used_at).where(
        (ApiToken.token_hash == digest(secret)) & ApiToken.revoked_at.is_null()
        & (ApiToken.user._.active == True)  # noqa: E712 (Piccolo needs ==)
    ).first()
    if row is None:
        return None
    now = dt.datetime.now(dt.UTC)
    if row["last_used_at"] is None or now - row["last_used_at"] > dt.timedelta(minutes=1):
        async with write_tx():
            await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"])
    return row["id"], row["user"]


async def revoke(token_id: int) -> None:
    async with write_tx():
        await ApiToken.update({ApiToken.revoked_at: dt.datetime.now(dt.UTC)}).where(ApiToken.id == token_id)


