"""数据备份: online backups and restores, SQLite (the backup API) or PostgreSQL (pg_dump/pg_restore)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import anyio

from core.db.engine import database_url, sqlite_path


class BackupError(RuntimeError):
    pass


def _sqlite_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst, pages=1000)
        if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("备份文件校验失败 / the backup copy failed its integrity check")
    finally:
        src.close()
        dst.close()


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    if not found:
        raise BackupError(f"找不到 {name} / {name} is not installed")
    return str(found)


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} 失败 / failed: {done.stderr.strip()[:500]}")


async def backup_to(target: Path) -> Path:
    url = database_url()
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        if target.exists():
            target.unlink()
        await anyio.to_thread.run_sync(_sqlite_copy, sqlite_path(url), target)
    else:
        await anyio.to_thread.run_sync(_run, [_pg_tool("pg_dump"), "-Fc", "-f", str(target), url])
    return target


async def restore_from(source: Path) -> None:
    """Replace the database with a backup. Stop the server first (SQLite) — the CLI says so."""
    source = Path(source)
    if not source.is_file() or source.stat().st_size == 0:
        raise BackupError(f"备份文件不存在或为空 / no such backup file, or it is empty: {source}")
    url = database_url()
    if url.startswith("sqlite"):
        header = (await anyio.Path(source).read_bytes())[:16]
        if header != b"SQLite format 3\x00":
            raise BackupError("不是 SQLite 备份文件 / not an SQLite backup")
        await anyio.to_thread.run_sync(_sqlite_copy, source, sqlite_path(url))
    else:
        await anyio.to_thread.run_sync(
            _run, [_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "-d", url, str(source)])
