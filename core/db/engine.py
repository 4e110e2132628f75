"""The one database engine of the process, chosen by `WAIHUBAO_DATABASE_URL`.

SQLite (the default, `var/waihubao.db`) gets WAL, foreign keys, a 30 s busy timeout and
`synchronous=NORMAL` on every connection; PostgreSQL gets a pool started in the app lifespan.
"""

from __future__ import annotations

import os
import sqlite3
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

DEFAULT_SQLITE = "sqlite:///var/waihubao.db"


def database_url() -> str:
    return os.environ.get("WAIHUBAO_DATABASE_URL") or DEFAULT_SQLITE


def sqlite_path(url: str) -> Path:
    """`sqlite:///var/x.db` is relative to the working directory, `sqlite:////abs/x.db` absolute."""
    return Path(url.removeprefix("sqlite:///"))


class PragmaConnection(sqlite3.Connection):
    """Per-connection pragmas: Piccolo has no hook for them, so the connection class sets them."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA synchronous = NORMAL")
        self.execute("PRAGMA foreign_keys = ON")


def make_engine(url: str) -> Engine:
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=str(path), timeout=30, factory=PragmaConnection)
    if scheme in ("postgres", "postgresql"):
        return PostgresEngine(config={"dsn": url})
    raise ValueError(f"不支持的数据库地址 / unsupported database URL scheme: {scheme!r}")


@cache
def engine() -> Engine:
    return make_engine(database_url())


def is_sqlite() -> bool:
    return engine().engine_type == "sqlite"


async def open_engine() -> None:
    """Start what the engine needs for serving: WAL for SQLite, a pool for PostgreSQL."""
    db = engine()
    if db.engine_type == "sqlite":
        await db.run_ddl("PRAGMA journal_mode=WAL")
    else:
        await db.start_connection_pool(min_size=1, max_size=10)


async def close_engine() -> None:
    db = engine()
    if db.engine_type != "sqlite":
        await db.close_connection_pool()
