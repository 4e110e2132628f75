"""Sales benchmark: the opportunity list and the funnel/analysis for a manager's scope, beside plain SQL.

    .venv/bin/python bench/sales.py --size smoke|small|full

full = 200 000 opportunities over 1 000 000 customers. Runs on a scratch SQLite file by default; with
WAIHUBAO_DATABASE_URL=postgresql://… it creates and drops a scratch database next to the one named
(the tests' tables are never touched). Seeding uses bulk loads (executemany / COPY) and is not measured;
every measured path is the application's own code (scope resolution included), and the "plain SQL"
column is the minimal hand-written query for the same result on the same engine.
Prints a table, then (last line) one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import pg_admin, scratch_url

SIZES: dict[str, dict[str, int]] = {
    "smoke": {"customers": 5_000, "opportunities": 2_000, "users": 30, "departments": 10, "repeat": 10},
    "small": {"customers": 100_000, "opportunities": 20_000, "users": 50, "departments": 10, "repeat": 30},
    "full": {"customers": 1_000_000, "opportunities": 200_000, "users": 50, "departments": 10, "repeat": 40},
}
SCRATCH_PG = "waihubao_bench_sales"
STAGES = [("线索收集", 10), ("需求确认", 30), ("方案报价", 50), ("商务谈判", 70), ("赢单", 100), ("输单", 0)]
SOURCES = ["电话营销", "网络", "展会", "转介绍", "老客户", "其他"]
CHUNK = 20_000


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]






class Loader:
    """Bulk seeding: sqlite3 executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")

    async def load(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.sqlite:
            import sqlite3

            conn = sqlite3.connect(self.url.removeprefix("sqlite:///"))
            cols = ",".join(f'"{c}"' for c in columns)
            conn.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({",".join("?" for _ in columns)})',
                             [tuple(v.isoformat() if isinstance(v, dt.date) else v for v in r) for r in rows])
            conn.commit()
            conn.close()
        else:
            import asyncpg

            conn = await asyncpg.connect(self.url)
            try:
                await conn.copy_records_to_table(table, records=rows, columns=columns)
            finally:
                await conn.close()

    async def finish(self, tables: list[str]) -> None:
        if self.sqlite:
            import sqlite3

            conn = sqlite3.connect(self.url.removeprefix("sqlite:///"))
            conn.execute("ANALYZE")
            conn.close()
            return
        for table in tables:
            await pg_admin(self.url, f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
            await pg_admin(self.url, f"ANALYZE {table}")


async def seed_people(size: dict[str, int]) -> tuple[list[dict[str, int | str]], list[int]]:
    from core.auth.tables import User
    from core.org.tables import Department
    from core.perms.tables import Role, UserRole

    now = dt.datetime.now(dt.UTC)
    depts: list[int] = []
    root = (await Department.insert(Department(name="总部", created_at=now)).returning(Department.id))[0]["id"]
    depts.append(root)
    for i in range(size["departments"] - 1):
        parent = root if i < 3 else depts[1 + (i % 3)]
        depts.append((await Department.insert(Department(name=f"部门{i}", parent=parent, created_at=now))
                      .returning(Department.id))[0]["id"])
    roles = {r["key"]: r["id"] for r in await Role.select(Role.id, Role.key)}
    users: list[dict[str, int | str]] = []
    for i in range(size["users"]):
        dept = depts[i % len(depts)]
        role = "manager" if i < len(depts) else "sales"
        uid = (await User.insert(User(username=f"user{i}", display_name=f"用户{i}", password_hash="x", department=dept,
                                      created_at=now)).returning(User.id))[0]["id"]
        await UserRole.insert(UserRole(user=uid, role=roles[role]))
        users.append({"id": uid, "dept": dept, "role": role})
    return users, depts


async def seed_customers(size: dict[str, int], users: list[dict[str, int | str]], loader: Loader) -> None:
    cols = ["id", "kind", "name", "credit_code", "type", "category", "level", "industry", "province", "city", "source",
            "address", "website", "needs", "tags", "custom", "owner", "department", "is_public", "search_text",
            "created_at", "updated_at"]
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(7)
    n = size["customers"]
    for start in range(0, n, CHUNK):
        rows = []
        for cid in range(start + 1, min(n, start + CHUNK) + 1):
            owner = users[rng.randrange(len(users))]
            name = f"客户{cid}贸易有限公司"
            rows.append((cid, "enterprise", name, "", "意向", "", "", "", "", "", "", "", "", "", "", "{}",
                         owner["id"], owner["dept"], False, name.lower(), now, now))
        await loader.load("customers", cols, rows)


async def seed_opportunities(size: dict[str, int], users: list[dict[str, int | str]], loader: Loader) -> int:
    """Opportunities spread over two years, with the stage history their current stage implies."""
    cols = ["id", "number", "name", "customer", "start_date", "expected_close", "stage", "state", "outcome", "source",
            "importance", "type", "probability", "amount_fen", "weighted_x100", "needs", "notes", "custom",
            "search_text", "owner", "department", "closed_on", "cycle_days", "created_at", "updated_at"]
    hcols = ["id", "opportunity", "field", "from_value", "to_value", "user", "at"]
    rng = random.Random(11)
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    n, customers = size["opportunities"], size["customers"]
    hid = 0
    for start in range(0, n, CHUNK):
        rows, history = [], []
        for oid in range(start + 1, min(n, start + CHUNK) + 1):
            owner = users[rng.randrange(len(users))]
            stage_index = min(int(rng.expovariate(0.6)), 5)
            stage, probability = STAGES[stage_index]
            outcome = "won" if stage == "赢单" else "lost" if stage == "输单" else "open"
            state = {"won": "已完成", "lost": "已放弃"}.get(outcome, "跟进中")
            begin = today - dt.timedelta(days=rng.randrange(730))
            closed = begin + dt.timedelta(days=rng.randrange(90)) if outcome != "open" else None
            amount = rng.randrange(0, 50_000_000)
            number = f"XS{begin:%Y%m%d}{oid:05d}"[:20]
            rows.append((oid, number, f"机会{oid}", rng.randrange(1, customers + 1), begin,
                         begin + dt.timedelta(days=rng.randrange(10, 120)), stage, state, outcome,
                         SOURCES[oid % len(SOURCES)], "中", "", probability, amount, amount * probability, "[]", "",
                         "{}", f"{number} | 机会{oid}".lower(), owner["id"], owner["dept"], closed,
                         (closed - begin).days if closed else None, now, now))
            path = [s for s, _ in STAGES[: min(stage_index, 4) + 1]] if stage != "输单" else [
                s for s, _ in STAGES[: rng.randrange(1, 4)]] + ["输单"]
            previous = None
            for step in path:
                hid += 1
                history.append((hid, oid, "stage", previous, step, owner["id"], now))
                previous = step
        await loader.load("sales_opportunities", cols, rows)
        await loader.load("sales_opportunity_history", hcols, history)
    return hid


async def timed(fn: Callable[[int], Awaitable[Any]], repeat: int) -> list[float]:
    await fn(0)
    out = []
    for i in range(repeat):
        t0 = time.perf_counter()
        await fn(i + 1)
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def run(size_name: str) -> dict[str, Any]:
    from core import host
    from core.auth.actors import load_actor
    from core.db import engine
    from core.db.migrations import migrate
    from core.perms.builtin_roles import sync_builtin_roles
    from core.perms.scope import department_subtree
    from plugins.sales import access, analysis, search
    from plugins.sales.reads import reads
    from plugins.sales.schemas import ListQuery
    from plugins.sales.settings import current as current_settings
    from plugins.sales.tables import Opportunity

    size = SIZES[size_name]
    db = engine()
    if db.engine_type != "sqlite":
        await db.start_connection_pool(min_size=1, max_size=4)
    else:
        await db.run_ddl("PRAGMA journal_mode=WAL")
    await migrate()
    await sync_builtin_roles(host.current().pm)
    loader = Loader(os.environ["WAIHUBAO_DATABASE_URL"])
    t0 = time.perf_counter()
    users, depts = await seed_people(size)
    await seed_customers(size, users, loader)
    history_rows = await seed_opportunities(size, users, loader)
    await loader.finish(["customers", "sales_opportunities", "sales_opportunity_history"])
    seed_s = time.perf_counter() - t0

    manager_row = next(u for u in users if u["role"] == "manager" and u["dept"] == depts[1])
    manager = await load_actor(int(manager_row["id"]))
    assert manager is not None and manager.department_id is not None
    subtree = await department_subtree(manager.department_id)
    in_scope = await Opportunity.count().where(await access.opportunity_where(manager, access.ANALYSIS))
    scope_sql = f"(owner = {manager.user_id} OR department IN ({', '.join(map(str, subtree))}))"
    repeat = size["repeat"]
    results: list[dict[str, Any]] = []

    async def row(label: str, app_fn: Callable[[int], Awaitable[Any]], sql_fn: Callable[[int], Awaitable[Any]]) -> None:
        app = await timed(app_fn, repeat)
        plain = await timed(sql_fn, repeat)
        results.append({
            "what": label, "p50_ms": round(pct(app, 50), 2), "p95_ms": round(pct(app, 95), 2),
            "sql_p50_ms": round(pct(plain, 50), 2), "sql_p95_ms": round(pct(plain, 95), 2),
            "ratio_p50": round(pct(app, 50) / max(pct(plain, 50), 1e-6), 2),
        })

    list_cols = ("o.id, o.number, o.name, o.customer, o.stage, o.state, o.source, o.importance, o.type, o.probability, "
                 "o.amount_fen, o.expected_close, o.start_date, o.owner, o.department, o.created_at, o.updated_at, "
                 "c.name AS customer_name, u.display_name AS owner_name")
    joined = scope_sql.replace("owner", "o.owner").replace("department", "o.department")
    join = "FROM sales_opportunities o JOIN customers c ON c.id = o.customer LEFT JOIN users u ON u.id = o.owner"
    await row(
        "list page 1 (50 rows), manager",
        lambda i: search.list_opportunities(manager, ListQuery(limit=50), audit=False),
        lambda i: Opportunity.raw(f"SELECT {list_cols} {join} WHERE {joined} ORDER BY o.id DESC LIMIT 51"),
    )
    await row(
        "list, stage filter + sort by amount",
        lambda i: search.list_opportunities(manager, ListQuery(stage="商务谈判", sort="amount_fen", limit=50),
                                            audit=False),
        lambda i: Opportunity.raw(f"SELECT {list_cols} {join} WHERE {joined} AND o.stage = '商务谈判' "
                                  "ORDER BY o.amount_fen DESC, o.id DESC LIMIT 51"),
    )
    await row(
        "list, keyword (number/name)",
        lambda i: search.list_opportunities(manager, ListQuery(q=f"机会{i + 17}"), audit=False),
        lambda i: Opportunity.raw(f"SELECT {list_cols} {join} WHERE {joined} AND o.search_text LIKE {{}} "
                                  "ORDER BY o.id DESC LIMIT 51", f"%机会{i + 17}%"),
    )

    async def app_funnel(i: int) -> Any:
        async with reads():
            clause = await search.filter_clause(manager, ListQuery(), access.ANALYSIS)
            return await analysis.funnel(clause, await current_settings())

    funnel_sql = ("SELECT stage, COUNT(*) AS n, SUM(amount_fen) AS a, SUM(weighted_x100) AS w "
                  f"FROM sales_opportunities WHERE {scope_sql} GROUP BY stage")
    await row("funnel by stage, manager", app_funnel, lambda i: Opportunity.raw(funnel_sql))

    seq = [s for s, _ in STAGES if s != "输单"]
    cases = " ".join(f"WHEN '{s}' THEN {k}" for k, s in enumerate(seq))
    month = "substr(start_date, 1, 7)" if loader.sqlite else "to_char(start_date, 'YYYY-MM')"

    async def plain_report(i: int) -> None:
        await Opportunity.raw(funnel_sql)
        await Opportunity.raw(
            f"SELECT r, COUNT(*) AS n FROM (SELECT opportunity, MAX(CASE to_value {cases} ELSE -1 END) AS r "
            "FROM sales_opportunity_history WHERE field = 'stage' AND opportunity IN "
            f"(SELECT id FROM sales_opportunities WHERE {scope_sql}) GROUP BY opportunity) t GROUP BY r")
        await Opportunity.raw(
            "SELECT owner, COUNT(*) AS n, SUM(CASE WHEN outcome = 'won' THEN 1 ELSE 0 END) AS won, "
            "SUM(CASE WHEN outcome = 'lost' THEN 1 ELSE 0 END) AS lost, "
            "SUM(CASE WHEN outcome = 'won' THEN amount_fen ELSE 0 END) AS won_fen, "
            "AVG(CASE WHEN outcome = 'won' THEN cycle_days END) AS cycle "
            f"FROM sales_opportunities WHERE {scope_sql} GROUP BY owner")
        await Opportunity.raw(
            f"SELECT {month} AS p, COUNT(*) AS n, SUM(amount_fen) AS a, "
            "SUM(CASE WHEN outcome = 'won' THEN 1 ELSE 0 END) AS won, "
            "SUM(CASE WHEN outcome = 'won' THEN amount_fen ELSE 0 END) AS won_fen "
            f"FROM sales_opportunities WHERE {scope_sql} GROUP BY {month}")

    await row(
        "full analysis (funnel+conversion+owner+month)",
        lambda i: analysis.report(manager, ListQuery(), by="owner", period="month"),
        plain_report,
    )
    if db.engine_type != "sqlite":
        await db.close_connection_pool()
    return {
        "size": size_name, "engine": db.engine_type, "customers": size["customers"],
        "opportunities": size["opportunities"], "history_rows": history_rows, "users": len(users),
        "departments": len(depts), "manager_scope_rows": in_scope, "seed_s": round(seed_s, 1), "queries": results,
    }


def print_table(result: dict[str, Any]) -> None:
    print(f"sales benchmark — {result['engine']}, size {result['size']}: {result['opportunities']:,} opportunities "
          f"over {result['customers']:,} customers, {result['history_rows']:,} history rows, {result['users']} users "
          f"in {result['departments']} departments; manager's scope {result['manager_scope_rows']:,} opportunities "
          f"(seeded in {result['seed_s']} s)")
    head = f"{'query':46} {'p50 ms':>9} {'p95 ms':>9} {'SQL p50':>9} {'SQL p95':>9} {'ratio':>7}"
    print(head)
    print("-" * len(head))
    for q in result["queries"]:
        print(f"{q['what']:46} {q['p50_ms']:9.2f} {q['p95_ms']:9.2f} {q['sql_p50_ms']:9.2f} {q['sql_p95_ms']:9.2f} "
              f"{q['ratio_p50']:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="smoke")
    args = parser.parse_args()
    url, admin = scratch_url(SCRATCH_PG)
    if admin:
        asyncio.run(pg_admin(admin, f"DROP DATABASE IF EXISTS {SCRATCH_PG}"))
        asyncio.run(pg_admin(admin, f"CREATE DATABASE {SCRATCH_PG}"))
    os.environ["WAIHUBAO_DATABASE_URL"] = url
    os.environ.setdefault("PICCOLO_CONF", "core.db.piccolo_conf")
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        result = asyncio.run(run(args.size))
    finally:
        if admin:
            asyncio.run(pg_admin(admin, f"DROP DATABASE IF EXISTS {SCRATCH_PG}"))
        elif url.startswith("sqlite:///"):
            for suffix in ("", "-wal", "-shm"):
                Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
            Path(url.removeprefix("sqlite:///")).parent.rmdir()
    print_table(result)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
