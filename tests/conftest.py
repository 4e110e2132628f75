"""Project-wide fixtures.

The database is a fresh SQLite file, or — with WAIHUBAO_TEST_DB=postgres — the `test` database on
127.0.0.1:5432 with its public schema recreated. It is migrated once per run (core, every plugin and
the example plugin under tests/), then every test that asks for `db` starts from empty tables with
the built-in roles seeded and a team licence, signed by a key made for this run, installed.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

TMP = Path(tempfile.mkdtemp(prefix="waihubao-test-"))
PG_SCHEMA = f"run_{os.getpid()}"  # each run in a schema of its own, so parallel runs never meet
if os.environ.get("WAIHUBAO_TEST_DB") == "postgres":
    _pg_base = os.environ.get("WAIHUBAO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    os.environ["WAIHUBAO_DATABASE_URL"] = f"{_pg_base}?search_path={PG_SCHEMA}"  # asyncpg: a server setting
else:
    os.environ["WAIHUBAO_DATABASE_URL"] = f"sqlite:///{TMP}/test.db"
os.environ["WAIHUBAO_LICENCE_FILE"] = str(TMP / "licence.lic")
os.environ["WAIHUBAO_LICENCE_TRUSTED_KEYS"] = str(TMP / "trusted-keys.txt")
os.environ["WAIHUBAO_EXTRA_PLUGINS"] = "tests.example_plugin.plugin"
os.environ["PICCOLO_CONF"] = "core.db.piccolo_conf"

from core.licence import (  # noqa: E402  (the environment above must be set first)
    EDITION_MODULES,
    Edition,
    LicencePayload,
    Licensee,
    generate_keypair,
    install,
    issue_licence,
)

# Browser waits: `make test` runs the SQLite and PostgreSQL suites side by side on 2 cores, and under that
# load a page can take longer to answer than Playwright's 5 s default for assertions.
BROWSER_WAIT_MS = 20_000
try:
    from playwright.async_api import expect as _async_expect
    from playwright.sync_api import expect as _sync_expect
except ImportError:  # pragma: no cover - playwright is a test dependency
    pass
else:
    _async_expect.set_options(timeout=BROWSER_WAIT_MS)
    _sync_expect.set_options(timeout=BROWSER_WAIT_MS)

_pem, _public_line = generate_keypair("test")
(TMP / "trusted-keys.txt").write_text(_public_line + "\n")
(TMP / "test-key.pem").write_bytes(_pem)
TEST_PASSWORD = "correct horse 2026"
_state: dict[str, object] = {"migrated": False, "password_hash": None}


def test_private_key():
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(_pem, password=None)


def make_licence_text(*, edition: Edition = Edition.TEAM, seats: int = 10, modules: list[str] | None = None,
                      issued_at: dt.date | None = None, expires_at: dt.date | None = None,
                      grace_days: int = 14) -> str:
    payload = LicencePayload(
        kid="test", lid=str(uuid.uuid4()), edition=edition, seats=seats,
        modules=sorted(EDITION_MODULES[edition]) if modules is None else modules,
        licensee=Licensee(name="测试", company="测试公司"), issued_at=issued_at or dt.date(2026, 1, 1),
        expires_at=expires_at, grace_days=grace_days,
    )
    return issue_licence(payload, test_private_key())


def install_licence(**kwargs) -> None:
    """Install a test licence and rebuild the host (plugins, licence status) from it."""
    from core import host

    install(make_licence_text(**kwargs), dt.date(2026, 6, 1) if "issued_at" not in kwargs else kwargs["issued_at"])
    host.reset()


def remove_licence() -> None:
    from core import host

    Path(os.environ["WAIHUBAO_LICENCE_FILE"]).unlink(missing_ok=True)
    host.reset()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


async def _recreate_pg_schema() -> None:
    from core.db import engine

    await engine().run_ddl(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
    await engine().run_ddl(f"CREATE SCHEMA {PG_SCHEMA}")


def pytest_sessionfinish(session, exitstatus) -> None:
    if os.environ["WAIHUBAO_DATABASE_URL"].startswith("postgres") and _state["migrated"]:
        import asyncio

        import asyncpg

        async def drop() -> None:
            conn = await asyncpg.connect(os.environ["WAIHUBAO_DATABASE_URL"].split("?")[0])
            try:
                await conn.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
            finally:
                await conn.close()

        asyncio.run(drop())


async def _empty_tables() -> None:
    from piccolo.apps.migrations.tables import Migration

    from core.db import engine
    from core.db.piccolo_conf import APP_REGISTRY

    names = [t._meta.tablename for app in APP_REGISTRY.app_configs.values() for t in app.table_classes
             if t is not Migration]
    db = engine()
    if db.engine_type == "sqlite":
        async with db.transaction():
            await db.run_ddl("PRAGMA defer_foreign_keys = ON")
            for name in names:
                await db.run_ddl(f'DELETE FROM "{name}"')
    else:
        used = await _pg_tables_in_use(db, names)
        if used:
            await db.run_ddl("TRUNCATE " + ", ".join(f'"{n}"' for n in used) + " RESTART IDENTITY CASCADE")


async def _pg_tables_in_use(db, names: list[str]) -> list[str]:
    """Tables with rows, or whose id sequence has moved: TRUNCATE costs per table (a new file each), and a
    test touches a handful of ~80, so emptying only those halves a PostgreSQL test's set-up. One query."""
    has_rows = " UNION ALL ".join(f"SELECT '{n}' AS t WHERE EXISTS (SELECT 1 FROM \"{n}\")" for n in names)
    moved = ("SELECT left(sequencename, -7) AS t FROM pg_sequences WHERE schemaname = current_schema() "
             "AND sequencename LIKE '%\\_id\\_seq' AND last_value IS NOT NULL")
    rows = await db.run_ddl(f"{has_rows} UNION {moved}")
    known = set(names)
    return sorted({r["t"] for r in rows} & known)


