"""Property: whatever the org chart, roles, shares, pools and types, no list, search, count, detail,
analysis, export or contact list ever shows a customer outside the caller's scope (nor hides one in it)."""

from __future__ import annotations

import datetime as dt

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.exceptions import NotFoundException

pytestmark = pytest.mark.db

TYPES = ["潜在", "意向", "现有"]

worlds = st.fixed_dictionaries(
    {
        "parents": st.lists(st.integers(min_value=0, max_value=5), min_size=0, max_size=4),
        "users": st.lists(
            st.tuples(st.sampled_from(["sales", "manager", "admin"]), st.integers(-1, 4)), min_size=1, max_size=5
        ),
        "sales_types": st.sampled_from(["", "潜在", "潜在,意向"]),
        "customers": st.lists(
            st.tuples(st.integers(-1, 4), st.sampled_from(TYPES), st.booleans()), min_size=0, max_size=8
        ),
        "shares": st.lists(
            st.tuples(st.integers(0, 7), st.booleans(), st.integers(0, 4), st.sampled_from(["read", "edit"])),
            max_size=4,
        ),
    }
)


async def _reset() -> None:
    """Empty every table (the same as the `db` fixture does between tests) and re-seed the roles."""
    from piccolo.apps.migrations.tables import Migration

    from core import host
    from core.db import engine
    from core.db.piccolo_conf import APP_REGISTRY
    from core.perms.builtin_roles import sync_builtin_roles

    names = [
        t._meta.tablename for app in APP_REGISTRY.app_configs.values() for t in app.table_classes if t is not Migration
    ]
    db = engine()
    if db.engine_type == "sqlite":
        async with db.transaction():
            await db.run_ddl("PRAGMA defer_foreign_keys = ON")
            for name in names:
                await db.run_ddl(f'DELETE FROM "{name}"')
    else:
        await db.run_ddl("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")
    await sync_builtin_roles(host.current().pm)


async def _check(world: dict) -> None:
    from core.auth.actors import load_actor
    from core.auth.tables import User
    from core.customers import analysis, exporter, pool, records, search
    from core.customers.schemas import CustomerIn, CustomerPatch, ListQuery
    from core.customers.tables import Customer
    from core.org.tables import Department
    from core.perms.actor import system_actor
    from core.perms.tables import Role, UserRole

    await _reset()
    system = system_actor("test")
    now = dt.datetime.now(dt.UTC)
    depts: list[int] = []
    parent_of: dict[int, int | None] = {}
    root = (await Department.insert(Department(name="root", created_at=now)).returning(Department.id))[0]["id"]
    depts.append(root)
    parent_of[root] = None
    for p in world["parents"]:
        parent = depts[p % len(depts)]
        d = (await Department.insert(Department(name="d", parent=parent, created_at=now)).returning(Department.id))[0][
            "id"
        ]
        depts.append(d)
        parent_of[d] = parent
    await Role.update({Role.customer_types: world["sales_types"]}).where(Role.key == "sales")
    users = []
    for i, (role, dept_idx) in enumerate(world["users"]):
        dept = depts[dept_idx % len(depts)] if dept_idx >= 0 else None
        uid = (
            await User.insert(
                User(username=f"u{i}", display_name=f"u{i}", password_hash="x", department=dept, created_at=now)
            ).returning(User.id)
        )[0]["id"]
        role_id = (await Role.select(Role.id).where(Role.key == role).first())["id"]
        await UserRole.insert(UserRole(user=uid, role=role_id))
        users.append({"id": uid, "role": role, "dept": dept})
    customers = []
    for j, (owner_idx, ctype, public) in enumerate(world["customers"]):
        owner = users[owner_idx % len(users)] if owner_idx >= 0 else None
        cid = (
            await records.create_customer(
                system,
                CustomerIn(
                    name=f"客户{j}", type=ctype, owner_id=owner["id"] if owner else None, phones=[f"1380013{j:04d}"]
                ),
            )
        )["id"]
        if public:
            await records.update_customer(system, cid, CustomerPatch(is_public=True))
        customers.append(
            {
                "id": cid,
                "owner": owner,
                "type": ctype,
                "public": public,
                "dept": owner["dept"] if owner else None,
                "pooled": False,
                "shares": [],
            }
        )
    pooled = [c for c in customers if c["owner"] is None]
    if pooled:
        pid = await pool.default_pool_id()
        await Customer.update({Customer.pool: pid}).where(Customer.id.is_in([c["id"] for c in pooled]))
        for c in pooled:
            c["pooled"] = True
    for cust_idx, to_user, target_idx, level in world["shares"]:
        if not customers:
            break
        c = customers[cust_idx % len(customers)]
        if to_user:
            u = users[target_idx % len(users)]
            await records.share(system, c["id"], user_id=u["id"], department_id=None, level=level)
            c["shares"].append(("user", u["id"]))
        else:
            d = depts[target_idx % len(depts)]
            await records.share(system, c["id"], user_id=None, department_id=d, level=level)
            c["shares"].append(("dept", d))

    def subtree(dept: int) -> set[int]:
        out, changed = {dept}, True
        while changed:
            changed = False
            for d, p in parent_of.items():
                if p in out and d not in out:
                    out.add(d)
                    changed = True
        return out

    for u in users:
        actor = await load_actor(u["id"])
        allowed_types = [t for t in world["sales_types"].split(",") if t] if u["role"] == "sales" else []

        def visible(c: dict, u=u, allowed_types=allowed_types) -> bool:
            if allowed_types and c["type"] not in allowed_types:
                return False
            if u["role"] == "admin":
                return True
            owner_id = c["owner"]["id"] if c["owner"] else None
            if owner_id == u["id"]:
                return True
            if u["role"] == "manager" and u["dept"] is not None and c["dept"] in subtree(u["dept"]):
                return True
            if c["public"] or c["pooled"]:
                return True
            return ("user", u["id"]) in c["shares"] or (u["dept"] is not None and ("dept", u["dept"]) in c["shares"])

        expected = {c["id"] for c in customers if visible(c)}
        listed = {r.id for r in (await search.list_customers(actor, ListQuery(view="all", limit=500))).items}
        assert listed == expected, (u, listed, expected)
        found = {r.id for r in (await search.list_customers(actor, ListQuery(view="all", q="客户", limit=500))).items}
        assert found == expected
        assert await search.count_customers(actor, ListQuery(view="all")) == len(expected)
        for c in customers:
            try:
                await records.detail(actor, c["id"], audit=False)
                assert c["id"] in expected
            except NotFoundException:
                assert c["id"] not in expected
        counted = await analysis.counts(actor, "type", ListQuery(view="all"))
        assert sum(r["count"] for r in counted) == len(expected)
        path, n = await exporter.export(actor, ListQuery(view="all"), "csv")
        path.unlink()
        assert n == len(expected)
        contacts = await records.list_contacts(actor, limit=500)
        assert {c.customer_id for c in contacts} <= expected
        if customers:
            phone = f"+86 138 0013 {0:04d}"
            hit = {r.id for r in (await search.list_customers(actor, ListQuery(view="all", q=phone))).items}
            assert hit == {customers[0]["id"]} & expected


@pytest.mark.anyio
async def test_no_path_leaks_a_customer_outside_scope(db):
    """Hypothesis drives the examples from a worker thread; each runs on the test's own event loop."""

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(world=worlds)
    def prop(world: dict) -> None:
        anyio.from_thread.run(_check, world)

    await anyio.to_thread.run_sync(prop)
