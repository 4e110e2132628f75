"""Core platform figures: authenticated GET /api/v1/plugins and the login round trip (requests/s,
p50/p95) through a real server on SQLite and PostgreSQL, beside /healthz (the same stack with no
auth and no query: our ceiling); and the cost of the audit write (a write with audit vs without).

    python bench/core.py --size smoke|small|full [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    Server,
    bench_env,
    emit,
    percentile,
    postgres_available,
    scratch_database,
    table,
    waihubao,
)

SIZES = {"smoke": (40, 4, 20), "small": (1000, 16, 200), "full": (10000, 32, 2000)}
PASSWORD = "bench-password-2026"


async def _load(url: str, path: str, n: int, concurrency: int, **request) -> tuple[float, list[float], int]:
    import httpx

    latencies: list[float] = []
    errors = 0
    queue = list(range(n))

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        if "login" in request:
            creds = request.pop("login")
            r = await client.post("/api/v1/auth/login", json=creds)
            r.raise_for_status()

        async def worker() -> None:
            nonlocal errors
            while queue:
                queue.pop()
                started = time.perf_counter()
                r = await client.request(request.get("method", "GET"), path, json=request.get("json"))
                latencies.append((time.perf_counter() - started) * 1000)
                if r.status_code >= 400:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return n / elapsed, latencies, errors


async def _audit_cost(n: int) -> tuple[float, float]:
    """Seconds per write of one department row, without and with its audit row, in one process."""
    import datetime as dt

    from core.audit.log import record
    from core.db import write_tx
    from core.db.engine import close_engine, open_engine
    from core.org.tables import Department
    from core.perms.actor import system_actor

    actor = system_actor("bench")
    await open_engine()
    try:
        timings = {}
        for audited in (False, True, False, True):  # the first pair warms up; the second is measured
            started = time.perf_counter()
            for i in range(n):
                async with write_tx():
                    rows = await Department.insert(Department(name=f"d{i}", created_at=dt.datetime.now(dt.UTC))
                                                   ).returning(Department.id)
                    if audited:
                        await record(actor, "create", "department", rows[0]["id"], diff={"name": [None, f"d{i}"]})
            timings[audited] = (time.perf_counter() - started) / n
        return timings[False], timings[True]
    finally:
        await close_engine()


def run_one(kind: str, size: str) -> dict:
    requests, concurrency, logins = SIZES[size]
    url = scratch_database(kind, "waihubao_bench_core")
    env = bench_env(url)
    waihubao(env, "migrate")
    waihubao(env, "user", "create", "benchadmin", "--password", PASSWORD, "--role", "admin")
    server = Server(env)
    try:
        creds = {"username": "benchadmin", "password": PASSWORD}
        health = asyncio.run(_load(server.url, "/healthz", requests, concurrency))
        plugins = asyncio.run(_load(server.url, "/api/v1/plugins", requests, concurrency, login=dict(creds)))
        login = asyncio.run(_load(server.url, "/api/v1/auth/login", logins, min(concurrency, 8),
                                  method="POST", json=creds))
    finally:
        server.stop()
    os.environ["WAIHUBAO_DATABASE_URL"] = url
    plain, audited = asyncio.run(_audit_cost(max(20, requests // 10)))
    rows = []
    figures = {}
    for name, (rps, lat, errors) in {"healthz (ceiling)": health, "GET /api/v1/plugins": plugins,
                                      "login round trip": login}.items():
        rows.append([name, rps, percentile(lat, 50), percentile(lat, 95), errors])
        key = name.split(" ")[0].strip("/").replace("/", "_") if "plugins" not in name else "plugins"
        figures[f"{kind}.{key}.rps"] = round(rps, 1)
        figures[f"{kind}.{key}.p50_ms"] = round(percentile(lat, 50), 2)
        figures[f"{kind}.{key}.p95_ms"] = round(percentile(lat, 95), 2)
        figures[f"{kind}.{key}.errors"] = errors
    table(f"{kind}: {requests} requests, {concurrency} concurrent (login: {logins})",
          ["endpoint", "req/s", "p50 ms", "p95 ms", "errors"], rows)
    table(f"{kind}: audit write cost", ["write", "ms per write"],
          [["without audit", plain * 1000], ["with audit", audited * 1000], ["ratio", audited / plain]])
    figures[f"{kind}.audit.ratio"] = round(audited / plain, 2)
    figures[f"{kind}.audit.ms_with"] = round(audited * 1000, 3)
    figures[f"{kind}.audit.ms_without"] = round(plain * 1000, 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=list(SIZES), default="small")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in kinds and not postgres_available():
        print("PostgreSQL is not reachable on 127.0.0.1:5432: skipping it")
        kinds.remove("postgres")
    figures: dict = {"size": args.size}
    for kind in kinds:
        figures.update(run_one(kind, args.size))
    emit(figures)


if __name__ == "__main__":
    main()
