"""数据备份: `waihubao backup FILE` / `waihubao restore FILE` (SQLite and PostgreSQL), and the download."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest

from tests.core.conftest import run_waihubao, sqlite_env


def departments(db) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM departments")}


def add_department(db, name: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO departments (name, sort, created_at) VALUES (?, 0, '2026-06-01T00:00:00+00:00')",
                     (name,))


def test_sqlite_backup_then_restore_brings_the_data_back(migrated_sqlite, tmp_path):
    db = tmp_path / "live.db"
    shutil.copy(migrated_sqlite, db)
    env = sqlite_env(db)
    add_department(db, "备份前")
    backup = tmp_path / "backups" / "one.backup"
    done = run_waihubao("backup", str(backup), env=env)
    assert done.returncode == 0, done.stderr
    assert "backup written" in done.stdout and backup.read_bytes()[:16] == b"SQLite format 3\x00"
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM departments")
    add_department(db, "备份后")
    refused = run_waihubao("restore", str(backup), env=env)
    assert refused.returncode != 0 and departments(db) == {"备份后"}, "without --yes nothing is replaced"
    done = run_waihubao("restore", str(backup), "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert departments(db) == {"备份前"}


def test_restore_refuses_a_file_that_is_not_a_backup(migrated_sqlite, tmp_path):
    db = tmp_path / "live.db"
    shutil.copy(migrated_sqlite, db)
    add_department(db, "保留")
    bogus = tmp_path / "bogus.backup"
    bogus.write_text("not a database")
    done = run_waihubao("restore", str(bogus), "--yes", env=sqlite_env(db))
    assert done.returncode == 1 and "不是 SQLite 备份文件" in done.stderr
    done = run_waihubao("restore", str(tmp_path / "missing.backup"), "--yes", env=sqlite_env(db))
    assert done.returncode != 0 and "missing.backup" in done.stderr
    assert departments(db) == {"保留"}


@pytest.mark.skipif(os.environ.get("WAIHUBAO_TEST_DB") != "postgres", reason="PostgreSQL run only")
@pytest.mark.db
def test_postgres_backup_then_restore_brings_the_data_back(tmp_path):
    import anyio
    import asyncpg

    base = os.environ["WAIHUBAO_DATABASE_URL"]
    scratch = base.rsplit("/", 1)[0] + "/waihubao_backup_test"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def query(sql: str) -> list:
        conn = await asyncpg.connect(scratch)
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()

    anyio.run(admin, "DROP DATABASE IF EXISTS waihubao_backup_test")
    anyio.run(admin, "CREATE DATABASE waihubao_backup_test")
    try:
        env = {"WAIHUBAO_DATABASE_URL": scratch}
        assert run_waihubao("migrate", env=env).returncode == 0
        anyio.run(query, "INSERT INTO departments (name, sort, created_at) VALUES ('备份前', 0, now())")
        backup = tmp_path / "pg.backup"
        done = run_waihubao("backup", str(backup), env=env)
        assert done.returncode == 0, done.stderr
        assert backup.read_bytes()[:5] == b"PGDMP"
        anyio.run(query, "DELETE FROM departments")
        anyio.run(query, "INSERT INTO departments (name, sort, created_at) VALUES ('备份后', 0, now())")
        done = run_waihubao("restore", str(backup), "--yes", env=env)
        assert done.returncode == 0, done.stderr
        names = {r["name"] for r in anyio.run(query, "SELECT name FROM departments")}
        assert names == {"备份前"}
    finally:
        anyio.run(admin, "DROP DATABASE IF EXISTS waihubao_backup_test")


@pytest.mark.anyio
@pytest.mark.db
async def test_backup_download_from_the_admin_page(make_user, client_for):
    from core.audit.tables import AuditEvent

    admin = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    import tempfile
    from pathlib import Path

    def copies() -> set[Path]:
        return set(Path(tempfile.gettempdir()).glob("waihubao-backup-*"))

    before = copies()
    async with client_for(admin) as c:
        assert "下载备份" in (await c.get("/admin/backup")).text
        r = await c.get("/admin/backup/download")
        assert r.status_code == 200
        assert r.headers["content-disposition"].startswith("attachment")
        assert r.content[:16] == b"SQLite format 3\x00" or r.content[:5] == b"PGDMP"
    assert copies() == before, "the server's temporary copy is removed once sent"
    assert await AuditEvent.exists().where((AuditEvent.entity == "backup") & (AuditEvent.actor_id == admin))
    async with client_for(amy) as c:
        assert (await c.get("/admin/backup/download")).status_code == 403


def test_libpq_gets_server_settings_through_pgoptions():
    from core.backup import libpq_target

    url, env, schemas = libpq_target("postgresql://u:p@db:5432/crm?sslmode=require&search_path=run_1")
    assert url == "postgresql://u:p@db:5432/crm?sslmode=require"
    assert env == {"PGOPTIONS": "-c search_path=run_1"} and schemas == ["run_1"]
    assert libpq_target("postgresql://db/crm") == ("postgresql://db/crm", {}, [])
