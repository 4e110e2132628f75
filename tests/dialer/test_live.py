"""The live console's event stream over a real HTTP server: it opens at once, pushes frames, and keeps
other users' campaigns out."""

from __future__ import annotations

import anyio
import httpx
import pytest
import uvicorn

from core.auth import tokens
from plugins.dialer.live import HUB

from .conftest import wait_for
from .test_agent import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_live_stream_opens_at_once_and_pushes_frames(app, make_user, client_for):
    uid, other = await make_user("lena"), await make_user("otto")
    async with client_for(other) as c:
        r = await c.post("/api/v1/dialer/campaigns", json={"name": "别人的", "mode": "manual",
                                                           "numbers": ["13900000041"]})
        foreign = r.json()["id"]
    _, token = await tokens.create(uid, "live")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="error"))
    headers = {"authorization": f"Bearer {token}"}
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        await wait_for(lambda: server.started)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            r = await client.get("/api/v1/dialer/live", params={"campaign_id": foreign})
            assert r.status_code == 404
            with anyio.fail_after(5):  # before any frame exists, the stream is open
                async with client.stream("GET", "/api/v1/dialer/live") as stream:
                    assert stream.status_code == 200
                    assert stream.headers["content-type"].startswith("text/event-stream")
                    lines = stream.aiter_lines()
                    assert (await anext(lines)).startswith(":")
                    HUB.publish(other, {"campaign": foreign, "kind": "frame", "secret": "no"})
                    HUB.publish(uid, {"campaign": 999, "kind": "alert", "text": "SIM 疑似封停"})
                    seen = []
                    async for line in lines:
                        seen.append(line)
                        if line.startswith("data:"):
                            break
                    assert "event: alert" in seen and "SIM 疑似封停" in seen[-1] and "secret" not in "".join(seen)
        server.should_exit = True
