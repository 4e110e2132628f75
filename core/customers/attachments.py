"""Follow-up attachments: stored under generated names, read only through the customer's scope."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

import anyio
from litestar.exceptions import NotFoundException

from core.audit.log import record
from core.customers import access
from core.customers.errors import InvalidInput
from core.customers.tables import Followup, FollowupAttachment
from core.db import write_tx
from core.perms.actor import Actor

MAX_BYTES = 20_000_000


def files_dir() -> Path:
    """`WAIHUBAO_FILES_DIR`, default `var/files` (the client's file name never becomes a path)."""
    return Path(os.environ.get("WAIHUBAO_FILES_DIR", "var/files")) / "followups"


async def _followup(actor: Actor, followup_id: int, *, edit: bool) -> dict[str, Any]:
    row = await Followup.select().where(Followup.id == followup_id).first()
    if row is None:
        raise NotFoundException("联系记录不存在 / follow-up not found")
    await (access.editable if edit else access.readable)(actor, row["customer"])
    return row


async def attach(actor: Actor, followup_id: int, filename: str, content: bytes, content_type: str) -> int:
    await _followup(actor, followup_id, edit=True)
    if not content:
        raise InvalidInput("文件为空（0 字节） / the file is empty (0 bytes)")
    if len(content) > MAX_BYTES:
        raise InvalidInput(f"文件超过 {MAX_BYTES // 1_000_000} MB / the file is too large")
    stored = secrets.token_hex(16)
    directory = anyio.Path(files_dir())
    await directory.mkdir(parents=True, exist_ok=True)
    await (directory / stored).write_bytes(content)
    async with write_tx():
        rows = await FollowupAttachment.insert(
            FollowupAttachment(
                followup=followup_id,
                filename=Path(filename).name[:255] or "file",
                stored_name=stored,
                size=len(content),
                content_type=content_type[:100] or "application/octet-stream",
                created_at=dt.datetime.now(dt.UTC),
            )
        ).returning(FollowupAttachment.id)
        await record(
            actor,
            "create",
            "followup_attachment",
            rows[0]["id"],
            meta={"followup": followup_id, "filename": filename, "size": len(content)},
        )
    return rows[0]["id"]


async def for_download(actor: Actor, attachment_id: int) -> tuple[Path, dict[str, Any]]:
    row = await FollowupAttachment.select().where(FollowupAttachment.id == attachment_id).first()
    if row is None:
        raise NotFoundException("附件不存在 / attachment not found")
    await _followup(actor, row["followup"], edit=False)
    await record(actor, "download", "followup_attachment", attachment_id)
    return files_dir() / row["stored_name"], row


async def list_for(actor: Actor, followup_id: int) -> list[dict[str, Any]]:
    await _followup(actor, followup_id, edit=False)
    return await FollowupAttachment.select(
        FollowupAttachment.id, FollowupAttachment.filename, FollowupAttachment.size, FollowupAttachment.content_type
    ).where(FollowupAttachment.followup == followup_id)


async def purge(actor: Actor, named: list[tuple[int, str]], reason: str) -> int:
    """Delete attachments given as (follow-up id, file name) — a module's retention rule, e.g. call recordings
    past 外呼设置's keep period: the files and rows go, the follow-ups stay. Audited once. Returns the count."""
    if not named:
        return 0
    wanted = set(named)
    rows = [r for r in await FollowupAttachment.select(
        FollowupAttachment.id, FollowupAttachment.followup, FollowupAttachment.filename,
        FollowupAttachment.stored_name).where(FollowupAttachment.followup.is_in(sorted({f for f, _ in wanted})))
        if (r["followup"], r["filename"]) in wanted]
    if not rows:
        return 0
    async with write_tx():
        await FollowupAttachment.delete().where(FollowupAttachment.id.is_in([r["id"] for r in rows]))
        await record(actor, "purge", "followup_attachment", "", meta={"count": len(rows), "reason": reason})

    def unlink() -> None:
        for r in rows:
            (files_dir() / r["stored_name"]).unlink(missing_ok=True)

    await anyio.to_thread.run_sync(unlink)
    return len(rows)
