"""Typed settings: defaults, validation with clear errors (nothing saved), the admin page."""

from __future__ import annotations

import msgspec
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
        assert {"core", "example", "dialer", "sales", "sms", "customers"} <= set(before)
        for key in before:
            form_html = page.split(f'hx-post="/admin/settings/{key}"', 1)[1].split("</form>", 1)[0]
            fields = dict(re.findall(r'<input(?: type="number" step="any")? name="(\w+)" value="([^"]*)"', form_html))
            fields.update(re.findall(r'<textarea name="(\w+)"[^>]*>(.*?)</textarea>', form_html, re.S))
            fields.update(re.findall(r'<select name="(\w+)"[^>]*>.*?<option value="([^"]*)" selected', form_html, re.S))
            fields = {k: html.unescape(v) for k, v in fields.items()}
            fields.update({name: "on" for name in re.findall(r'type="checkbox" name="(\w+)" checked', form_html)})
            r = await c.post(f"/admin/settings/{key}", data=fields)
            assert "已保存" in r.text, (key, re.findall(r'class="error"[^>]*>([^<]*)', r.text))
            assert (await c.get(f"/api/v1/settings/{key}")).json() == before[key], key


# ------------------------------------------------------------------ labels, help and actions on the page


def _section_html(page: str, key: str) -> str:
    return page.split(f'id="settings-{key}"', 1)[1].split("</section>", 1)[0]


async def test_page_labels_fields_with_their_titles_and_help(make_user, client_for):
    """Fields show the Struct's Meta(title=…, description=…), not their Python names; the form keeps the names."""
    admin = await make_user("boss", "admin")
    async with client_for(admin) as c:
        page = (await c.get("/admin/settings")).text
        core = _section_html(page, "core")
        assert "操作日志保留天数" in core and "每日清理任务删除更早的操作日志" in core
        assert 'name="audit_retention_days"' in core and ">audit_retention_days<" not in core
        assert 'aria-describedby="help-core-audit_retention_days"' in core
        assert 'id="help-core-audit_retention_days"' in core
        dialer = _section_html(page, "dialer")
        assert "S3 存储桶" in dialer and "留空 = AWS" in dialer and 'name="s3_bucket"' in dialer
        assert "自动记跟进的通话时长" in dialer and ">followup_min_s<" not in dialer
        assert '<option value="local" selected>' in dialer  # a Literal is a choice
        assert "销售阶段" in _section_html(page, "sales") and "每条价格" in _section_html(page, "sms")
        assert ">greeting<" in _section_html(page, "example")  # no title: the name stands in
        assert "重复 (100% = 每次)" in _section_html(page, "example")  # a "%" is text, not a format
        assert "50% 表示一半" in _section_html(page, "example")

        await c.get("/lang/en")
        page = (await c.get("/admin/settings")).text
        core = _section_html(page, "core")
        assert "Keep the operation log for" in core and "a daily clean-up deletes older" in core
        assert "操作日志保留天数" not in core and 'name="audit_retention_days"' in core
        dialer = _section_html(page, "dialer")
        assert "Dialer settings" in dialer and "S3 bucket" in dialer and "Test S3 connection" in dialer
        assert "Sales stages" in _section_html(page, "sales") and "Price per part" in _section_html(page, "sms")


