"""Users, departments, roles and the scope resolver (own / department / subtree / all)."""

from __future__ import annotations

import datetime as dt

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import host
from core.auth.tables import User
from core.org.tables import Department
from core.perms.registry import all_permissions
from core.perms.tables import Role, RoleGrant, UserRole
from tests.example_plugin.tables import ExampleNote

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_cli_user_create(make_department, run_cli):
    dept = await make_department("销售一部")
    result = await run_cli("user", "create", "carol", "--password", "a fine passphrase", "--role", "manager",
                           "--department", "销售一部", "--display-name", "卡罗尔")
    assert result.exit_code == 0, result.output
    assert "carol" in result.output
    user = await User.select().where(User.username == "carol").first()
    assert (user["display_name"], user["department"], user["active"]) == ("卡罗尔", dept, True)
    assert user["password_hash"].startswith("$argon2id$")
    roles = await UserRole.select(UserRole.role.key.as_alias("key")).where(UserRole.user == user["id"])
    assert [r["key"] for r in roles] == ["manager"]
    result = await run_cli("user", "create", "dave", "--password", "a fine passphrase", "--department", str(dept))
    assert result.exit_code == 0
    for args, message in [
        (["user", "create", "erin", "--password", "a fine passphrase", "--department", "没有这个部门"], "部门不存在"),
        (["user", "create", "erin", "--password", "a fine passphrase", "--role", "boss"], "未知角色"),
        (["user", "create", "carol", "--password", "a fine passphrase"], "用户名已存在"),
        (["user", "create", "erin", "--password", "short"], "至少 8 位"),
    ]:
        result = await run_cli(*args)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
    assert not await User.exists().where(User.username == "erin")


async def test_seeded_roles_have_sensible_grants(db):
    roles = {r["key"]: r for r in await Role.select()}
    assert {key: roles[key]["name"] for key in ("admin", "manager", "sales")} == {
        "admin": "管理员", "manager": "销售经理", "sales": "销售"}
    grants: dict[str, dict[str, str]] = {}
    for g in await RoleGrant.select(RoleGrant.role.key.as_alias("role"), RoleGrant.permission, RoleGrant.scope):
        grants.setdefault(g["role"], {})[g["permission"]] = g["scope"]
    everything = {p.key for p in all_permissions(host.current().pm)}
    assert grants["admin"] == dict.fromkeys(everything, "all")
    manager, sales = grants["manager"], grants["sales"]
    assert manager["customers:read"] == "subtree" and manager["users:read"] == "all"
    assert sales["customers:read"] == "own" and sales["example:read"] == "own"
    for key in ("users:edit", "roles:edit", "audit:read", "settings:edit", "licence:manage", "backup:run"):
        assert key not in manager and key not in sales, key
    assert "customers:assign" not in sales and "users:read" not in sales


async def test_sync_builtin_roles_does_not_overrule_an_admin(db):
    from core.perms.builtin_roles import sync_builtin_roles

    sales = (await Role.select(Role.id).where(Role.key == "sales").first())["id"]
    await RoleGrant.delete().where((RoleGrant.role == sales) & (RoleGrant.permission == "example:read"))
    assert await sync_builtin_roles(host.current().pm) == 0
    assert not await RoleGrant.exists().where((RoleGrant.role == sales) & (RoleGrant.permission == "example:read"))


async def test_roles_api_validates_grants(make_user, client_for):
    admin = await make_user("boss", "admin")
    async with client_for(admin) as c:
        r = await c.post("/api/v1/roles", json={"key": "clerk", "name": "文员",
                                                "grants": [{"permission": "example:read", "scope": "department"}]})
        assert r.status_code == 201 and r.json()["grants"] == [{"permission": "example:read", "scope": "department"}]
        role_id = r.json()["id"]
        r = await c.put(f"/api/v1/roles/{role_id}/grants", json={"grants": [{"permission": "nope:x", "scope": "all"}]})
        assert r.status_code == 400 and "unknown permission" in r.json()["error"]
        r = await c.put(f"/api/v1/roles/{role_id}/grants",
                        json={"grants": [{"permission": "example:read", "scope": "everywhere"}]})
        assert r.status_code == 400 and "unknown scope" in r.json()["error"]
        assert (await c.put("/api/v1/roles/9999/grants", json={"grants": []})).status_code == 404
        r = await c.post("/api/v1/roles", json={"key": "clerk", "name": "again"})
        assert r.status_code == 400 and "已存在" in r.json()["error"]
        r = await c.post("/api/v1/departments", json={"name": "x", "parent_id": 9999})
        assert r.status_code == 400 and "上级部门不存在" in r.json()["error"]


async def grant_role(key: str, scope: str) -> None:
    role = (await Role.insert(Role(key=key, name=key)).returning(Role.id))[0]["id"]
    await RoleGrant.insert(RoleGrant(role=role, permission="example:read", scope=scope))


