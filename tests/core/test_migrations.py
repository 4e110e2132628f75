"""Every table comes from migrations; the server refuses an unmigrated database with a clear message."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from tests.core.conftest import run_waihubao, sqlite_env


def test_serve_refuses_an_unmigrated_database(tmp_path):
    done = run_waihubao("serve", "--port", "0", env=sqlite_env(tmp_path / "empty.db"), timeout=60)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "waihubao migrate" in output and "数据库尚未迁移" in output
    assert "serving on" not in output


def test_migrate_creates_every_plugins_tables_even_outside_the_licence(migrated_sqlite, tmp_path):
    from core.db.piccolo_conf import APP_REGISTRY

    db = tmp_path / "copy.db"
    shutil.copy(migrated_sqlite, db)
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        ran = {r[0] for r in conn.execute("SELECT app_name FROM migration")}
        roles = {r[0] for r in conn.execute("SELECT key FROM roles")}
    expected = {t._meta.tablename for app in APP_REGISTRY.app_configs.values() for t in app.table_classes}
    assert expected <= tables, expected - tables
    assert {"core", "sales", "sms", "dialer", "example"} <= ran
    assert {"admin", "manager", "sales"} <= roles
    again = run_waihubao("migrate", env=sqlite_env(db))
    assert again.returncode == 0 and "migrations applied: 0" in again.stdout


@pytest.mark.anyio
@pytest.mark.db
async def test_the_test_database_is_fully_migrated(db):
    from core.db.migrations import ensure_migrated, pending

    assert await pending() == []
    await ensure_migrated()
