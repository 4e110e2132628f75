"""A salesperson sends a templated text to two customers through the simulated box and sees both sent."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.browser, pytest.mark.db]


async def test_templated_sms_to_two_customers_through_the_simulated_box(page, make_user, actor_for):
    from core.customers import records
    from core.customers.schemas import ContactIn, CustomerIn
    from core.perms.actor import system_actor
    from core.settings import store
    from plugins.sms import library
    from plugins.sms.config import SECTION
    from plugins.sms.schemas import TemplateIn

    uid = await make_user("boss", role="admin")
    boss = await actor_for(uid)
    for name, contact, phone in (("E2E建慧贸易", "李四", "13800138000"), ("E2E恒信科技", "王五", "13900139000")):
        await records.create_customer(boss, CustomerIn(name=name, contacts=[ContactIn(name=contact, phones=[phone])]))
    template = await library.create(boss, TemplateIn(name="报价跟进", body="{联系人}您好，{客户名称}的报价已发出"))
    # any hour of the day; the box is the server's simulated one (serve --simulated-box)
    await store.save(SECTION, {"hours_start": "00:00", "hours_end": "00:00", "box_url": "", "default_channel": "box"},
                     system_actor("test"))

    await sign_in(page, "boss", TEST_PASSWORD)
    await page.goto("/sms")
    await page.select_option("select[name=template_id]", str(template.id))
    await expect(page.locator("#sms-text")).to_have_value(re.compile("客户名称"))
    await page.fill("input[name=q]", "E2E")
    await page.wait_for_selector("#picker input[name=customer_ids] >> nth=1")
    for box in await page.locator("#picker input[name=customer_ids]").all():
        await box.check()
    await page.click("#preview-button")
    await page.wait_for_selector("#preview-card")
    assert await page.locator("#preview-count").inner_text() == "2"
    assert "李四您好，E2E建慧贸易的报价已发出" in await page.locator("#preview-card").inner_text()
    page.on("dialog", lambda dialog: dialog.accept())
    await page.click("#send-button")
    await page.click("#batch-link")
    # the page polls while messages are queued; the server's worker sends them through the simulated box
    await expect(page.locator("#sms-messages td.state")).to_have_text(["已发送", "已发送"], timeout=20_000)
    text = await page.locator("#sms-messages").inner_text()
    assert "王五您好，E2E恒信科技的报价已发出" in text and "+8613800138000" in text
