"""Headless Chromium: an opportunity from a customer page, moved through two stages, seen in the funnel."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.browser, pytest.mark.db]


async def test_opportunity_from_customer_page_through_two_stages_into_the_funnel(page, make_user, make_department,
                                                                                   actor_for):
    from core.customers.records import create_customer
    from core.customers.schemas import CustomerIn

    dept = await make_department("销售一部")
    amy = await make_user("amy", "sales", dept)
    cid = (await create_customer(await actor_for(amy), CustomerIn(name="珠海建慧贸易有限公司")))["id"]

    await sign_in(page, "amy", TEST_PASSWORD)
    await page.goto(f"/customers/{cid}")
    await page.click("nav.tabs a:has-text('销售机会')")
    await page.click("#new-opportunity")
    await page.wait_for_selector("#opp-form")
    await page.fill("#opp-form input[name=name]", "外呼盒子 5 台")
    await page.fill("#opp-form input[name=amount]", "24500.50")
    await page.click("#opp-form button[type=submit]")
    await page.wait_for_url("**/sales/opportunities/*")
    assert await page.locator("#opp-stage").inner_text() == "线索收集"
    assert "24,500.50" in await page.locator("#opp-amount").inner_text()

    await page.click("button[data-stage='需求确认']")
    await page.wait_for_selector("#opp-stage:has-text('需求确认')")
    await page.click("button[data-stage='方案报价']")
    await page.wait_for_selector("#opp-stage:has-text('方案报价')")
    history = await page.locator("#history").inner_text()
    assert "线索收集 → 需求确认" in history and "需求确认 → 方案报价" in history

    await page.goto("/sales/analysis")
    row = page.locator("#funnel tr[data-stage='方案报价']")
    assert await row.locator("td.count").inner_text() == "1"
    assert "24,500.50" in await row.inner_text()
    assert await page.locator("svg.funnel").count() == 1

    await page.goto(f"/customers/{cid}")
    await page.click("nav.tabs a:has-text('销售机会')")
    await page.wait_for_selector("#customer-opportunities >> text=外呼盒子 5 台")
