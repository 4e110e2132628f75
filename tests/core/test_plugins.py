"""The plugin host: discovery, licence gating, and one test per hook through the example plugin
(tests/example_plugin), which uses every hook the way a third-party package would."""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import subprocess
import sys
import types

import pluggy
import pytest
from litestar.testing import AsyncTestClient

from core import hookspecs, host
from core.hooktypes import CustomerTab, PluginManifest, Reminder
from core.licence import Edition
from core.perms.actor import system_actor
from core.perms.registry import all_permissions
from core.perms.tables import Role
from core.plugins import build, call_published, collect, collect_sync
from tests.conftest import install_licence
from tests.core.conftest import REPO, engine_without_pool
from tests.example_plugin import plugin as example
from tests.example_plugin.tables import ExampleNote

pytestmark = [pytest.mark.anyio, pytest.mark.db]

BUILTIN = ["core", "core-customers", "dialer", "sales", "sms"]


@pytest.fixture(autouse=True)
def _clear_seen():
    for seen in example.SEEN.values():
        seen.clear()


async def make_role(key: str) -> None:
    """A role with no grants at all (for "hidden without the permission")."""
    await Role.insert(Role(key=key, name=key, builtin=False))


# ---- the host --------------------------------------------------------------------------------------


async def test_plugins_api_lists_every_plugin_with_version_and_licence_flag(make_user, client_for):
    admin = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    async with client_for(admin) as c:
        r = await c.get("/api/v1/plugins")
        assert r.status_code == 200
        plugins = {p["name"]: p for p in r.json()}
        assert set(plugins) >= {*BUILTIN, "example"}
        assert all(plugins[name]["enabled"] and plugins[name]["builtin"] for name in BUILTIN)
        assert plugins["example"] == {"name": "example", "title": "示例插件", "version": "9.9.9", "module": None,
                                      "enabled": True, "builtin": False}
        assert all(p["version"] for p in plugins.values())
        assert [p["name"] for p in r.json()][:2] == ["core", "core-customers"]
        page = await c.get("/admin/plugins")
        assert page.status_code == 200 and "示例插件" in page.text and "9.9.9" in page.text
    async with client_for(amy) as c:
        assert (await c.get("/api/v1/plugins")).status_code == 403


async def test_modules_outside_the_licence_are_blocked_before_registration(make_user):
    team_pm = host.current().pm
    sales_plugin = team_pm.get_plugin("sales")
    sales_permissions = {p.key for p in collect_sync(team_pm.hook.permissions)} - {
        p.key for name, plugin in team_pm.list_name_plugin() if plugin is not None and name != "sales"
        for p in (plugin.permissions() if hasattr(plugin, "permissions") else [])}
    sales_paths = sorted({path for handler in (sales_plugin.route_handlers() if hasattr(sales_plugin, "route_handlers")
                                               else []) for path in getattr(handler, "paths", ())})

    install_licence(edition=Edition.PERSONAL, seats=1, modules=["dialer"])
    pm = host.current().pm
    assert host.current().licence.edition is Edition.PERSONAL
    assert pm.get_plugin("sales") is None and pm.is_blocked("sales")
    assert pm.get_plugin("sms") is None and pm.is_blocked("sms")
    assert pm.get_plugin("dialer") is not None and pm.get_plugin("example") is not None
    pm.check_pending()
    keys = {p.key for p in all_permissions(pm)}
    assert keys.isdisjoint(sales_permissions)
    assert "example:read" in keys and "users:read" in keys

    from core.web.app import create_app

    admin = await make_user("boss", "admin")
    from core.auth import sessions

    token, csrf = await sessions.create(admin, "testclient", "pytest")
    async with AsyncTestClient(app=create_app(run_jobs=False, manage_engine=False, check_migrations=False)) as c:
        c.cookies.set(sessions.COOKIE, token)
        c.headers["x-csrf-token"] = csrf
        plugins = {p["name"]: p for p in (await c.get("/api/v1/plugins")).json()}
        assert (plugins["sales"]["enabled"], plugins["sms"]["enabled"], plugins["dialer"]["enabled"]) == (
            False, False, True)
        assert plugins["sales"]["version"], "a blocked plugin still shows its installed version"
        listed = {p["key"] for p in (await c.get("/api/v1/permissions")).json()}
        assert listed.isdisjoint(sales_permissions)
        for path in sales_paths:
            if "{" not in path:
                assert (await c.get(path)).status_code == 404, path
        assert (await c.get("/api/v1/example/notes")).status_code == 200
        home = (await c.get("/")).text
        assert 'href="/sales/' not in home


