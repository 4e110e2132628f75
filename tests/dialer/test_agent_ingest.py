"""What an agent uploads lands once, in its owner's records only — across server restarts too."""

from __future__ import annotations

import time

import pytest

from plugins.dialer.agent_protocol import Batch, Item, ResultMsg
from plugins.dialer.agent_server import AgentLink, ingest_batch
from plugins.dialer.tables import AgentLink as AgentLinkRow
from plugins.dialer.tables import Call, CampaignNumber

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def _campaign(client_for, uid: int) -> tuple[int, int]:
    async with client_for(uid) as c:
        r = await c.post("/api/v1/dialer/campaigns", json={"name": "上传", "numbers": ["13900000001"],
                                                           "mode": "manual"})
        assert r.status_code == 201, r.text
    cid = r.json()["id"]
    number = await CampaignNumber.select(CampaignNumber.id).where(CampaignNumber.campaign == cid).first()
    return cid, number["id"]


def _started(seq: int, cid: int, number_id: int, user_id: int) -> Item:
    key = f"c{cid}:+8613900000001/{seq}"
    info = {"key": key, "campaign_id": cid, "number_id": number_id, "e164": "+8613900000001", "dial_at": time.time(),
            "device_id": None, "device_name": "box", "slot": 1, "user_id": user_id, "department_id": None}
    return Item(seq=seq, msg=ResultMsg(key=key, campaign=cid, number="+8613900000001", answered=False, cause="",
                                       at=time.time(), detail={"kind": "started", "info": info}))


async def test_high_water_survives_a_server_restart(actor_for, make_user, client_for):
    uid = await make_user("owner1")
    cid, nid = await _campaign(client_for, uid)
    actor = await actor_for(uid)
    batch = Batch(agent="pc", items=[_started(1, cid, nid, uid), _started(2, cid, nid, uid)])
    assert await ingest_batch(AgentLink("pc", actor, ["box"], None), batch) == 2
    # the server restarted: a new link object, the mark comes from the database
    assert await ingest_batch(AgentLink("pc", actor, ["box"], None), batch) == 2
    assert await Call.count().where(Call.campaign == cid) == 2
    row = await AgentLinkRow.select().where(AgentLinkRow.key == f"{uid}:pc").first()
    assert row["high_water"] == 2 and row["user"] == uid


async def test_an_agent_cannot_write_into_another_users_campaign(actor_for, make_user, client_for):
    owner, other = await make_user("owner2"), await make_user("intruder")
    cid, nid = await _campaign(client_for, owner)
    intruder = await actor_for(other)
    batch = Batch(agent="pc", items=[_started(1, cid, nid, owner)])
    assert await ingest_batch(AgentLink("pc", intruder, ["box"], None), batch) == 1  # acknowledged, not applied
    assert await Call.count().where(Call.campaign == cid) == 0


async def test_records_belong_to_the_token_owner_whatever_the_upload_says(actor_for, make_user, client_for):
    owner, someone = await make_user("owner3"), await make_user("someone")
    cid, nid = await _campaign(client_for, owner)
    actor = await actor_for(owner)
    await ingest_batch(AgentLink("pc", actor, ["box"], None), Batch(agent="pc", items=[_started(1, cid, nid, someone)]))
    call = await Call.select(Call.user).where(Call.campaign == cid).first()
    assert call["user"] == owner


async def test_two_users_agents_with_one_name_keep_their_own_marks(actor_for, make_user, client_for):
    a, b = await make_user("alpha"), await make_user("beta")
    (ca, na), (cb, nb) = await _campaign(client_for, a), await _campaign(client_for, b)
    await ingest_batch(AgentLink("pc", await actor_for(a), [], None),
                       Batch(agent="pc", items=[_started(k, ca, na, a) for k in range(1, 6)]))
    assert await ingest_batch(AgentLink("pc", await actor_for(b), [], None),
                              Batch(agent="pc", items=[_started(1, cb, nb, b)])) == 1
    assert await Call.count().where(Call.campaign == cb) == 1


async def test_agent_websocket_requests_are_logged_with_their_real_status(app, make_user):
    """An accepted link logs 101 and a refused one 403 — never a 500 that would page somebody."""
    import anyio
    import structlog
    import uvicorn
    import websockets
    from structlog.testing import capture_logs

    from core.auth import tokens

    from .conftest import wait_for
    from .test_agent import free_port

    uid = await make_user("logger")
    _, token = await tokens.create(uid, "agent")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="error"))
    url = f"ws://127.0.0.1:{port}/api/v1/dialer/agent/ws"
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve)
            await wait_for(lambda: server.started)
            with pytest.raises(websockets.exceptions.InvalidStatus):
                async with websockets.connect(url, additional_headers={"authorization": "Bearer nope"}):
                    pass
            async with websockets.connect(url, additional_headers={"authorization": f"Bearer {token}"}) as ws:
                await ws.send(b'{"agent": "pc", "devices": []}')
                await ws.recv()  # the first Ack
            await wait_for(lambda: sum(e.get("event") == "request" for e in logs) >= 2)
            server.should_exit = True
    statuses = sorted(e["status"] for e in logs if e.get("event") == "request")
    assert statuses == [101, 403]
