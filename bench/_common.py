"""Shared bench helpers: percentiles, a table printer, scratch databases, a server subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("WAIHUBAO_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    cells = [header] + [[f"{c:.2f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def emit(figures: dict) -> None:
    print(json.dumps(figures, ensure_ascii=False, sort_keys=True))


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def scratch_database(kind: str, name: str) -> str:
    """A fresh, empty database URL of `kind` (sqlite file in a temp dir, or a recreated PG database)."""
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix=f'{name}-')}/bench.db"
    import asyncio

    import asyncpg

    async def recreate() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env(database_url: str) -> dict[str, str]:
    tmp = tempfile.mkdtemp(prefix="waihubao-bench-")
    return dict(os.environ, WAIHUBAO_DATABASE_URL=database_url, WAIHUBAO_LICENCE_FILE=f"{tmp}/licence.lic",
                PYTHONPATH=str(ROOT))


def waihubao(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "core", *args], env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


class Server:
    """`waihubao serve` in a subprocess on a free port."""

    def __init__(self, env: dict[str, str], log: Path | None = None) -> None:
        """`log`: a file for the server's output (stdout and stderr), else it is discarded."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        out = log.open("ab") if log is not None else subprocess.DEVNULL
        self.proc = subprocess.Popen([sys.executable, "-m", "core", "serve", "--port", str(self.port)], env=env,
                                     cwd=ROOT, stdout=out, stderr=subprocess.STDOUT if log is not None else out)
        if log is not None:
            out.close()  # the child holds its own copy
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def scratch_url(database: str) -> tuple[str, str | None]:
    """(URL to use, admin URL for CREATE/DROP DATABASE or None for SQLite): a scratch PostgreSQL database
    named `database` beside the one in WAIHUBAO_DATABASE_URL, else a fresh SQLite file."""
    base = os.environ.get("WAIHUBAO_DATABASE_URL", "")
    if base.startswith(("postgres://", "postgresql://")):
        return urlunparse(urlparse(base)._replace(path=f"/{database}")), base
    return f"sqlite:///{Path(tempfile.mkdtemp(prefix=f'{database}-')) / 'bench.db'}", None


async def pg_admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