def test_blocked_modules_are_never_imported(tmp_path):
    """In a fresh process under a personal licence without sales and SMS, their modules are not imported."""
    from tests.conftest import make_licence_text

    lic = tmp_path / "personal.lic"
    lic.write_text(make_licence_text(edition=Edition.PERSONAL, seats=1, modules=["dialer"]))
    code = ("import sys; from core import host; h = host.current(); "
            "print(sorted(n for n, p in h.pm.list_name_plugin() if p is not None)); "
            "print(sorted(m for m in sys.modules if m.startswith('plugins.')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                          env={**os.environ, "WAIHUBAO_LICENCE_FILE": str(lic)})
    enabled, imported = done.stdout.strip().splitlines()[-2:]
    assert enabled == "['core', 'core-customers', 'dialer', 'example']"
    assert "plugins.sales" not in imported and "plugins.sms" not in imported
    assert "plugins.dialer.plugin" in imported


async def test_blocked_modules_keep_their_tables_migrated(db):
    from piccolo.apps.migrations.tables import Migration

    from core.db.migrations import migrate, pending
    from core.db.piccolo_conf import APP_REGISTRY

    install_licence(edition=Edition.PERSONAL, seats=1, modules=[])
    assert host.current().pm.get_plugin("sales") is None
    assert await pending() == []
    assert await migrate() == []
    apps = set(APP_REGISTRY.app_configs)
    assert {"core", "example", "sales", "dialer"} <= apps
    ran = {r["app_name"] for r in await Migration.select(Migration.app_name)}
    assert {"core", "example", "sales", "dialer"} <= ran
    for table in APP_REGISTRY.get_app_config("sales").table_classes:
        assert await table.table_exists(), table._meta.tablename


def test_check_pending_refuses_an_unknown_hook(monkeypatch):
    bad = types.ModuleType("tests_bad_plugin")
    bad.MANIFEST = PluginManifest(name="bad", title="坏插件")

    @hookspecs.hookimpl
    def menu_itemz(actor):  # a misspelt hook
        return []

    bad.menu_itemz = menu_itemz
    monkeypatch.setitem(sys.modules, "tests_bad_plugin", bad)
    monkeypatch.setenv("WAIHUBAO_EXTRA_PLUGINS", "tests.example_plugin.plugin,tests_bad_plugin")
    with pytest.raises(pluggy.PluginValidationError, match="menu_itemz"):
        build(None)


def test_a_plugin_needs_a_manifest(monkeypatch):
    anonymous = types.ModuleType("tests_anonymous_plugin")
    monkeypatch.setitem(sys.modules, "tests_anonymous_plugin", anonymous)
    monkeypatch.setenv("WAIHUBAO_EXTRA_PLUGINS", "tests_anonymous_plugin")
    with pytest.raises(pluggy.PluginValidationError, match="MANIFEST"):
        build(None)


def test_every_hookspec_is_documented():
    specs = [name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "waihubao_spec")]
    assert len(specs) >= 15
    for name in specs:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name


async def test_a_published_hook_is_called_only_when_its_plugin_is_there(db):
    pm = host.current().pm
    assert await call_published(pm, "no_such_published_hook", x=1) is None


# ---- one test per hook -----------------------------------------------------------------------------


async def test_hook_piccolo_apps_adds_a_migrated_table(db):
    from core.db.piccolo_conf import APP_REGISTRY

    assert "tests.example_plugin.piccolo_app" in collect_sync(host.current().pm.hook.piccolo_apps)
    assert ExampleNote in APP_REGISTRY.get_app_config("example").table_classes
    assert await ExampleNote.table_exists()
    await ExampleNote.insert(ExampleNote(text="x"))
    assert await ExampleNote.count() == 1


async def test_hook_route_handlers_and_template_dirs(make_user, client_for):
    amy = await make_user("amy", "sales")
    async with client_for(amy) as c:
        r = await c.post("/api/v1/example/notes", json={"text": "第一条"})
        assert r.status_code == 201
        assert [n["text"] for n in (await c.get("/api/v1/example/notes")).json()] == ["第一条"]
        page = await c.get("/example")
        assert page.status_code == 200 and '<h1 id="example-title">示例插件页面</h1>' in page.text


async def test_hook_permissions_appear_and_are_seeded_into_builtin_roles(make_user, client_for):
    admin = await make_user("boss", "admin")
    async with client_for(admin) as c:
        perms = {p["key"]: p for p in (await c.get("/api/v1/permissions")).json()}
        assert perms["example:read"] == {"key": "example:read", "label": "示例读取", "label_en": "Read examples",
                                         "scoped": True}
        roles = {r["key"]: {g["permission"]: g["scope"] for g in r["grants"]}
                 for r in (await c.get("/api/v1/roles")).json()}
    assert (roles["admin"]["example:read"], roles["manager"]["example:read"], roles["sales"]["example:read"]) == (
        "all", "subtree", "own")


