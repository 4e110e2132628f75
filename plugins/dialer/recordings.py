"""外呼语音: upload (converted to the box's format), list, rename, hand-over seconds, share, delete."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import anyio
from litestar.exceptions import NotFoundException
from piccolo.columns.combination import Or

from core.audit.log import record
from core.db import write_tx
from core.perms.actor import Actor
from core.perms.scope import scope_where, where_all
from plugins.dialer import audio, files
from plugins.dialer.errors import DialerInputError
from plugins.dialer.schemas import RecordingOut, RecordingPatch
from plugins.dialer.tables import Campaign, Recording

PERM = "dialer:recordings"


def out_of(r: dict[str, Any]) -> RecordingOut:
    return RecordingOut(id=r["id"], name=r["name"], owner_id=r["owner"], shared=r["shared"],
                        duration_s=r["duration_s"], handover_s=r["handover_s"], size=r["size"],
                        created_at=r["created_at"])


async def _visible(actor: Actor) -> Any:
    return await scope_where(actor, PERM, owner=Recording.owner, department=Recording.department,
                             also=Recording.shared == True)  # noqa: E712


async def list_recordings(actor: Actor) -> list[RecordingOut]:
    clause = await _visible(actor)
    q = Recording.select().order_by(Recording.id, ascending=False)
    return [out_of(r) for r in await (q.where(clause) if clause is not None else q)]


async def get_row(actor: Actor, rec_id: int, *, edit: bool = False) -> dict[str, Any]:
    clause = await _visible(actor)
    if edit:
        clause = await scope_where(actor, PERM, owner=Recording.owner, department=Recording.department)
    row = await Recording.select().where(where_all(Recording.id == rec_id, clause)).first()
    if row is None:
        raise NotFoundException("外呼语音不存在 / recording not found")
    return row


async def create(actor: Actor, name: str, data: bytes, filename: str, handover_s: float, shared: bool) -> RecordingOut:
    if not name.strip():
        raise DialerInputError("请填写语音名称", "the recording needs a name")
    wav, seconds = await anyio.to_thread.run_sync(audio.prepare_prompt, data, filename)
    if handover_s < 0 or handover_s > seconds + 0.01:
        raise DialerInputError(f"转接秒数须在 0 到录音长度（{seconds:.0f} 秒）之间",
                               f"hand-over seconds must be between 0 and the recording's length ({seconds:.0f} s)")
    stored = secrets.token_hex(16)
    directory = anyio.Path(files.prompts_dir())
    await directory.mkdir(parents=True, exist_ok=True)
    await (directory / f"{stored}.wav").write_bytes(wav)
    async with write_tx():
        rows = await Recording.insert(Recording(
            name=name.strip()[:100], owner=actor.user_id, department=actor.department_id, shared=shared,
            stored_name=stored, original_name=filename[:255], duration_s=round(seconds, 2), handover_s=handover_s,
            size=len(wav), created_at=dt.datetime.now(dt.UTC))).returning(*Recording.all_columns())
        await record(actor, "create", "dialer_recording", rows[0]["id"], meta={"name": name, "seconds": seconds})
    return out_of(rows[0])


async def update(actor: Actor, rec_id: int, patch: RecordingPatch) -> RecordingOut:
    row = await get_row(actor, rec_id, edit=True)
    values: dict[Any, Any] = {}
    if patch.name is not None:
        values[Recording.name] = patch.name
    if patch.shared is not None:
        values[Recording.shared] = patch.shared
    if patch.handover_s is not None:
        if patch.handover_s > row["duration_s"] + 0.01:
            raise DialerInputError("转接秒数不能超过录音长度", "hand-over seconds cannot exceed the recording's length")
        values[Recording.handover_s] = patch.handover_s
    if values:
        async with write_tx():
            await Recording.update(values).where(Recording.id == rec_id)
            await record(actor, "update", "dialer_recording", rec_id, meta={"fields": [str(k) for k in values]})
    return out_of(await get_row(actor, rec_id))


async def delete(actor: Actor, rec_id: int) -> None:
    await get_row(actor, rec_id, edit=True)
    if await Campaign.exists().where((Campaign.recording == rec_id) & Or(Campaign.status == "running",
                                                                          Campaign.status == "waiting")):
        raise DialerInputError("该语音正被运行中的外呼任务使用", "a running campaign uses this recording")
    async with write_tx():
        await Recording.delete().where(Recording.id == rec_id)
        await record(actor, "delete", "dialer_recording", rec_id)


async def audio_path(actor: Actor, rec_id: int) -> anyio.Path:
    row = await get_row(actor, rec_id)
    return anyio.Path(files.prompts_dir() / f"{row['stored_name']}.wav")
