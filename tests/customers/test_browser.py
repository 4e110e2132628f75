"""In headless Chromium: create a customer with a contact, record a follow-up, and find the customer
by typing its phone number written differently."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "browser-test-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """A real server (uvicorn) on a free loopback port with its own SQLite file and one salesperson."""
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "WAIHUBAO_DATABASE_URL": f"sqlite:///{tmp_path}/e2e.db",
        "WAIHUBAO_LICENCE_FILE": str(tmp_path / "none.lic"),
        "WAIHUBAO_EXTRA_PLUGINS": "",
    }
    cli = str(bin_dir / "waihubao")
    subprocess.run([cli, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run(
        [cli, "user", "create", "amy", "--password", PASSWORD, "--role", "sales"],
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    proc = subprocess.Popen(
        [cli, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
def test_create_followup_and_find_by_phone(live_server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{live_server}/login")
        page.fill("input[name=username]", "amy")
        page.fill("input[name=password]", PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_url(f"{live_server}/")

        page.goto(f"{live_server}/customers/new")
        page.fill("input[name=name]", "珠海建慧贸易有限公司")
        page.fill("input[name=contact_name]", "李四")
        page.fill("input[name=phones]", "138 0013 8000")
        page.click("form.stack button[type=submit]")
        page.wait_for_url(f"{live_server}/customers/*")
        expect(page.locator("h1")).to_contain_text("珠海建慧贸易有限公司")

        page.fill("#timeline input[name=summary]", "首次电话，客户要报价")
        page.click("#timeline form:first-of-type button[type=submit]")
        expect(page.locator("ol.timeline")).to_contain_text("首次电话，客户要报价")

        page.goto(f"{live_server}/customers")
        page.fill("input[name=q]", "+86 138-0013-8000")
        expect(page.locator("#customer-rows")).to_contain_text("珠海建慧贸易有限公司")
        page.fill("input[name=q]", "没有这个客户")
        expect(page.locator("#customer-rows")).not_to_contain_text("珠海建慧贸易有限公司")
        browser.close()