async def test_hook_menu_items_shown_only_with_the_permission(make_user, client_for):
    await make_role("clerk")
    amy = await make_user("amy", "sales")
    clerk = await make_user("carl", "clerk")
    async with client_for(amy) as c:
        home = (await c.get("/")).text
        assert 'href="/example"' in home and "示例" in home
        admin_page = (await c.get("/admin")).text
        assert 'href="/admin/users"' not in admin_page and 'href="/admin/audit"' not in admin_page
    async with client_for(clerk) as c:
        home = (await c.get("/")).text
        assert 'href="/example"' not in home
        assert (await c.get("/example")).status_code == 403
        assert 'href="/admin"' not in home, "no admin entry without any admin item"


async def test_hook_customer_tabs(make_user, actor_for):
    await make_role("clerk")
    actor = await actor_for(await make_user("amy", "sales"))
    tabs = await collect(host.current().pm.hook.customer_tabs, actor=actor)
    assert all(isinstance(t, CustomerTab) for t in tabs)
    example_tab = next(t for t in tabs if t.key == "example")
    assert example_tab.href.format(id=7) == "/example?customer=7" and example_tab.permission == "example:read"


async def test_hook_phone_actions_link_every_shown_number(make_user, actor_for, client_for):
    from core.customers.records import create_customer
    from core.customers.schemas import CustomerIn
    from core.web.action_links import actions_for, render

    uid = await make_user("amy", "sales")
    actor = await actor_for(uid)
    out = await create_customer(actor, CustomerIn(name="张三", kind="individual", phones=["13800138000"]))
    cid = out["id"] if isinstance(out, dict) else out.id
    assert [a.key for a in actions_for(actor)][-1] == "example"  # ordered; the example's order is 50
    async with client_for(uid) as c:
        tab = (await c.get(f"/customers/{cid}/tab/contacts")).text
    assert ">138 0013 8000</a>" in tab, "shown in local format, as a link"
    assert 'href="/example/phone/%2B8613800138000"' in tab
    assert str(render("+8613800138000", [])) == '<span class="phone">138 0013 8000</span>'
    assert "<script>" not in str(render("<script>", actions_for(actor)))


async def test_hook_customer_list_actions_get_the_ticked_or_filtered_customers(make_user, client_for):
    from urllib.parse import parse_qs

    import msgspec

    from core.customers import selection

    await make_role("clerk")
    amy, clerk = await make_user("amy", "sales"), await make_user("carl", "clerk")
    async with client_for(amy) as c:
        page = (await c.get("/customers", params={"view": "mine", "q": "甲", "limit": "20"})).text
    assert 'formaction="/example/bulk"' in page and 'form="bulk-actions"' in page
    carried = re.search(r'name="filter" value="([^"]*)" form="bulk-actions"', page).group(1)
    assert msgspec.json.decode(html.unescape(carried)) == {"view": "mine", "q": "甲"}, "the filter, not the page size"
    picked = selection.from_params({"selection": "filter", "filter": html.unescape(carried)})
    assert picked.filter is not None and picked.filter.q == "甲" and not picked.ids
    ticked = selection.from_params(_multi(parse_qs("selection=ticked&ids=3&ids=5&ids=3&ids=x")))
    assert ticked.ids == [3, 5] and ticked.filter is None
    with pytest.raises(Exception, match="invalid customer filter"):
        selection.from_params({"selection": "filter", "filter": '{"view": "everyone"}'})
    async with client_for(clerk) as c:
        assert (await c.get("/customers")).status_code == 403


class _multi(dict):
    def getall(self, key, default=()):
        return self.get(key, list(default))


async def test_hook_customer_timeline(make_user, client_for):
    """The example plugin's entries show on a real customer's timeline (GET …/timeline collects the hook)."""
    amy = await make_user("amy", "sales")
    async with client_for(amy) as c:
        r = await c.post("/api/v1/customers", json={"name": "时间线测试有限公司"})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        await ExampleNote.insert(ExampleNote(text=f"customer:{cid} 来电咨询"),
                                 ExampleNote(text=f"customer:{cid + 1} 别的客户"))
        r = await c.get(f"/api/v1/customers/{cid}/timeline")
        assert r.status_code == 200
        mine = [e for e in r.json() if e["kind"] == "example"]
    assert [e["title"] for e in mine] == [f"customer:{cid} 来电咨询"]


