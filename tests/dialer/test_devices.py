"""外呼设备: editing boxes and SIM slots (API and page), validation, permissions, audit, unlocking, today's use,
and a running campaign picking up a changed limit at its next decision."""

from __future__ import annotations

import datetime as dt
import json

import anyio
import pytest

from core.audit.tables import AuditEvent
from drivers.ev_fwt785.simulator import Callee
from plugins.dialer import devices, store
from plugins.dialer.runner import CampaignRunner
from plugins.dialer.tables import Campaign, Device, DeviceSlot, SimUsage

from .conftest import ALWAYS, add_device, add_recording, drive, make_sim, open_box, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def box(name: str = "盒子一", slots: int = 2) -> int:
    dev = (await Device.insert(Device(name=name, url=f"sim://{name}", dialect="quectel",
                                      created_at=dt.datetime.now(dt.UTC))).returning(Device.id))[0]["id"]
    for k in range(1, slots + 1):
        await DeviceSlot.insert(DeviceSlot(device=dev, slot=k, carrier="CMCC", caller_number="", limits={}))
    return dev


async def slot_row(dev: int, slot: int = 1) -> dict:
    row = await DeviceSlot.select().where((DeviceSlot.device == dev) & (DeviceSlot.slot == slot)).first()
    assert row is not None
    return row


def overrides(row: dict) -> dict:
    value = row["limits"]
    return json.loads(value) if isinstance(value, str) else value


async def test_patch_slot_sets_carrier_caller_number_and_limits_and_is_audited(make_user, client_for):
    admin = await make_user("root", role="admin")
    dev = await box()
    async with client_for(admin) as c:
        r = await c.patch(f"/api/v1/dialer/devices/{dev}/slots/1", json={
            "carrier": "telemarketing", "caller_number": "138 0013 8000", "enabled": False,
            "limits": {"max_calls_per_hour": 20, "min_gap_s": 12.5, "max_talk_minutes_per_day": "off"}})
        assert r.status_code == 200, r.text
        out = r.json()
        assert (out["carrier"], out["caller_number"], out["enabled"]) == ("telemarketing", "+8613800138000", False)
        assert out["limits"] == {"max_calls_per_hour": 20, "min_gap_s": 12.5, "max_talk_minutes_per_day": None}
        # the preset (telemarketing: 40/h, 200/day) under the overrides
        assert out["preset"]["max_calls_per_hour"] == 40 and out["effective"]["max_calls_per_hour"] == 20
        assert out["effective"]["max_calls_per_day"] == 200 and out["effective"]["max_talk_minutes_per_day"] is None
        assert out["usage"] == {"day": devices.today().isoformat(), "calls": 0, "connected": 0, "talk_minutes": 0.0}
        row = await slot_row(dev)
        assert overrides(row) == out["limits"] and row["caller_number"] == "+8613800138000" and not row["enabled"]
        # null fields = back to the preset; an omitted `limits` leaves the overrides alone
        r = await c.patch(f"/api/v1/dialer/devices/{dev}/slots/1", json={"enabled": True})
        assert r.json()["limits"] == out["limits"] and r.json()["enabled"] is True
        r = await c.patch(f"/api/v1/dialer/devices/{dev}/slots/1", json={"limits": {"max_calls_per_hour": None}})
        assert r.json()["limits"] == {} and r.json()["effective"]["max_calls_per_hour"] == 40
        r = await c.patch(f"/api/v1/dialer/devices/{dev}", json={"url": "rfc2217://10.0.0.5:4001", "enabled": False})
        assert r.status_code == 200 and r.json()["url"] == "rfc2217://10.0.0.5:4001" and not r.json()["enabled"]
        listed = (await c.get("/api/v1/dialer/devices")).json()
        assert listed[0]["slots"][0]["effective"]["min_gap_s"] == 10
    events = await AuditEvent.select().where(AuditEvent.entity.is_in(["dialer_slot", "dialer_device"])).order_by(
        AuditEvent.seq)
    assert [(e["action"], e["entity"], e["entity_id"]) for e in events] == [
        ("update", "dialer_slot", f"{dev}:1"), ("update", "dialer_slot", f"{dev}:1"),
        ("update", "dialer_slot", f"{dev}:1"), ("update", "dialer_device", str(dev))]
    first = json.loads(events[0]["diff"])
    assert first["carrier"] == ["CMCC", "telemarketing"] and first["caller_number"] == ["", "+8613800138000"]
    assert first["limits"][0] == {} and first["limits"][1]["max_calls_per_hour"] == 20
    assert json.loads(events[3]["diff"]) == {"url": ["sim://盒子一", "rfc2217://10.0.0.5:4001"],
                                             "enabled": [True, False]}


