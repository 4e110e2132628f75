"""Browser-free end to end: campaign from three customers through the API, run by the in-process runtime on
a simulated box, the salesperson takes over, writes dispositions; the call record, the recording and the
follow-up on the customer's page are there."""

from __future__ import annotations

import anyio
import pytest

from core.customers.records import create_customer
from core.customers.schemas import CustomerIn
from core.customers.tables import Followup, FollowupAttachment
from drivers.ev_fwt785.simulator import Callee
from plugins.dialer import runtime
from plugins.dialer.tables import Call, Dnc

from .conftest import ALWAYS, add_device, add_recording, drive, make_sim, settle, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_campaign_take_over_disposition_followup(make_user, actor_for, client_for, files_dir):
    uid = await make_user("sally")
    actor = await actor_for(uid)
    ids = []
    for k, name in enumerate(["甲公司", "乙公司", "丙公司"], start=1):
        out = await create_customer(actor, CustomerIn(name=name, kind="individual", phones=[f"1370000000{k}"]))
        ids.append(out["id"] if isinstance(out, dict) else out.id)
    sim = make_sim()
    sim.callees.add("13700000001", Callee(outcome="answer", ring_after=1, answer_after=4, hangup_after=60,
                                          speak_at=(1.0,)))  # speaks early: the salesperson takes over
    sim.callees.add("13700000002", Callee.answers(3, hangup_after=20, ring_after=1))
    sim.callees.add("13700000003", Callee.busy())
    dev = await add_device(sim)
    rec = await add_recording(uid, seconds=10)
    rt = runtime.Runtime(sim.clock.now, tick=0.5)
    async with client_for(uid) as c, anyio.create_task_group() as tg:
        tg.start_soon(rt.serve, {sim.name: (f"sim://{sim.name}", "quectel")})
        await wait_for(lambda: runtime.current() is rt and bool(rt.boxes))
        r = await c.post("/api/v1/dialer/campaigns", json={
            "name": "三家客户", "customer_ids": ids, "recording_id": rec, "devices": [{"device": dev}],
            "config": {**ALWAYS, "retry": {}}, "start": True})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        await wait_for(lambda: cid in rt.runners and rt.runners[cid].state is not None)
        runner = rt.runners[cid]
        await drive(runner, sim.clock, 60, step=1.0,
                    stop_when=lambda: any(ln.status == "prompt" for ln in runner.state.lines.values()))
        sim.advance(2)
        r = await c.post(f"/api/v1/dialer/campaigns/{cid}/takeover", json={})
        assert r.json()["ok"], r.json()
        runner.send(None)
        await settle(runner)
        assert not sim.prompt_playing  # taking over stopped the prompt at once
        await drive(runner, sim.clock, 600)
        assert runner.finished
        calls = (await c.get("/api/v1/dialer/calls", params={"campaign_id": cid})).json()
        by_number = {x["number"][-1]: x for x in calls}
        first, second = by_number["1"], by_number["2"]
        assert first["taken_over"] and first["effective"] and first["has_recording"]
        assert first["customer_id"] == ids[0]
        r = await c.post(f"/api/v1/dialer/calls/{first['id']}/disposition",
                         json={"disposition": "意向", "note": "下周报价", "next_contact": "2026-12-14"})
        assert r.status_code == 200
        r = await c.post(f"/api/v1/dialer/calls/{second['id']}/disposition", json={"disposition": "不要再打"})
        assert r.status_code == 200
        assert await Dnc.exists().where(Dnc.e164 == "+8613700000002")
        audio = await c.get(f"/api/v1/dialer/calls/{first['id']}/recording")
        assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
        page = await c.get(f"/dialer/customer/{ids[0]}/calls")
        assert f"/api/v1/dialer/calls/{first['id']}/recording" in page.text
        tg.cancel_scope.cancel()
    fu = await Followup.select().where(Followup.customer == ids[0])
    assert len(fu) == 1 and "外呼电话" in fu[0]["summary"]
    atts = await FollowupAttachment.select().where(FollowupAttachment.followup == fu[0]["id"])
    assert len(atts) == 1 and atts[0]["content_type"] == "audio/wav"
    row = await Call.select().where(Call.id == first["id"]).first()
    assert row["followup"] == fu[0]["id"] and row["disposition"] == "意向"
    assert runtime.current() is None
