"""Writing, verifying and purging the hash-chained audit log (操作日志).

Each row's hash is sha256(prev_hash + canonical JSON of its fields). Rows are appended one at a time
(SQLite: the app write lock; PostgreSQL: a transaction-level advisory lock), so `seq` has no gaps
and `waihubao audit verify` finds the first row changed or removed behind the app's back.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec

from core.audit.tables import AuditCheckpoint, AuditEvent
from core.db import is_sqlite, write_tx
from core.perms.actor import Actor
from core.settings.tables import Setting

GENESIS = "0" * 64
ADVISORY_LOCK_KEY = 0x57484155  # "WHAU"


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


_encoder = msgspec.json.Encoder(enc_hook=_json_default, order="sorted")


def to_json(value: Any) -> str:
    return "" if value is None else _encoder.encode(value).decode()


def diff_of(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, *, skip=("password_hash",)) -> dict:
    """Per-field {field: [before, after]} for the fields that changed."""
    before, after = before or {}, after or {}
    out = {}
    for key in sorted(set(before) | set(after)):
        if key in skip:
            continue
        old, new = before.get(key), after.get(key)
        if old != new:
            out[key] = [old, new]
    return out


def _canonical_at(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    body = {
        "seq": row["seq"], "at": _canonical_at(row["at"]), "actor_id": row["actor_id"],
        "actor_name": row["actor_name"], "ip": row["ip"], "request_id": row["request_id"],
        "action": row["action"], "entity": row["entity"], "entity_id": row["entity_id"],
        "diff": row["diff"], "meta": row["meta"],
    }
    return hashlib.sha256(prev_hash.encode() + _encoder.encode(body)).hexdigest()


HEAD_KEY = "audit.head"


class Head(msgspec.Struct):
    seq: int
    hash: str


async def stored_head() -> Head | None:
    """The newest row's seq and hash as the app last wrote them, kept apart from the rows, so deleting
    the newest rows (or rewriting the tail) does not leave a shorter chain that still verifies."""
    row = await Setting.select(Setting.value).where(Setting.key == HEAD_KEY).first()
    return msgspec.json.decode(row["value"], type=Head) if row else None


async def _store_head(head: Head) -> None:
    value = msgspec.json.encode(head).decode()
    now = dt.datetime.now(dt.UTC)
    updated = await Setting.update({Setting.value: value, Setting.updated_at: now}).where(
        Setting.key == HEAD_KEY).returning(Setting.id)
    if not updated:
        await Setting.insert(Setting(key=HEAD_KEY, value=value, updated_at=now))


async def _chain_head() -> tuple[int, str]:
    head = await stored_head()
    if head:
        return head.seq + 1, head.hash
    last = await AuditEvent.select(AuditEvent.seq, AuditEvent.hash).order_by(
        AuditEvent.seq, ascending=False).first()
    if last:
        return last["seq"] + 1, last["hash"]
    checkpoint = await AuditCheckpoint.select().order_by(AuditCheckpoint.id, ascending=False).first()
    if checkpoint:
        return checkpoint["first_seq"], checkpoint["prev_hash"]
    return 1, GENESIS


async def record(
    actor: Actor | None,
    action: str,
    entity: str = "",
    entity_id: Any = "",
    *,
    diff: Mapping[str, Any] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> int:
    """Append one audit row (joins the caller's write transaction, if any). Returns its seq."""
    async with write_tx():
        if not is_sqlite():
            await AuditEvent.raw("SELECT pg_advisory_xact_lock({})", ADVISORY_LOCK_KEY)
        seq, prev = await _chain_head()
        row = {
            "seq": seq,
            "at": dt.datetime.now(dt.UTC),
            "actor_id": actor.user_id if actor else None,
            "actor_name": (actor.username if actor else "system")[:100],
            "ip": actor.ip if actor else "",
            "request_id": actor.request_id if actor else "",
            "action": action,
            "entity": entity,
            "entity_id": str(entity_id) if entity_id is not None else "",
            "diff": to_json(diff) if diff else "",
            "meta": to_json(meta) if meta else "",
        }
        row["prev_hash"] = prev
        row["hash"] = _row_hash(prev, row)
        await AuditEvent.insert(AuditEvent(**row))
        await _store_head(Head(seq=seq, hash=row["hash"]))
        return seq


class VerifyResult(msgspec.Struct):
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""


def _missing(seq: int) -> str:
    return f"第 {seq} 条缺失 / row {seq} is missing"


def _altered(seq: int) -> str:
    return f"第 {seq} 条被修改 / row {seq} was altered"


async def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain from the latest checkpoint; report the first row that does not fit."""
    checkpoint = await AuditCheckpoint.select().order_by(AuditCheckpoint.id, ascending=False).first()
    expected_seq, prev = (checkpoint["first_seq"], checkpoint["prev_hash"]) if checkpoint else (1, GENESIS)
    checked = 0
    while True:
        rows = await AuditEvent.select().where(AuditEvent.seq >= expected_seq).order_by(
            AuditEvent.seq).limit(batch)
        if not rows:
            return await _check_head(checked, expected_seq - 1, prev)
        for row in rows:
            if row["seq"] != expected_seq:
                return VerifyResult(False, checked, expected_seq, _missing(expected_seq))
            if row["prev_hash"] != prev or _row_hash(prev, row) != row["hash"]:
                return VerifyResult(False, checked, row["seq"], _altered(row["seq"]))
            prev, expected_seq = row["hash"], expected_seq + 1
            checked += 1
        if len(rows) < batch:
            last = await AuditEvent.select(AuditEvent.seq).order_by(AuditEvent.seq, ascending=False).first()
            if last and last["seq"] >= expected_seq:
                return VerifyResult(False, checked, expected_seq, _missing(expected_seq))
            return await _check_head(checked, expected_seq - 1, prev)


async def _check_head(checked: int, last_seq: int, last_hash: str) -> VerifyResult:
    head = await stored_head()
    if head is None or (head.seq == last_seq and head.hash == last_hash):
        return VerifyResult(ok=True, checked=checked)
    if head.seq > last_seq:
        return VerifyResult(False, checked, last_seq + 1, _missing(last_seq + 1))
    return VerifyResult(False, checked, last_seq, _altered(last_seq))


async def purge_before(cutoff: dt.datetime, actor: Actor | None) -> int:
    """系统清理: delete rows older than `cutoff`; the chain restarts at a checkpoint and stays verifiable."""
    async with write_tx():
        if not is_sqlite():
            await AuditEvent.raw("SELECT pg_advisory_xact_lock({})", ADVISORY_LOCK_KEY)
        last_old = await AuditEvent.select(AuditEvent.seq, AuditEvent.hash).where(
            AuditEvent.at < cutoff).order_by(AuditEvent.seq, ascending=False).first()
        if not last_old:
            return 0
        count = await AuditEvent.count().where(AuditEvent.seq <= last_old["seq"])
        await AuditCheckpoint.insert(AuditCheckpoint(
            at=dt.datetime.now(dt.UTC), first_seq=last_old["seq"] + 1, prev_hash=last_old["hash"]))
        await AuditEvent.delete().where(AuditEvent.seq <= last_old["seq"])
        await record(actor, "audit.purge", "audit", meta={"before": cutoff.isoformat(), "deleted": count})
        return count
