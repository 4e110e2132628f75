"""数据备份: online backups and restores, SQLite (the backup API) or PostgreSQL (pg_dump/pg_restore)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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


# Connection parameters libpq (pg_dump, pg_restore) understands in a URL; asyncpg also takes server
# settings there (e.g. `?search_path=crm`), which libpq refuses: those go to PGOPTIONS instead.
_LIBPQ_PARAMS = frozenset({
    "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "require_auth", "channel_binding",
    "connect_timeout", "client_encoding", "options", "application_name", "fallback_application_name",
    "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
    "replication", "gssencmode", "sslmode", "requiressl", "sslcompression", "sslcert", "sslkey", "sslpassword",
    "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer", "ssl_min_protocol_version",
    "ssl_max_protocol_version", "krbsrvname", "gsslib", "gssdelegation", "service", "target_session_attrs",
    "load_balance_hosts",
})


def libpq_target(url: str) -> tuple[str, dict[str, str], list[str]]:
    """(URL for libpq, extra environment, schemas named by `search_path`) for a database URL."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in query if k in _LIBPQ_PARAMS]
    settings = [(k, v) for k, v in query if k not in _LIBPQ_PARAMS]
    env = {}
    if settings:
        env["PGOPTIONS"] = " ".join(f"-c {k}={v.replace(' ', '')}" for k, v in settings)
    schemas = [s.strip() for k, v in settings if k == "search_path" for s in v.split(",") if s.strip()]
    return urlunsplit(parts._replace(query=urlencode(kept))), env, schemas


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env={**os.environ, **env} if env else None)
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
        target_url, env, schemas = libpq_target(url)
        only = [f"--schema={schema}" for schema in schemas]
        await anyio.to_thread.run_sync(_run, [_pg_tool("pg_dump"), "-Fc", *only, "-f", str(target), target_url], env)
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
        target_url, env, _ = libpq_target(url)
        await anyio.to_thread.run_sync(
            _run, [_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "-d", target_url, str(source)], env)