async def test_form_posts_of_annotated_fields_still_save(make_user, client_for):
    """Checkboxes, numbers, choices, lines and JSON of annotated fields save as before; constraints still hold."""
    admin = await make_user("boss", "admin")
    async with client_for(admin) as c:
        r = await c.post("/admin/settings/dialer", data={
            "followup_min_s": "12.5", "create_unknown_customer": "on", "user_max_per_day": "300",
            "recording_store": "s3", "s3_bucket": "calls", "s3_path_style": "on"})
        assert r.status_code == 200 and "已保存" in r.text, r.text[-500:]
        got = (await c.get("/api/v1/settings/dialer")).json()
        assert (got["followup_min_s"], got["create_unknown_customer"], got["user_max_per_day"]) == (12.5, True, 300)
        assert (got["recording_store"], got["s3_bucket"], got["s3_path_style"]) == ("s3", "calls", True)
        assert '<option value="s3" selected>' in _section_html(r.text, "dialer")
        r = await c.post("/admin/settings/dialer", data={"recording_store": "local"})  # unticked = off
        got = (await c.get("/api/v1/settings/dialer")).json()
        assert (got["create_unknown_customer"], got["s3_path_style"], got["s3_bucket"]) == (False, False, "calls")

        r = await c.post("/admin/settings/customers", data={"levels": "甲\n 乙 \n\n丙", "warn_days": "14"})
        assert "已保存" in r.text
        got = (await c.get("/api/v1/settings/customers")).json()
        assert got["levels"] == ["甲", "乙", "丙"] and got["warn_days"] == 14

        stages = '[{"name": "接触", "probability": 10}, {"name": "成交", "probability": 100, "outcome": "won"}]'
        r = await c.post("/admin/settings/sales", data={"stages": stages, "close_warn_days": "30"})
        assert "已保存" in r.text
        got = (await c.get("/api/v1/settings/sales")).json()
        assert [s["name"] for s in got["stages"]] == ["接触", "成交"] and got["close_warn_days"] == 30
        r = await c.post("/admin/settings/sales", data={"close_warn_days": "400"})  # Meta(le=365) still holds
        assert 'class="error"' in r.text and "close_warn_days" in r.text
        assert (await c.get("/api/v1/settings/sales")).json()["close_warn_days"] == 30
        r = await c.post("/admin/settings/core", data={"audit_retention_days": "10"})  # Meta(ge=30)
        assert 'class="error"' in r.text and "&gt;= 30" in r.text


async def test_settings_api_is_unchanged_by_the_annotations(make_user, client_for):
    """Same keys (the field names), same values and defaults, same validation over the JSON API."""
    from plugins.dialer.settings import DialerSettings

    admin = await make_user("boss", "admin")
    async with client_for(admin) as c:
        got = (await c.get("/api/v1/settings/dialer")).json()
        assert got == msgspec.structs.asdict(DialerSettings())
        assert list(got) == [f.name for f in msgspec.structs.fields(DialerSettings)]
        r = await c.put("/api/v1/settings/dialer", json={"s3_region": "cn-hangzhou", "sim_max_per_day": 50})
        assert r.status_code == 200 and r.json()["s3_region"] == "cn-hangzhou" and r.json()["sim_max_per_day"] == 50
        assert (await c.put("/api/v1/settings/dialer", json={"recording_store": "ftp"})).status_code == 400
        r = await c.put("/api/v1/settings/core", json={"session_idle_hours": 100})
        assert r.status_code == 400 and "<= 72" in r.json()["error"]
        assert (await c.get("/api/v1/settings/core")).json() == msgspec.structs.asdict(CoreSettings())


async def _user_with(username: str, *permissions: str, make_user) -> int:
    from core.perms.tables import Role, RoleGrant, UserRole

    user = await make_user(username, "sales")
    role = (await Role.insert(Role(key=f"r_{username}", name=username)).returning(Role.id))[0]["id"]
    for permission in permissions:
        await RoleGrant.insert(RoleGrant(role=role, permission=permission, scope="all"))
    await UserRole.insert(UserRole(user=user, role=role))
    return user


async def test_dialer_section_offers_its_store_check_only_to_who_may_run_it(make_user, client_for):
    admin = await make_user("boss", "admin")
    clerk = await _user_with("clerk", "settings:edit", make_user=make_user)
    dialer_admin = await _user_with("diala", "settings:edit", "dialer:settings", make_user=make_user)
    button = 'hx-post="/dialer/settings/store-check"'
    async with client_for(admin) as c:
        page = (await c.get("/admin/settings")).text
        assert button in _section_html(page, "dialer") and page.count(button) == 1
        assert "测试 S3 连接" in _section_html(page, "dialer")
        r = await c.post("/dialer/settings/store-check")  # no bucket yet: the check says so, as a line of HTML
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert 'class="error"' in r.text and "✗" in r.text and "no S3 bucket" in r.text
    async with client_for(dialer_admin) as c:
        assert button in _section_html((await c.get("/admin/settings")).text, "dialer")
    async with client_for(clerk) as c:
        page = await c.get("/admin/settings")
        assert page.status_code == 200 and 'id="settings-core"' in page.text
        assert button not in page.text and 'id="settings-dialer"' not in page.text
        assert (await c.post("/dialer/settings/store-check")).status_code == 403