async def reset_database() -> None:
    from core import host
    from core.auth.passwords import hash_password
    from core.db.migrations import migrate
    from core.perms.builtin_roles import sync_builtin_roles
    from core.settings.store import forget_cached

    if not _state["migrated"]:
        if os.environ["WAIHUBAO_DATABASE_URL"].startswith("postgres"):
            await _recreate_pg_schema()
        await migrate()
        _state["migrated"] = True
        _state["password_hash"] = await hash_password(TEST_PASSWORD)
    await _empty_tables()
    forget_cached()
    await sync_builtin_roles(host.current().pm)


@pytest.fixture
async def db() -> AsyncIterator[None]:
    """A migrated database with empty tables, the built-in roles, and a team licence installed.

    PostgreSQL runs without a connection pool here: the test client serves the app on an event loop
    of its own, and a pool belongs to one loop; a connection per query works from any loop.
    """
    from core.db import is_sqlite
    from core.db.engine import open_engine

    install_licence()
    if is_sqlite():
        await open_engine()
    try:
        await reset_database()
        yield
    finally:
        remove_licence()


@pytest.fixture
def make_department(db) -> Callable[..., Awaitable[int]]:
    from core.org.tables import Department

    async def make(name: str, parent_id: int | None = None) -> int:
        rows = await Department.insert(
            Department(name=name, parent=parent_id, created_at=dt.datetime.now(dt.UTC))).returning(Department.id)
        return rows[0]["id"]

    return make


@pytest.fixture
def make_user(db) -> Callable[..., Awaitable[int]]:
    """Insert a user with TEST_PASSWORD (hashed once per run) and one role."""
    from core.auth.tables import User
    from core.perms.tables import Role, UserRole

    async def make(username: str, role: str = "sales", department_id: int | None = None,
                   active: bool = True) -> int:
        rows = await User.insert(User(
            username=username, display_name=username, password_hash=_state["password_hash"],
            department=department_id, active=active, created_at=dt.datetime.now(dt.UTC),
        )).returning(User.id)
        user_id = rows[0]["id"]
        role_row = await Role.select(Role.id).where(Role.key == role).first()
        assert role_row is not None, f"no role {role}"
        await UserRole.insert(UserRole(user=user_id, role=role_row["id"]))
        return user_id

    return make


@pytest.fixture
def actor_for(db):
    from core.auth.actors import load_actor

    async def load(user_id: int):
        return await load_actor(user_id)

    return load


@pytest.fixture
def app(db):
    from core.web.app import create_app

    return create_app(run_jobs=False, manage_engine=False)


@pytest.fixture
def anon_client(app):
    """A test client with nobody signed in."""
    from litestar.testing import AsyncTestClient

    @asynccontextmanager
    async def make():
        async with AsyncTestClient(app=app) as client:
            yield client

    return make


@pytest.fixture
def client_for(app):
    """An async test client signed in as a user (a real session row), with the CSRF header set."""
    from litestar.testing import AsyncTestClient

    from core.auth import sessions

    @asynccontextmanager
    async def make(user_id: int):
        token, csrf = await sessions.create(user_id, "testclient", "pytest")
        async with AsyncTestClient(app=app) as client:
            client.cookies.set(sessions.COOKIE, token)
            client.headers["x-csrf-token"] = csrf
            yield client

    return make
