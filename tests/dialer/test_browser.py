"""In headless Chromium against a real server with its simulated box (real time): create a campaign from
three customers, start it, take over a call, write a disposition, and find the call record with a
playable recording on the customer's page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.customers.records import create_customer
from core.customers.schemas import CustomerIn
from drivers.ev_fwt785.simulator.audio import tone_wav
from tests.conftest import BROWSER_WAIT_MS, TEST_PASSWORD
from tests.e2e import conftest as e2e
from tests.e2e.conftest import live_server, page, sign_in  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.anyio, pytest.mark.browser, pytest.mark.db]


@pytest.fixture(scope="module", autouse=True)
def _stop_server() -> Iterator[None]:
    """The e2e session hook is not loaded when this file runs alone: stop the server we started."""
    yield
    proc = e2e._server.pop("proc", None)
    e2e._server.pop("url", None)
    if proc is not None:
        proc.terminate()  # type: ignore[attr-defined]
        proc.wait(timeout=10)  # type: ignore[attr-defined]


async def test_campaign_take_over_disposition_and_recording(page, make_user, actor_for, tmp_path: Path):  # noqa: F811
    uid = await make_user("xiaoli")
    actor = await actor_for(uid)
    ids = []
    for k, name in enumerate(["一号客户", "二号客户", "三号客户"], start=1):
        out = await create_customer(actor, CustomerIn(name=name, kind="individual", phones=[f"1370000000{k}"]))
        ids.append(out["id"] if isinstance(out, dict) else out.id)
    prompt = tmp_path / "opening.wav"
    prompt.write_bytes(tone_wav(6.0))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await sign_in(page, "xiaoli", TEST_PASSWORD)

    await page.goto("/dialer/recordings")
    await page.fill("input[name=name]", "开场白")
    await page.set_input_files("input[name=file]", str(prompt))
    await page.click("form[hx-post='/dialer/recordings'] button[type=submit]")
    await page.wait_for_selector("table.grid >> text=开场白")

    await page.goto("/dialer?customers=" + ",".join(map(str, ids)))
    await page.fill("input[name=name]", "三家客户外呼")
    await page.select_option("select[name=recording_id]", index=1)
    await page.check("input[name=always]")
    await page.click("form[hx-post='/dialer/campaigns'] button[type=submit]")
    await page.wait_for_url("**/dialer/campaigns/*")
    console_url = page.url

    await page.wait_for_selector("#lines >> text=放音中", timeout=30_000)
    await page.click("#takeover")
    await page.wait_for_selector("#lines >> text=通话中")
    await page.wait_for_selector("#totals >> text=销售 整理中", timeout=40_000)  # the call is over

    await page.goto(console_url)
    row = page.locator("table.calls tbody tr", has_text="137 0000 0001").first
    await row.locator("select[name=disposition]").select_option("意向")
    await row.locator("input[name=note]").fill("下周报价")
    await row.locator("button").click()
    await page.wait_for_selector("#flash >> text=已保存")

    await page.goto(f"/customers/{ids[0]}")
    await page.click("nav.tabs >> text=通话记录")
    audio = page.locator("#tab-body audio")
    await audio.first.wait_for()
    src = await audio.first.get_attribute("src")
    assert src and src.endswith("/recording")
    response = await page.request.get(src)
    assert response.status == 200 and response.headers["content-type"] == "audio/wav"
    assert (await response.body())[:4] == b"RIFF"
    assert "意向" in await page.locator("#tab-body").inner_text()
    assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors


async def test_record_prompt_in_the_browser_with_a_fake_microphone(live_server, make_user):  # noqa: F811
    """录音 in headless Chromium with its fake microphone (a beep): record ~2 s, stop, upload → a prompt."""
    from playwright.async_api import async_playwright

    if not Path(e2e.CHROMIUM).exists():  # noqa: ASYNC240 (a one-off check before the browser starts)
        pytest.skip("chromium is not installed (make test installs it)")
    await make_user("luyin")
    args = [*e2e.CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=e2e.CHROMIUM, headless=True, args=args)
        context = await browser.new_context(base_url=live_server, locale="zh-CN")
        await context.grant_permissions(["microphone"])
        page = await context.new_page()
        page.set_default_timeout(BROWSER_WAIT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            await sign_in(page, "luyin", TEST_PASSWORD)
            await page.goto("/dialer/recordings")
            await page.fill("input[name=name]", "浏览器录音")
            await page.fill("input[name=handover_s]", "1")
            await page.click("#rec-start")
            await page.wait_for_selector("#rec-stop:not([disabled])")
            await page.wait_for_timeout(2500)
            await page.click("#rec-stop")
            await page.wait_for_selector("#rec-upload:not([disabled])")
            assert await page.locator("#rec-preview").get_attribute("src") or ""
            await page.click("#rec-upload")
            await page.wait_for_selector("table.grid >> text=浏览器录音")
            recs = await (await page.request.get("/api/v1/dialer/recordings")).json()
            rec = next(r for r in recs if r["name"] == "浏览器录音")
            assert 1.5 < rec["duration_s"] < 4.0 and rec["handover_s"] == 1
            wav = await (await page.request.get(f"/api/v1/dialer/recordings/{rec['id']}/audio")).body()
            assert wav[:4] == b"RIFF"
            assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors
        finally:
            await context.close()
            await browser.close()
