"""One do-not-contact answer across modules: an SMS 退订 is never called, a "不要再打" is never texted, and a
campaign already dialing drops a number the moment its owner texts 退订."""

from __future__ import annotations

import anyio
import pytest

from drivers.ev_fwt785.simulator import Callee
from plugins.dialer import runtime
from plugins.dialer.tables import Call, CampaignNumber
from plugins.sms import optout
from tests.sms.conftest import save_settings

from .conftest import ALWAYS, add_device, add_recording, drive, make_sim, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_an_sms_opt_out_is_never_called(make_user, client_for, files_dir):
    uid = await make_user("tina")
    await optout.add("13900000011", source="reply", actor=None, note="TD")
    async with client_for(uid) as c:
        r = await c.post("/api/v1/dialer/campaigns", json={"name": "含退订", "mode": "manual",
                                                           "numbers": ["13900000011", "13900000012"]})
        assert r.status_code == 201, r.text
        assert (r.json()["total"], r.json()["removed_dnc"]) == (1, 1)
        r = await c.post("/api/v1/dialer/dial", json={"number": "139 0000 0011"})
        assert r.status_code == 400 and "谢绝来电" in r.json()["error"]


async def test_a_do_not_call_number_is_never_texted(make_user, client_for):
    uid = await make_user("umar")
    await save_settings(box_url=f"sim://{make_sim().name}")
    async with client_for(uid) as c:
        await c.post("/api/v1/dialer/dnc", json={"numbers": ["13900000021"]})
        r = await c.post("/api/v1/sms/preview", json={"text": "您好", "numbers": ["13900000021", "13900000022"]})
        assert r.status_code == 200, r.text
        skipped = r.json()["skipped"]
        assert [s["number"] for s in skipped] == ["+8613900000021"] and "谢绝来电" in skipped[0]["reason"]


async def test_a_running_campaign_drops_a_number_that_texts_td(make_user, client_for, files_dir):
    uid = await make_user("vera")
    sim = make_sim()
    sim.callees.add("13700000031", Callee.answers(3, hangup_after=20, ring_after=1))
    sim.callees.add("13700000032", Callee.answers(3, hangup_after=20, ring_after=1))
    dev = await add_device(sim)
    rec = await add_recording(uid, seconds=4)
    rt = runtime.Runtime(sim.clock.now, tick=0.5)
    async with client_for(uid) as c, anyio.create_task_group() as tg:
        tg.start_soon(rt.serve, {sim.name: (f"sim://{sim.name}", "quectel")})
        await wait_for(lambda: runtime.current() is rt and bool(rt.boxes))
        r = await c.post("/api/v1/dialer/campaigns", json={
            "name": "两个号码", "numbers": ["13700000031", "13700000032"], "recording_id": rec,
            "devices": [{"device": dev}], "config": {**ALWAYS, "retry": {}}, "start": True})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        await wait_for(lambda: cid in rt.runners and rt.runners[cid].state is not None)
        runner = rt.runners[cid]
        await drive(runner, sim.clock, 60, step=1.0, stop_when=lambda: len(sim.call_log) >= 1)
        await optout.add("13700000032", source="reply", actor=None, note="退订")  # texted TD mid-campaign
        await drive(runner, sim.clock, 600)
        assert runner.finished
        tg.cancel_scope.cancel()
    assert [c["number"] for c in await Call.select(Call.number).where(Call.campaign == cid)] == ["+8613700000031"]
    states = {r["e164"]: r["state"] for r in await CampaignNumber.select().where(CampaignNumber.campaign == cid)}
    assert states["+8613700000032"] == "dnc"
