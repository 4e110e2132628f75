"""Helpers for the core platform's tests (the project-wide fixtures live in tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner, Result

REPO = Path(__file__).resolve().parents[2]
_apps: dict[tuple, object] = {}


@pytest.fixture
def app(db):
    """The app, built once per set of enabled plugins: building it costs about half a second, and a
    test that changes the licence's modules (so the plugins) gets a fresh one.

    Litestar's AsyncTestClient runs the lifespan on its own event loop (a blocking portal), where the
    PostgreSQL pool opened on the test's loop cannot be used: the migration check is left to
    tests/core/test_migrations.py."""
    from core import host
    from core.web.app import create_app

    key = tuple(name for name, plugin in host.current().pm.list_name_plugin() if plugin is not None)
    if key not in _apps:
        _apps[key] = create_app(run_jobs=False, manage_engine=False, check_migrations=False)
    return _apps[key]


@pytest.fixture
def run_cli(db) -> Callable[..., Awaitable[Result]]:
    """Run `waihubao ARGS…` in-process (click's CliRunner) against the test database.

    The CLI opens and closes the engine on its own event loop, so it runs in a worker thread while
    the test's connection pool (PostgreSQL) is closed, and the pool is reopened afterwards.
    """
    from core.cli import build_cli

    async def run(*args: str, input: str | None = None) -> Result:
        async with engine_without_pool():
            return await anyio.to_thread.run_sync(
                lambda: CliRunner().invoke(build_cli(), list(args), input=input, catch_exceptions=False))

    return run


@asynccontextmanager
async def engine_without_pool() -> AsyncIterator[None]:
    """Close the PostgreSQL pool for a while, so code running on another event loop (the test client's
    lifespan, a CLI run in a thread) opens its own connections; reopened afterwards. No-op on SQLite."""
    from core.db.engine import close_engine, engine, open_engine

    had_pool = getattr(engine(), "pool", None) is not None
    if had_pool:
        await close_engine()
    try:
        yield
    finally:
        if had_pool:
            await open_engine()


def run_waihubao(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """`python -m core ARGS…` in a subprocess (its own process, its own database URL from `env`)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, env=full_env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A fresh SQLite database migrated by `waihubao migrate` in its own process, under a personal licence
    without the sales and SMS modules (their tables must be migrated all the same). Tests copy it."""
    from core.licence import Edition
    from tests.conftest import make_licence_text

    directory = tmp_path_factory.mktemp("migrated")
    lic = directory / "personal.lic"
    lic.write_text(make_licence_text(edition=Edition.PERSONAL, seats=1, modules=["dialer"]))
    path = directory / "template.db"
    done = run_waihubao("migrate", env=sqlite_env(path, lic))
    assert done.returncode == 0, done.stdout + done.stderr
    return path


def sqlite_env(path: Path, licence: Path | None = None) -> dict[str, str]:
    env = {"WAIHUBAO_DATABASE_URL": f"sqlite:///{path}"}
    if licence is not None:
        env["WAIHUBAO_LICENCE_FILE"] = str(licence)
    return env
