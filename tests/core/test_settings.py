"""Typed settings: defaults, validation with clear errors (nothing saved), the admin page."""

from __future__ import annotations

import pytest

from core import host
from core.audit.tables import AuditEvent
from core.settings.core_settings import CoreSettings
from core.settings.store import load, section_for
from core.settings.tables import Setting

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_typed_defaults_load_without_a_row(db):
    value = await load(section_for(host.current().pm, "core"))
    assert value == CoreSettings()
    assert value.timezone == "Asia/Shanghai" and value.audit_retention_days == 365


@pytest.mark.parametrize(("body", "message"), [
    ({"no_such_setting": 1}, "unknown setting: no_such_setting"),
    ({"audit_retention_days": "many"}, "audit_retention_days"),
    ({"audit_retention_days": "400"}, "audit_retention_days"),
    ({"audit_retention_days": 5}, ">= 30"),
    ({"company_name": 123}, "company_name"),
    ({"session_idle_hours": True}, "session_idle_hours"),
    ({"default_region": "CHN"}, "default_region"),
])
async def test_invalid_settings_are_refused_and_nothing_is_saved(make_user, client_for, body, message):
    admin = await make_user("boss", "admin")
    async with client_for(admin) as c:
        r = await c.put("/api/v1/settings/core", json=body)
        assert r.status_code == 400
        assert message in r.json()["error"]
        assert (await c.get("/api/v1/settings/core")).json()["audit_retention_days"] == 365
    assert not await Setting.exists().where(Setting.key == "core")
    assert not await AuditEvent.exists().where(AuditEvent.entity == "settings")


async def test_valid_settings_are_saved_and_audited(make_user, client_for):
    admin = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    async with client_for(admin) as c:
        r = await c.put("/api/v1/settings/core", json={"company_name": "某某科技", "audit_retention_days": 400})
        assert r.status_code == 200
        assert r.json()["company_name"] == "某某科技" and r.json()["timezone"] == "Asia/Shanghai"
        assert (await c.put("/api/v1/settings/nothing", json={})).status_code == 404
    saved = await load(section_for(host.current().pm, "core"))
    assert (saved.company_name, saved.audit_retention_days) == ("某某科技", 400)
    row = await AuditEvent.select().where(AuditEvent.entity == "settings").first()
    assert row["entity_id"] == "core" and '"audit_retention_days":[365,400]' in row["diff"]
    async with client_for(amy) as c:
        assert (await c.put("/api/v1/settings/core", json={"company_name": "x"})).status_code == 403
        assert (await c.get("/api/v1/settings/core")).status_code == 403


async def test_admin_settings_page_form_saves_and_shows_errors(make_user, client_for):
    admin = await make_user("boss", "admin")
    async with client_for(admin) as c:
        page = await c.get("/admin/settings")
        assert page.status_code == 200 and 'name="audit_retention_days"' in page.text
        form = {"company_name": "表单公司", "timezone": "Asia/Shanghai", "default_region": "CN",
                "audit_retention_days": "500", "login_log_retention_days": "365", "session_idle_hours": "8"}
        r = await c.post("/admin/settings/core", data=form)
        assert r.status_code == 200 and "已保存" in r.text and 'value="表单公司"' in r.text
        r = await c.post("/admin/settings/core", data={**form, "audit_retention_days": "abc"})
        assert r.status_code == 200 and 'class="error"' in r.text and "audit_retention_days" in r.text
    saved = await load(section_for(host.current().pm, "core"))
    assert (saved.company_name, saved.audit_retention_days, saved.session_idle_hours) == ("表单公司", 500, 8)


async def test_every_section_saves_unchanged_from_its_own_form(make_user, client_for):
    """Whatever field types a plugin's Struct has (lists included), the page's form round-trips them."""
    import html
    import re

    admin = await make_user("boss", "admin")
    async with client_for(admin) as c:
        page = (await c.get("/admin/settings")).text
        before = {key: (await c.get(f"/api/v1/settings/{key}")).json()
                  for key in re.findall(r'hx-post="/admin/settings/([\w-]+)"', page)}
        assert {"core", "example"} <= set(before)
        for key in before:
            form_html = page.split(f'hx-post="/admin/settings/{key}"', 1)[1].split("</form>", 1)[0]
            fields = dict(re.findall(r'<input(?: type="number" step="any")? name="(\w+)" value="([^"]*)"', form_html))
            fields.update(re.findall(r'<textarea name="(\w+)"[^>]*>(.*?)</textarea>', form_html, re.S))
            fields = {k: html.unescape(v) for k, v in fields.items()}
            fields.update({name: "on" for name in re.findall(r'type="checkbox" name="(\w+)" checked', form_html)})
            r = await c.post(f"/admin/settings/{key}", data=fields)
            assert "已保存" in r.text, (key, re.findall(r'class="error"[^>]*>([^<]*)', r.text))
            assert (await c.get(f"/api/v1/settings/{key}")).json() == before[key], key
