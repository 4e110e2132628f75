"""Customers benchmark: list pages, keyword search, detail, import and export, each beside plain SQL.

    .venv/bin/python bench/customers.py --size smoke|small|full

Runs on a scratch SQLite file by default; with WAIHUBAO_DATABASE_URL=postgresql://… it creates and
drops a scratch database next to the one named (the tests' tables are never touched). Seeding uses
bulk loads (executemany / COPY) for speed; every measured path is the application's own code, and the
"plain SQL" column is the minimal hand-written query for the same result on the same engine.
Prints a table, then (last line) one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import pg_admin, scratch_url

SIZES = {
    "smoke": {"customers": 2_000, "contacts": 3, "users": 50, "departments": 10, "repeat": 15, "import": 500},
    "small": {"customers": 100_000, "contacts": 3, "users": 50, "departments": 10, "repeat": 40, "import": 10_000},
    "full": {"customers": 1_000_000, "contacts": 3, "users": 50, "departments": 10, "repeat": 50, "import": 100_000},
}
SCRATCH_PG = "waihubao_bench_customers"
CITIES = ["珠海", "深圳", "广州", "上海", "杭州", "北京", "成都", "武汉", "南京", "厦门"]
WORDS = ["建慧", "华信", "鼎盛", "远航", "金石", "天成", "宏图", "恒通", "锦程", "新锐", "博雅", "众合"]
TYPES = ["潜在", "意向", "现有", "代理合作", "供应商", "无效"]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]






class Loader:
    """Bulk seeding: sqlite3 executemany on SQLite, COPY on PostgreSQL (seeding only, not measured)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")

    async def load(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.sqlite:
            import sqlite3

            conn = sqlite3.connect(self.url.removeprefix("sqlite:///"))
            cols = ",".join(f'"{c}"' for c in columns)
            marks = ",".join("?" for _ in columns)
            conn.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', rows)
            conn.commit()
            conn.close()
        else:
            import asyncpg

            conn = await asyncpg.connect(self.url)
            try:
                await conn.copy_records_to_table(table, records=rows, columns=columns)
            finally:
                await conn.close()


async def seed(size: dict, loader: Loader) -> dict:
    import datetime as dt

    from core.auth.tables import User
    from core.org.tables import Department
    from core.perms.tables import Role, UserRole

    now = dt.datetime.now(dt.UTC)
    depts: list[int] = []
    root = (await Department.insert(Department(name="总部", created_at=now)).returning(Department.id))[0]["id"]
    depts.append(root)
    for i in range(size["departments"] - 1):
        parent = root if i < 3 else depts[1 + (i % 3)]
        depts.append(
            (
                await Department.insert(Department(name=f"部门{i}", parent=parent, created_at=now)).returning(
                    Department.id
                )
            )[0]["id"]
        )
    roles = {r["key"]: r["id"] for r in await Role.select(Role.id, Role.key)}
    users: list[dict] = []
    for i in range(size["users"]):
        dept = depts[i % len(depts)]
        role = "manager" if i < len(depts) else "sales"
        uid = (
            await User.insert(
                User(username=f"user{i}", display_name=f"用户{i}", password_hash="x", department=dept, created_at=now)
            ).returning(User.id)
        )[0]["id"]
        await UserRole.insert(UserRole(user=uid, role=roles[role]))
        users.append({"id": uid, "dept": dept, "role": role})
    importer_id = (
        await User.insert(
            User(username="importer", display_name="导入员", password_hash="x", department=None, created_at=now)
        ).returning(User.id)
    )[0]["id"]
    await UserRole.insert(UserRole(user=importer_id, role=roles["admin"]))

    rng = random.Random(7)
    n = size["customers"]
    ccols = [
        "id",
        "kind",
        "name",
        "credit_code",
        "type",
        "category",
        "level",
        "industry",
        "province",
        "city",
        "source",
        "address",
        "website",
        "needs",
        "tags",
        "custom",
        "owner",
        "department",
        "is_public",
        "search_text",
        "created_at",
        "updated_at",
    ]
    contact_cols = [
        "id",
        "customer",
        "name",
        "title",
        "role",
        "importance",
        "gender",
        "birthday_md",
        "email",
        "wechat",
        "notes",
        "employed",
        "is_primary",
        "created_at",
    ]
    phone_cols = ["id", "contact", "customer", "e164", "raw"]
    chunk = 20_000
    contact_id = 0
    for start in range(0, n, chunk):
        customers, contacts, phones = [], [], []
        for cid in range(start + 1, min(n, start + chunk) + 1):
            owner = users[rng.randrange(len(users))]
            name = f"{CITIES[cid % 10]}{WORDS[cid % 12]}{cid}贸易有限公司"
            names, digits = [], []
            for k in range(size["contacts"]):
                contact_id += 1
                cname = f"联系人{contact_id}"
                mobile = f"13{(cid * 7 + k) % 10}{cid:08d}"[:11]
                names.append(cname)
                digits.append(mobile)
                contacts.append((contact_id, cid, cname, "", "", "", "", "", "", "", "", True, k == 0, now))
                phones.append((contact_id, contact_id, cid, f"+86{mobile}", mobile))
            search = " | ".join([name, *names, *(f"+86{d} | {d}" for d in digits)]).lower()
            customers.append(
                (
                    cid,
                    "enterprise",
                    name,
                    "",
                    TYPES[cid % 6],
                    "",
                    "ABCD"[cid % 4],
                    "",
                    "广东",
                    CITIES[cid % 10],
                    "",
                    "",
                    "",
                    "",
                    "",
                    "{}",
                    owner["id"],
                    owner["dept"],
                    False,
                    search,
                    now,
                    now,
                )
            )
        await loader.load("customers", ccols, customers)
        await loader.load("customer_contacts", contact_cols, contacts)
        await loader.load("customer_contact_phones", phone_cols, phones)
    if not loader.sqlite:
        for table in ("customers", "customer_contacts", "customer_contact_phones"):
            await pg_admin(
                loader.url, f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
            await pg_admin(loader.url, f"ANALYZE {table}")
    return {"users": users, "depts": depts, "importer": importer_id, "contacts": contact_id}


async def timed(fn, repeat: int) -> list[float]:
    await fn(0)
    out = []
    for i in range(repeat):
        t0 = time.perf_counter()
        await fn(i + 1)
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def run(size_name: str) -> dict:
    import datetime as dt

    import xlsxwriter

    from core import host
    from core.auth.actors import load_actor
    from core.customers import exporter, importer, records, search
    from core.customers.importer import ImportOptions
    from core.customers.schemas import ListQuery
    from core.customers.tables import Customer
    from core.db import engine
    from core.db.migrations import migrate
    from core.perms.builtin_roles import sync_builtin_roles
    from core.perms.scope import department_subtree

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
    world = await seed(size, loader)
    seed_s = time.perf_counter() - t0
    repeat = size["repeat"]
    sales = [u for u in world["users"] if u["role"] == "sales"]
    managers = [u for u in world["users"] if u["role"] == "manager" and u["dept"] == world["depts"][1]]
    sales_actors = [await load_actor(u["id"]) for u in sales[:10]]
    manager = await load_actor(managers[0]["id"])
    subtree = await department_subtree(manager.department_id)
    results: list[dict] = []
    cols = "id, name, type, owner, department, created_at"
    rng = random.Random(11)

    def ph(n: int) -> str:
        return ", ".join("{}" for _ in range(n))

    async def row(label: str, app_fn, sql_fn) -> None:
        app = await timed(app_fn, repeat)
        plain = await timed(sql_fn, repeat)
        results.append(
            {
                "what": label,
                "p50_ms": round(pct(app, 50), 2),
                "p95_ms": round(pct(app, 95), 2),
                "sql_p50_ms": round(pct(plain, 50), 2),
                "sql_p95_ms": round(pct(plain, 95), 2),
                "ratio_p50": round(pct(app, 50) / max(pct(plain, 50), 1e-6), 2),
            }
        )

    def sales_actor(i: int):
        return sales_actors[i % len(sales_actors)]

    await row(
        "list page 1, salesperson (own)",
        lambda i: search.list_customers(sales_actor(i), ListQuery(limit=50), audit=False),
        lambda i: Customer.raw(
            f"SELECT {cols} FROM customers WHERE owner = {{}} ORDER BY id DESC LIMIT 51", sales_actor(i).user_id
        ),
    )
    await row(
        "list page 1, manager (dept subtree)",
        lambda i: search.list_customers(manager, ListQuery(limit=50), audit=False),
        lambda i: Customer.raw(
            f"SELECT {cols} FROM customers WHERE owner = {{}} OR department IN "
            f"({ph(len(subtree))}) ORDER BY id DESC LIMIT 51",
            manager.user_id,
            *subtree,
        ),
    )

    async def own_phone(i: int) -> tuple:
        actor = sales_actor(i)
        found = await Customer.raw(
            "SELECT id FROM customers WHERE owner = {} ORDER BY id LIMIT 1 OFFSET {}", actor.user_id, i % 20
        )
        cid = found[0]["id"]
        phone = (await Customer.raw("SELECT e164 FROM customer_contact_phones WHERE customer = {} LIMIT 1", cid))[0]
        national = phone["e164"][3:]
        return actor, cid, f"{national[:3]} {national[3:7]} {national[7:]}", phone["e164"]

    phone_cases = [await own_phone(i) for i in range(repeat + 1)]
    await row(
        "keyword search by phone (any spelling)",
        lambda i: search.list_customers(phone_cases[i][0], ListQuery(q=phone_cases[i][2]), audit=False),
        lambda i: Customer.raw(
            f"SELECT {cols} FROM customers WHERE owner = {{}} AND id IN (SELECT customer "
            "FROM customer_contact_phones WHERE e164 = {}) ORDER BY id DESC LIMIT 51",
            phone_cases[i][0].user_id,
            phone_cases[i][3],
        ),
    )
    frags = [f"{WORDS[rng.randrange(12)]}{rng.randrange(1, 9)}" for _ in range(repeat + 1)]
    await row(
        "keyword search by name fragment, salesperson",
        lambda i: search.list_customers(sales_actor(i), ListQuery(q=frags[i]), audit=False),
        lambda i: Customer.raw(
            f"SELECT {cols} FROM customers WHERE owner = {{}} AND search_text LIKE {{}} ORDER BY id DESC LIMIT 51",
            sales_actor(i).user_id,
            f"%{frags[i]}%",
        ),
    )
    await row(
        "keyword search by name fragment, manager",
        lambda i: search.list_customers(manager, ListQuery(q=frags[i]), audit=False),
        lambda i: Customer.raw(
            f"SELECT {cols} FROM customers WHERE (owner = {{}} OR department IN "
            f"({ph(len(subtree))})) AND search_text LIKE {{}} ORDER BY id DESC LIMIT 51",
            manager.user_id,
            *subtree,
            f"%{frags[i]}%",
        ),
    )

    async def plain_detail(i: int) -> None:
        actor, cid = phone_cases[i][0], phone_cases[i][1]
        await Customer.raw("SELECT * FROM customers WHERE id = {} AND owner = {}", cid, actor.user_id)
        await Customer.raw("SELECT * FROM customer_contacts WHERE customer = {} ORDER BY id", cid)
        await Customer.raw("SELECT contact, e164 FROM customer_contact_phones WHERE customer = {}", cid)

    await row(
        "customer detail (row + contacts + phones)",
        lambda i: records.detail(phone_cases[i][0], phone_cases[i][1], audit=False),
        plain_detail,
    )

    n_import = size["import"]
    path = Path(tempfile.mkdtemp(prefix="wh-bench-")) / "import.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["客户名称", "联系人", "手机", "客户类型", "客户级别", "城市", "标签"])
    for r in range(1, n_import + 1):
        sheet.write_row(r, 0, [f"导入{WORDS[r % 12]}{r}科技有限公司", f"导入联系人{r}"])
        sheet.write_number(r, 2, float(f"159{r:08d}"))
        sheet.write_row(r, 3, [TYPES[r % 6], "ABCD"[r % 4], CITIES[r % 10], "导入"])
    book.close()
    data = path.read_bytes()
    importer_actor = await load_actor(world["importer"])
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    report = await importer.commit(importer_actor, data, "import.xlsx", ImportOptions(mode="create"))
    import_s = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert report.create == n_import, report.errors[:3]
    rows = [
        (
            10_000_000 + r,
            "enterprise",
            f"plain{r}",
            "",
            "潜在",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "{}",
            world["importer"],
            None,
            False,
            f"plain{r}",
            dt.datetime.now(dt.UTC),
            dt.datetime.now(dt.UTC),
        )
        for r in range(n_import)
    ]
    t0 = time.perf_counter()
    await loader.load(
        "customers",
        [
            "id",
            "kind",
            "name",
            "credit_code",
            "type",
            "category",
            "level",
            "industry",
            "province",
            "city",
            "source",
            "address",
            "website",
            "needs",
            "tags",
            "custom",
            "owner",
            "department",
            "is_public",
            "search_text",
            "created_at",
            "updated_at",
        ],
        rows,
    )
    plain_import_s = time.perf_counter() - t0
    await Customer.delete().where(Customer.id >= 10_000_000)

    t0 = time.perf_counter()
    out_path, exported = await exporter.export(
        importer_actor, ListQuery(view="all", owner_id=world["importer"]), "xlsx"
    )
    export_s = time.perf_counter() - t0
    out_path.unlink()
    t0 = time.perf_counter()
    plain_rows = await Customer.raw("SELECT * FROM customers WHERE owner = {} ORDER BY id", world["importer"])
    buf = io.StringIO()
    csv.writer(buf).writerows([list(r.values()) for r in plain_rows])
    plain_export_s = time.perf_counter() - t0
    if db.engine_type != "sqlite":
        await db.close_connection_pool()
    return {
        "size": size_name,
        "engine": db.engine_type,
        "customers": size["customers"],
        "contacts": world["contacts"],
        "users": len(world["users"]),
        "departments": len(world["depts"]),
        "seed_s": round(seed_s, 1),
        "queries": results,
        "import": {
            "rows": n_import,
            "s": round(import_s, 2),
            "rows_per_s": round(n_import / import_s),
            "peak_rss_mb": round(rss1 / 1024, 1),
            "rss_growth_mb": round((rss1 - rss0) / 1024, 1),
            "plain_sql_s": round(plain_import_s, 2),
            "ratio": round(import_s / max(plain_import_s, 1e-6), 1),
        },
        "export": {
            "rows": exported,
            "s": round(export_s, 2),
            "rows_per_s": round(exported / max(export_s, 1e-6)),
            "plain_sql_csv_s": round(plain_export_s, 2),
            "ratio": round(export_s / max(plain_export_s, 1e-6), 1),
        },
    }


def print_table(result: dict) -> None:
    print(
        f"customers benchmark — {result['engine']}, size {result['size']}: {result['customers']:,} customers, "
        f"{result['contacts']:,} contacts, {result['users']} users in {result['departments']} departments "
        f"(seeded in {result['seed_s']} s)"
    )
    head = f"{'query':44} {'p50 ms':>9} {'p95 ms':>9} {'SQL p50':>9} {'SQL p95':>9} {'ratio':>7}"
    print(head)
    print("-" * len(head))
    for q in result["queries"]:
        print(
            f"{q['what']:44} {q['p50_ms']:9.2f} {q['p95_ms']:9.2f} {q['sql_p50_ms']:9.2f} {q['sql_p95_ms']:9.2f} "
            f"{q['ratio_p50']:7.2f}"
        )
    imp, exp = result["import"], result["export"]
    print(
        f"import {imp['rows']:,} xlsx rows: {imp['s']} s, {imp['rows_per_s']:,} rows/s, peak RSS "
        f"{imp['peak_rss_mb']} MB (+{imp['rss_growth_mb']} MB); plain bulk insert {imp['plain_sql_s']} s "
        f"(ratio {imp['ratio']})"
    )
    print(
        f"export {exp['rows']:,} rows to xlsx: {exp['s']} s, {exp['rows_per_s']:,} rows/s; plain SELECT + csv "
        f"{exp['plain_sql_csv_s']} s (ratio {exp['ratio']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="smoke")
    args = parser.parse_args()
    url, admin = scratch_url(SCRATCH_PG)
    if admin:
        asyncio.run(pg_admin(admin, f"DROP DATABASE IF EXISTS {SCRATCH_PG}"))
        asyncio.run(pg_admin(admin, f"CREATE DATABASE {SCRATCH_PG}"))
    os.environ["WAIHUBAO_DATABASE_URL"] = url
    os.environ.setdefault("PICCOLO_CONF", "core.db.piccolo_conf")
    os.environ.setdefault("WAIHUBAO_EXTRA_PLUGINS", "core.customers.plugin")
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
    print_table(result)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