@pytest.mark.parametrize(("body", "message"), [
    ({"limits": {"max_calls_per_hour": -1}}, "不能为负数"),
    ({"limits": {"min_gap_s": -0.5}}, "minimum gap between dials cannot be negative"),
    ({"limits": {"max_calls_per_hour": 80, "max_calls_per_day": 50}}, "每小时最多拨打（80）不能大于每天最多拨打（50）"),
    ({"limits": {"max_calls_per_hour": 100}}, "calls per hour (100) cannot exceed calls per day (60)"),
    ({"limits": {"max_calls_per_day": 0}}, "须大于 0"),
    ({"limits": {"min_signal": 40}}, "0 到 31"),
    ({"limits": {"month_reset_day": 31}}, "1 到 28"),
    ({"carrier": "Vodafone"}, "未知的运营商预设"),
    ({"caller_number": "12345"}, "主叫号码"),
    ({"limits": {"min_gap_s": "off"}}, ""),  # only upper limits can be "off"
    ({"limits": {"max_calls": 5}}, ""),  # no such limit
])
async def test_bad_slot_changes_are_refused_with_bilingual_messages(make_user, client_for, body, message):
    admin = await make_user("root", role="admin")
    dev = await box()
    async with client_for(admin) as c:
        r = await c.patch(f"/api/v1/dialer/devices/{dev}/slots/1", json=body)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]
    if message:
        assert " / " in r.json()["error"]  # Chinese / English
    row = await slot_row(dev)
    assert overrides(row) == {} and row["carrier"] == "CMCC"
    assert not await AuditEvent.exists().where(AuditEvent.entity == "dialer_slot")


async def test_cooldown_minus_one_means_unlock_by_hand(make_user, client_for):
    admin = await make_user("root", role="admin")
    dev = await box()
    async with client_for(admin) as c:
        r = await c.patch(f"/api/v1/dialer/devices/{dev}/slots/1", json={"limits": {"cooldown_s": -1}})
    assert r.status_code == 200 and r.json()["effective"]["cooldown_s"] == -1


async def test_permissions_changes_need_dialer_settings_and_unknown_slots_are_404(make_user, client_for):
    sales, admin = await make_user("lixs"), await make_user("root", role="admin")
    dev = await box()
    async with client_for(sales) as c:
        assert (await c.get("/api/v1/dialer/devices")).status_code == 200  # dialer:devices: read-only
        assert (await c.patch(f"/api/v1/dialer/devices/{dev}/slots/1", json={"enabled": False})).status_code == 403
        assert (await c.patch(f"/api/v1/dialer/devices/{dev}", json={"enabled": False})).status_code == 403
        r = await c.post(f"/api/v1/dialer/devices/{dev}/slots/1/unlock", json={"reason": "x"})
        assert r.status_code == 403
        r = await c.post(f"/dialer/devices/{dev}/slots/1", data={"carrier": "CU"}, headers={"hx-request": "true"})
        assert r.status_code == 403
    assert (await slot_row(dev))["enabled"]
    async with client_for(admin) as c:
        assert (await c.patch(f"/api/v1/dialer/devices/{dev}/slots/9", json={})).status_code == 404
        assert (await c.patch("/api/v1/dialer/devices/9999", json={"enabled": False})).status_code == 404
        schema = (await c.get("/schema/openapi.json")).json()
    for path, method in (("/api/v1/dialer/devices/{device_id}", "patch"),
                         ("/api/v1/dialer/devices/{device_id}/slots/{slot}", "patch"),
                         ("/api/v1/dialer/devices/{device_id}/slots/{slot}/unlock", "post")):
        assert "dialer" in schema["paths"][path][method]["tags"], path


