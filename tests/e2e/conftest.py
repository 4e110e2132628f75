"""Browser tests: a real server process on a free port, driven by Playwright in Debian's Chromium.

The server shares the test database and licence (through the environment set in tests/conftest.py);
data is arranged with the usual fixtures (`make_user`, …) before the page is opened.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import BROWSER_WAIT_MS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
_server: dict[str, object] = {}

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server() -> str:
    port = _free_port()
    env = dict(os.environ, WAIHUBAO_PORT=str(port))
    proc = subprocess.Popen([sys.executable, "-m", "core", "serve", "--port", str(port), "--simulated-box"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited: " + proc.stdout.read().decode(errors="replace")[-2000:])
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            _server["proc"] = proc
            return url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start within 30 s")


@pytest.fixture
def live_server(db) -> str:
    """The base URL of a running server (one per test run; data comes from the test's fixtures)."""
    if "url" not in _server:
        _server["url"] = _start_server()
    return str(_server["url"])


def _stop_server() -> None:
    proc = _server.pop("proc", None)
    _server.pop("url", None)
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module", autouse=True)
def _server_ends_with_the_module():
    """The server runs background workers (SMS queue, dialer) on the shared test database: it must not
    outlive the browser tests and act on rows later tests create."""
    yield
    _stop_server()


def pytest_sessionfinish(session, exitstatus) -> None:
    _stop_server()


@pytest.fixture
async def page(live_server) -> AsyncIterator[object]:
    if not Path(CHROMIUM).exists():  # noqa: ASYNC240 (a one-off check before the browser starts)
        pytest.skip("chromium is not installed (make test installs it)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = await browser.new_context(base_url=live_server, locale="zh-CN")
        page = await context.new_page()
        page.set_default_timeout(BROWSER_WAIT_MS)
        try:
            yield page
        finally:
            await context.close()
            await browser.close()


async def sign_in(page, username: str, password: str) -> None:
    await page.goto("/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: "/login" not in url)