async def test_hook_reminders_in_the_hub_and_badge(make_user, client_for):
    amy = await make_user("amy", "sales")
    bob = await make_user("bob", "sales")
    await ExampleNote.insert(ExampleNote(text="a", owner=amy), ExampleNote(text="b", owner=amy))
    async with client_for(amy) as c:
        reminders = {r["key"]: r for r in (await c.get("/api/v1/reminders")).json()}
        assert reminders["example"]["count"] == 2 and reminders["example"]["href"] == "/example"
        assert "示例提醒" in (await c.get("/reminders")).text
        badge = (await c.get("/reminders/badge")).text
        assert badge.startswith('<span class="badge">')
    actor = system_actor()
    actor.user_id = bob
    found = await collect(host.current().pm.hook.reminders, actor=actor, today=dt.date(2026, 6, 1))
    assert all(isinstance(r, Reminder) for r in found)
    assert "example" not in {r.key for r in found}


async def test_hook_jobs_run_by_the_scheduler(db):
    from core.jobs import run_due

    jobs = collect_sync(host.current().pm.hook.jobs)
    tick = [j for j in jobs if j.name == "example.tick"]
    assert tick and {"core.purge_old_logs"} <= {j.name for j in jobs}
    now = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
    assert await run_due(tick, now) == ["example.tick"]
    assert await run_due(tick, now + dt.timedelta(seconds=30)) == []
    assert await run_due(tick, now + dt.timedelta(seconds=60)) == ["example.tick"]
    assert example.SEEN["jobs"] == ["ran", "ran"]


async def test_hook_background_tasks_start_with_the_server(db):
    """Started in the app's task group by the lifespan (here with only core, customers and the example
    plugin enabled: a personal licence without modules)."""
    from core.web.app import create_app

    install_licence(edition=Edition.PERSONAL, seats=1, modules=[])
    assert example._background in collect_sync(host.current().pm.hook.background_tasks)
    async with engine_without_pool(), AsyncTestClient(app=create_app(run_jobs=True, manage_engine=False)) as c:
        assert (await c.get("/healthz")).status_code == 200
    assert example.SEEN["background"] == ["started"]


async def test_hook_settings_sections(make_user, client_for):
    admin = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    async with client_for(admin) as c:
        assert (await c.get("/api/v1/settings/example")).json() == {"greeting": "你好", "repeat": 1}
        r = await c.put("/api/v1/settings/example", json={"repeat": 3})
        assert r.status_code == 200 and r.json() == {"greeting": "你好", "repeat": 3}
        assert (await c.get("/api/v1/settings/example")).json()["repeat"] == 3
        assert "示例设置" in (await c.get("/admin/settings")).text
    async with client_for(amy) as c:
        assert (await c.get("/api/v1/settings/example")).status_code == 403


async def test_hook_cli_commands(run_cli):
    result = await run_cli("--help")
    assert "example-hello" in result.output
    result = await run_cli("example-hello")
    assert result.exit_code == 0 and result.output.strip() == "hello from the example plugin"


async def test_hook_event_handlers(db):
    from core.events import publish

    pm = host.current().pm
    assert await publish(pm, "example.ping", {"n": 1}) == 1
    assert await publish(pm, "nobody.listens", {"n": 2}) == 0
    assert await publish(pm, "example.fail", {"n": 3}) == 1, "a failing handler does not stop the next one"
    assert example.SEEN["events"] == [{"n": 1}, ("after-fail", {"n": 3})]


async def test_hook_do_not_contact_and_its_event(db):
    from core import do_not_contact
    from core.hooktypes import DoNotContactAdded

    await ExampleNote.insert(ExampleNote(text="dnc:+8613800000001"))
    assert await do_not_contact.blocked(["+8613800000001", "+8613800000003"]) == {"+8613800000001"}
    assert await do_not_contact.blocked([]) == set()
    await do_not_contact.announce(["+8613800000003"], "example:test")
    assert DoNotContactAdded(numbers=["+8613800000003"], source="example:test") in example.SEEN["events"]


async def test_hook_demo_data_once(db):
    from core.demo import seed_demo

    users = await seed_demo()
    assert users is not None and {"admin", "wangjl", "lixs", "zhaoxs"} <= set(users)
    assert example.SEEN["demo"] == [sorted(users)]
    assert await seed_demo() is None
    assert example.SEEN["demo"] == [sorted(users)], "demo data is seeded once per database"


async def test_hook_handover(make_user, actor_for):
    amy = await make_user("amy", "sales")
    bob = await make_user("bob", "sales")
    await ExampleNote.insert(ExampleNote(text="a", owner=amy), ExampleNote(text="b", owner=amy),
                             ExampleNote(text="c", owner=bob))
    results = await collect(host.current().pm.hook.handover, from_user_id=amy, to_user_id=bob,
                            actor=system_actor("test"))
    assert {"example_notes": 2} in results
    assert await ExampleNote.count().where(ExampleNote.owner == bob) == 3
    assert example.SEEN["handover"] == [(amy, bob)]