async def test_rename_is_refused_while_a_campaign_is_unfinished(make_user, client_for):
    admin = await make_user("root", role="admin")
    dev = await box()
    await box("盒子二")
    async with client_for(admin) as c:
        r = await c.patch(f"/api/v1/dialer/devices/{dev}", json={"name": "盒子二"})
        assert r.status_code == 400 and "已存在" in r.json()["error"]
        await Campaign.insert(Campaign(name="进行中", status="paused", created_at=dt.datetime.now(dt.UTC)))
        r = await c.patch(f"/api/v1/dialer/devices/{dev}", json={"name": "新名字"})
        assert r.status_code == 409 and "未结束" in r.json()["error"]
        await Campaign.update({Campaign.status: "done"}).where(Campaign.status == "paused")
        r = await c.patch(f"/api/v1/dialer/devices/{dev}", json={"name": "新名字"})
        assert r.status_code == 200 and r.json()["name"] == "新名字"


async def test_unlock_clears_a_blocked_sim_with_a_reason(make_user, client_for):
    admin = await make_user("root", role="admin")
    dev = await box()
    await store.block_sim(dev, 2, "运营商限制呼叫（Q.850 8） / operator determined barring")
    async with client_for(admin) as c:
        r = await c.post(f"/api/v1/dialer/devices/{dev}/slots/1/unlock", json={"reason": "试试"})
        assert r.status_code == 409  # slot 1 is fine
        r = await c.post(f"/api/v1/dialer/devices/{dev}/slots/2/unlock", json={"reason": ""})
        assert r.status_code == 400
        page = await c.get("/dialer/devices")
        assert "疑似封停" in page.text and f'hx-post="/dialer/devices/{dev}/slots/2/unlock"' in page.text
        assert f'hx-post="/dialer/devices/{dev}/slots/1/unlock"' not in page.text
        r = await c.post(f"/dialer/devices/{dev}/slots/2/unlock", data={"reason": "已联系移动客服恢复"},
                         headers={"hx-request": "true"})
        assert r.status_code == 200 and r.headers.get("hx-redirect") == "/dialer/devices", r.text
    row = await slot_row(dev, 2)
    assert not row["blocked"] and row["lock_reason"] == ""
    event = await AuditEvent.select().where(AuditEvent.action == "unlock").first()
    assert event["entity_id"] == f"{dev}:2"
    assert json.loads(event["meta"])["reason"] == "已联系移动客服恢复"
    assert json.loads(event["diff"])["blocked"] == [True, False]


