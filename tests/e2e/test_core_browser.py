"""An administrator signs in, sees the navigation the plugins contribute, and adds a colleague."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.browser, pytest.mark.db]


async def test_admin_signs_in_and_creates_a_user(page, make_user, make_department):
    dept = await make_department("销售一部")
    await make_user("boss", role="admin", department_id=dept)
    await sign_in(page, "boss", TEST_PASSWORD)
    assert await page.locator("header .main-nav").inner_text()
    await page.goto("/admin/users")
    await page.fill("input[name=username]", "xiaowang")
    await page.fill("input[name=display_name]", "小王")
    await page.fill("input[name=password]", "a-long-password-1")
    await page.select_option("select[name=department_id]", str(dept))
    await page.click("form[hx-post='/admin/users'] button[type=submit]")
    await page.wait_for_selector("text=已创建 xiaowang")
    assert await page.locator("table.grid >> text=小王").count() == 1


async def test_wrong_password_shows_a_message_and_english_is_one_click_away(page, make_user):
    await make_user("amy")
    await page.goto("/login")
    await page.fill("input[name=username]", "amy")
    await page.fill("input[name=password]", "not the password")
    await page.click("button[type=submit]")
    await page.wait_for_selector("p.error")
    assert "用户名或密码错误" in await page.locator("p.error").inner_text()
    await page.click("text=English")
    await page.wait_for_selector("button:has-text('Sign in')")


async def test_example_plugin_page_and_menu_item(page, make_user):
    await make_user("boss", role="admin")
    await sign_in(page, "boss", TEST_PASSWORD)
    await page.click("header .main-nav >> text=示例")
    await page.wait_for_selector("#example-title")