async def test_scopes_over_example_notes_in_list_and_detail(make_department, make_user, client_for):
    """own ⊂ department ⊂ subtree ⊂ all; outside the scope a note is not listed and its detail is 404."""
    top = await make_department("总部")
    east = await make_department("华东", top)
    shanghai = await make_department("上海", east)
    west = await make_department("华西", top)
    for scope in ("own", "department", "subtree", "all"):
        await grant_role(f"r_{scope}", scope)
    users = {scope: await make_user(f"u_{scope}", f"r_{scope}", east) for scope in ("own", "department", "subtree",
                                                                                  "all")}
    colleague = await make_user("colleague", "r_own", east)
    below = await make_user("below", "r_own", shanghai)
    far = await make_user("far", "r_own", west)
    notes = {}
    for name, owner, dept in [("mine", users["own"], east), ("colleague", colleague, east),
                              ("below", below, shanghai), ("far", far, west), ("nobody", None, None)]:
        notes[name] = (await ExampleNote.insert(ExampleNote(text=name, owner=owner, department=dept))
                       .returning(ExampleNote.id))[0]["id"]
    expected = {"own": {"mine"}, "department": {"mine", "colleague"}, "subtree": {"mine", "colleague", "below"},
                "all": set(notes)}
    for scope, user in users.items():
        async with client_for(user) as c:
            listed = {n["text"] for n in (await c.get("/api/v1/example/notes")).json()}
            assert listed == expected[scope], scope
            for name, note_id in notes.items():
                r = await c.get(f"/api/v1/example/notes/{note_id}")
                assert r.status_code == (200 if name in expected[scope] else 404), (scope, name)
            assert (await c.get("/api/v1/example/notes/99999")).status_code == 404


worlds = st.fixed_dictionaries({
    "parents": st.lists(st.integers(0, 6), max_size=6),
    "users": st.lists(st.tuples(st.sampled_from(["own", "department", "subtree", "all"]), st.integers(-1, 6)),
                      min_size=1, max_size=5),
    "notes": st.lists(st.tuples(st.integers(-1, 5), st.integers(-1, 6)), max_size=10),
})


async def _check_world(world: dict) -> None:
    from litestar.exceptions import NotFoundException

    from core.auth.actors import load_actor
    from core.perms.scope import get_in_scope, scope_where

    await ExampleNote.delete(force=True)
    await UserRole.delete().where(UserRole.user.is_in(
        [u["id"] for u in await User.select(User.id)] or [0]))
    await User.delete(force=True)
    await Department.update({Department.parent: None}, force=True)
    await Department.delete(force=True)
    now = dt.datetime.now(dt.UTC)
    depts: list[int] = []
    parent_of: dict[int, int | None] = {}
    for p in [None, *world["parents"]]:
        parent = depts[p % len(depts)] if p is not None else None
        d = (await Department.insert(Department(name="d", parent=parent, created_at=now))
             .returning(Department.id))[0]["id"]
        depts.append(d)
        parent_of[d] = parent
    roles = {r["key"]: r["id"] for r in await Role.select(Role.id, Role.key)}
    users = []
    for i, (scope, dept_idx) in enumerate(world["users"]):
        dept = depts[dept_idx % len(depts)] if dept_idx >= 0 else None
        uid = (await User.insert(User(username=f"u{i}", display_name="u", password_hash="x", department=dept,
                                      created_at=now)).returning(User.id))[0]["id"]
        await UserRole.insert(UserRole(user=uid, role=roles[f"r_{scope}"]))
        users.append({"id": uid, "scope": scope, "dept": dept})
    notes = []
    for owner_idx, dept_idx in world["notes"]:
        owner = users[owner_idx % len(users)]["id"] if owner_idx >= 0 else None
        dept = depts[dept_idx % len(depts)] if dept_idx >= 0 else None
        nid = (await ExampleNote.insert(ExampleNote(text="n", owner=owner, department=dept))
               .returning(ExampleNote.id))[0]["id"]
        notes.append({"id": nid, "owner": owner, "dept": dept})

    def subtree(root: int) -> set[int]:
        out = {root}
        changed = True
        while changed:
            changed = False
            for d, p in parent_of.items():
                if p in out and d not in out:
                    out.add(d)
                    changed = True
        return out

    for u in users:
        def visible(n: dict, u=u) -> bool:
            if u["scope"] == "all" or n["owner"] == u["id"]:
                return True
            if u["dept"] is None or u["scope"] == "own":
                return False
            if u["scope"] == "department":
                return n["dept"] == u["dept"]
            return n["dept"] in subtree(u["dept"])

        actor = await load_actor(u["id"])
        clause = await scope_where(actor, "example:read", owner=ExampleNote.owner, department=ExampleNote.department)
        query = ExampleNote.select(ExampleNote.id)
        listed = {r["id"] for r in await (query.where(clause) if clause is not None else query)}
        expected = {n["id"] for n in notes if visible(n)}
        assert listed == expected, (u, notes)
        for n in notes:
            try:
                await get_in_scope(actor, "example:read", ExampleNote, n["id"], owner=ExampleNote.owner,
                                   department=ExampleNote.department)
                assert n["id"] in expected
            except NotFoundException:
                assert n["id"] not in expected


async def test_scope_resolver_matches_brute_force(db):
    """Any org chart, any users and grants, any notes: the resolver lists (and finds) exactly what a
    brute-force reading of the four scopes allows."""
    for scope in ("own", "department", "subtree", "all"):
        await grant_role(f"r_{scope}", scope)

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(world=worlds)
    def prop(world: dict) -> None:
        anyio.from_thread.run(_check_world, world)

    await anyio.to_thread.run_sync(prop)