async def test_page_shows_forms_only_with_dialer_settings_and_saves_through_htmx(make_user, client_for):
    sales, manager = await make_user("lixs"), await make_user("wangjl", role="manager")
    dev = await box()
    await SimUsage.insert(SimUsage(device=dev, slot=1, day=devices.today(), calls=12, connected=3, talk_s=270.0))
    async with client_for(sales) as c:
        page = await c.get("/dialer/devices")
        assert page.status_code == 200
        assert "拨打 12 / 60" in page.text and "通话 4.5 / 不限" in page.text  # today's use against the limits
        assert 'class="slot-form"' not in page.text and 'hx-post="/dialer/devices' not in page.text
    async with client_for(manager) as c:
        page = await c.get("/dialer/devices")
        assert page.text.count('class="slot-form"') == 2
        assert 'placeholder="运营商预设 15"' in page.text  # CMCC: 15 calls an hour
        assert 'placeholder="运营商预设 不限"' in page.text
        r = await c.post(f"/dialer/devices/{dev}/slots/1", headers={"hx-request": "true"}, data={
            "carrier": "CU", "caller_number": "13900001111", "enabled": "1", "max_calls_per_hour": "10",
            "max_calls_per_day": "不限", "min_gap_s": "", "cooldown_s": "-1"})
        assert r.status_code == 200 and "已保存" in r.text, r.text
        row = await slot_row(dev)
        assert row["carrier"] == "CU" and row["caller_number"] == "+8613900001111"
        assert overrides(row) == {"max_calls_per_hour": 10, "max_calls_per_day": None, "cooldown_s": -1.0}
        page = await c.get("/dialer/devices")
        assert 'name="max_calls_per_hour" value="10"' in page.text
        assert 'name="max_calls_per_day" value="不限"' in page.text
        for bad, message in (({"max_calls_per_hour": "很多"}, "须为数字"), ({"min_gap_s": "不限"}, "不能设为不限"),
                             ({"max_calls_per_day": "5", "max_calls_per_hour": "6"}, "不能大于"),
                             ({"consecutive_fail_limit": "2.5"}, "须为整数")):
            r = await c.post(f"/dialer/devices/{dev}/slots/1", headers={"hx-request": "true"},
                             data={"carrier": "CU", "enabled": "1", **bad})
            assert message in r.text and 'class="errors"' in r.text, (bad, r.text)
        r = await c.post(f"/dialer/devices/{dev}", headers={"hx-request": "true"},
                         data={"name": "盒子一", "url": "sim://盒子一", "dialect": "simcom", "enabled": "1"})
        assert "已保存" in r.text
        page = await c.get("/dialer/devices", params={"lang": "en"})
        assert 'placeholder="Carrier preset 15"' in page.text and "Calls per hour" in page.text
        assert "China Unicom" in page.text and "Today's use / limit" in page.text
    assert (await Device.select(Device.dialect).where(Device.id == dev).first())["dialect"] == "simcom"
    assert overrides(await slot_row(dev))["max_calls_per_hour"] == 10  # the refused posts changed nothing


async def test_a_running_campaign_picks_up_a_changed_limit_at_its_next_decision(make_user, actor_for, files_dir):
    """The SIM allows 2 calls a day; the campaign waits at 2 ("every SIM at a limit"). Raising the limit while it
    waits lets it dial on without a restart; its snapshot then holds the new limit."""
    from plugins.dialer import campaigns, runtime
    from plugins.dialer.schemas import CampaignIn, DeviceSpec, SlotLimitsIn, SlotPatch

    uid = await make_user("lixs")
    actor = await actor_for(uid)
    admin = await actor_for(await make_user("root", role="admin"))
    sim = make_sim()
    numbers = [f"1390000{k:04d}" for k in range(1, 7)]
    for n in numbers:
        sim.callees.add(n, Callee.busy())
    dev = await add_device(sim)
    await DeviceSlot.update({DeviceSlot.limits: {"min_gap_s": 0, "max_calls_per_day": 2}}).where(
        DeviceSlot.device == dev)
    rec = await add_recording(uid)
    out = await campaigns.create(actor, CampaignIn(name="限额", numbers=numbers, recording_id=rec,
                                                   devices=[DeviceSpec(device=dev, slots=[1])],
                                                   config={**ALWAYS, "ring_timeout_s": 20, "retry": {}}))
    await campaigns.transition(actor, out.id, "start")
    key = f"{sim.name}:1"
    async with open_box(sim) as b, anyio.create_task_group() as tg:
        runner = CampaignRunner(out.id, {sim.name: b}, clock=sim.clock.now, tick=0.5)
        rt = runtime.Runtime(clock=sim.clock.now)
        rt.runners[out.id] = runner
        runtime.install(rt)
        try:
            tg.start_soon(runner.run)
            await drive(runner, sim.clock, 300)
            assert runner.state is not None and runner.state.totals.dials == 2 and not runner.finished
            assert runner.state.sims[key].limits.max_calls_per_day == 2
            await devices.patch_slot(admin, dev, 1, SlotPatch(limits=SlotLimitsIn(min_gap_s=0, max_calls_per_day=4,
                                                                                     max_calls_per_hour=4)))
            assert runner.state.sims[key].limits.max_calls_per_day == 4  # before the runner's next decision
            await drive(runner, sim.clock, 300)
            assert runner.state.totals.dials == 4
            tg.cancel_scope.cancel()
        finally:
            runtime.install(None)
    snapshot = await store.load_state(out.id)
    assert snapshot is not None and snapshot.sims[key].limits.max_calls_per_day == 4
    assert len(sim.call_log) == 4


