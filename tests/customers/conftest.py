"""Fixtures for the customers tests, used when the project-wide ones (tests/conftest.py) are absent.

The database is a temporary SQLite file unless WAIHUBAO_DATABASE_URL points elsewhere (the -m db run
on PostgreSQL); every test starts from empty tables.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

_TMP = tempfile.mkdtemp(prefix="wh-cust-")
os.environ.setdefault("PICCOLO_CONF", "core.db.piccolo_conf")
os.environ.setdefault("WAIHUBAO_DATABASE_URL", f"sqlite:///{_TMP}/test.db")
os.environ.setdefault("WAIHUBAO_EXTRA_PLUGINS", "core.customers.plugin")

_migrated = {"done": False}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _empty_tables() -> None:
    from piccolo.apps.migrations.tables import Migration

    from core.db import engine
    from core.db.piccolo_conf import APP_REGISTRY

    tables = [t for app in APP_REGISTRY.app_configs.values() for t in app.table_classes]
    names = [t._meta.tablename for t in tables if t is not Migration]
    db = engine()
    async with db.transaction():
        if db.engine_type == "sqlite":
            await db.run_ddl("PRAGMA defer_foreign_keys = ON")
        for name in reversed(names):
            exists = await db.run_ddl(
                f"SELECT name FROM sqlite_master WHERE type='table' AND name='{name}'"
                if db.engine_type == "sqlite"
                else f"SELECT to_regclass('public.{name}') AS name"
            )
            if exists and exists[0]["name"]:
                await db.run_ddl(f'DELETE FROM "{name}"')


async def reset_db() -> None:
    """Migrate once per process, then empty every table and re-seed the built-in roles."""
    from core import host
    from core.db.migrations import migrate
    from core.perms.builtin_roles import sync_builtin_roles

    if not _migrated["done"]:
        await migrate()
        _migrated["done"] = True
    await _empty_tables()
    await sync_builtin_roles(host.current().pm)


@pytest.fixture
async def db() -> AsyncIterator[None]:
    await reset_db()
    yield


@pytest.fixture
def make_department(db) -> Callable[..., Awaitable[int]]:
    from core.org.tables import Department

    async def make(name: str, parent_id: int | None = None) -> int:
        rows = await Department.insert(
            Department(name=name, parent=parent_id, created_at=dt.datetime.now(dt.UTC))
        ).returning(Department.id)
        return rows[0]["id"]

    return make


@pytest.fixture
def make_user(db) -> Callable[..., Awaitable[int]]:
    from core.auth.tables import User
    from core.perms.tables import Role, UserRole

    async def make(username: str, role: str = "sales", department_id: int | None = None) -> int:
        rows = await User.insert(
            User(
                username=username,
                display_name=username,
                password_hash="x",
                department=department_id,
                created_at=dt.datetime.now(dt.UTC),
            )
        ).returning(User.id)
        uid = rows[0]["id"]
        role_row = await Role.select(Role.id).where(Role.key == role).first()
        await UserRole.insert(UserRole(user=uid, role=role_row["id"]))
        return uid

    return make


@pytest.fixture
def actor_for(db):
    from core.auth.actors import load_actor

    async def load(user_id: int):
        return await load_actor(user_id)

    return load


@pytest.fixture
async def app(db):
    from core.web.app import create_app

    return create_app(run_jobs=False, check_migrations=False)


@pytest.fixture
def client_for(app):
    """An async test client signed in as a user, with the CSRF header set."""
    from contextlib import asynccontextmanager

    from litestar.testing import AsyncTestClient

    from core.auth import sessions

    @asynccontextmanager
    async def make(user_id: int):
        token, csrf = await sessions.create(user_id, "127.0.0.1", "pytest")
        async with AsyncTestClient(app=app) as client:
            client.cookies.set(sessions.COOKIE, token)
            client.headers["x-csrf-token"] = csrf
            yield client

    return make