async def test_a_resumed_snapshot_reads_the_current_limits_and_blocks(make_user, files_dir):
    """A campaign paused with its snapshot, the SIM's limit changed and another SIM unlocked meanwhile: resuming
    uses the new settings."""
    from plugins.dialer.engine import limits_for

    uid = await make_user("lixs")
    dev = await box("盒子三")
    cid = (await Campaign.insert(Campaign(name="暂停", owner=uid, status="paused", config=ALWAYS,
                                          created_at=dt.datetime.now(dt.UTC))).returning(Campaign.id))[0]["id"]
    setup = await store.campaign_setup(cid, 1_700_000_000.0)
    state = store.state_from_setup(setup, 1_700_000_000.0)
    state.sims["盒子三:2"].blocked = True
    state.sims["盒子三:2"].consecutive_barred = 2
    await store.save_state(cid, state)
    await DeviceSlot.update({DeviceSlot.limits: {"max_calls_per_hour": 3}}).where(
        (DeviceSlot.device == dev) & (DeviceSlot.slot == 1))
    await DeviceSlot.update({DeviceSlot.blocked: True}).where((DeviceSlot.device == dev) & (DeviceSlot.slot == 1))
    loaded = await store.load_state(cid)
    assert loaded is not None
    assert loaded.sims["盒子三:1"].limits == limits_for("CMCC", {"max_calls_per_hour": 3})
    assert loaded.sims["盒子三:1"].blocked  # blocked in the database: blocked in the engine
    assert not loaded.sims["盒子三:2"].blocked and loaded.sims["盒子三:2"].consecutive_barred == 0  # unlocked


async def test_a_campaign_on_an_agent_picks_up_a_changed_limit_too(app, make_user, actor_for, client_for,
                                                                  files_dir, tmp_path):
    """Same as above, with the campaign run by the salesperson's agent over a real websocket: the server
    pushes the box's new slot settings and the agent's runner dials on without a restart."""
    from plugins.dialer.schemas import SlotLimitsIn, SlotPatch
    from plugins.dialer.tables import Device

    from .test_box_sms import agent_on_server

    uid = await make_user("lixs")
    admin = await actor_for(await make_user("root", role="admin"))
    sim = make_sim()
    numbers = [f"1390000{k:04d}" for k in range(1, 7)]
    for n in numbers:
        sim.callees.add(n, Callee.busy())
    async with agent_on_server(app, uid, sim, tmp_path / "agent") as agent:
        dev = (await Device.select(Device.id).where(Device.name == sim.name).first())["id"]
        await devices.patch_slot(admin, dev, 1, SlotPatch(limits=SlotLimitsIn(min_gap_s=0, max_calls_per_day=2,
                                                                                 max_calls_per_hour=2)))
        for k in range(2, 6):
            await devices.patch_slot(admin, dev, k, SlotPatch(enabled=False))
        async with client_for(uid) as c:
            r = await c.post("/api/v1/dialer/campaigns", json={
                "name": "助手限额", "numbers": numbers, "mode": "manual", "devices": [{"device": dev}],
                "config": {**ALWAYS, "ring_timeout_s": 20, "retry": {}}, "start": True})
            assert r.status_code == 201, r.text
        cid = r.json()["id"]
        await wait_for(lambda: cid in agent.runners and agent.runners[cid].state is not None, within=20)
        runner = agent.runners[cid]
        await drive(runner, sim.clock, 300)
        assert runner.state.totals.dials == 2 and not runner.finished
        await devices.patch_slot(admin, dev, 1, SlotPatch(limits=SlotLimitsIn(min_gap_s=0, max_calls_per_day=4,
                                                                                 max_calls_per_hour=4)))
        await wait_for(lambda: runner.state.sims[f"{sim.name}:1"].limits.max_calls_per_day == 4)
        await drive(runner, sim.clock, 300)
        assert runner.state.totals.dials == 4
