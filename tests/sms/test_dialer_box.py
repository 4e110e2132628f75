"""The 短信盒子 channel through the boxes the dialer holds: in this process and on an agent (over a real
websocket that drops between a command and its answer), per-SIM limits by device and slot, received
texts in 收信记录 once, and a clear message without the dialer module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.licence import EDITION_MODULES, Edition
from drivers.ev_fwt785.simulator import reset
from plugins.dialer import box_sms, runtime
from plugins.sms import compose, config, counters, worker
from plugins.sms.channels.box import sim_key
from plugins.sms.errors import SmsError
from plugins.sms.schemas import SendIn
from plugins.sms.tables import SmsInbox, SmsMessage
from tests.conftest import install_licence
from tests.dialer.conftest import make_sim, open_box, wait_for
from tests.dialer.test_box_sms import agent_on_server, drop_after_sms
from tests.sms.conftest import NOON, save_settings

pytestmark = [pytest.mark.anyio, pytest.mark.db]


@pytest.fixture(autouse=True)
def _clean(db) -> Iterator[None]:
    box_sms.SERVER.reset()
    yield
    box_sms.SERVER.reset()
    runtime.install(None)
    reset()


async def _sales(make_user, actor_for):
    return await actor_for(await make_user("amy"))


async def test_default_source_is_the_dialers_box_and_limits_count_per_device_and_slot(make_user, actor_for):
    settings = await config.current()
    assert config.box_source(settings) == "dialer" and config.box_url(settings) == ""  # the listener opens nothing
    await save_settings(sim_daily_limit=1)
    amy = await _sales(make_user, actor_for)
    sim = make_sim()
    rt = runtime.Runtime(sim.clock.now)
    async with open_box(sim) as box:
        rt.boxes[sim.name] = box
        runtime.install(rt)
        await compose.send(amy, SendIn(text="报价已发出", numbers=["13800138000", "13900139000"]), now=NOON)
        out = await worker.drain(now=NOON)
        assert out.sent == 2
    rows = await SmsMessage.select().order_by(SmsMessage.id)
    assert [r["state"] for r in rows] == ["sent", "sent"]
    # one text per SIM a day: the second went out on the next slot of the same box
    assert [r["sim"] for r in rows] == [sim_key(sim.name, 1), sim_key(sim.name, 2)]
    assert [(m.slot, m.number, m.text) for m in sim.sent_sms] == [
        (1, "+8613800138000", "报价已发出"), (2, "+8613900139000", "报价已发出")]
    day = counters.local_day(NOON)
    assert [await counters.day_total("sim", sim_key(sim.name, k), day) for k in (1, 2, 3)] == [1, 1, 0]


async def test_no_box_held_queues_with_the_reason_and_url_source_still_opens_its_port(make_user, actor_for):
    amy = await _sales(make_user, actor_for)
    with pytest.raises(SmsError, match="云外呼模块当前没有连接的设备"):
        await compose.send(amy, SendIn(text="hi", numbers=["13800138000"]), now=NOON)
    sim = make_sim()
    await save_settings(box_source="url", box_url=f"sim://{sim.name}", box_dialect="quectel")
    await compose.send(amy, SendIn(text="hi", numbers=["13800138000"]), now=NOON)
    assert (await worker.drain(now=NOON)).sent == 1
    assert (await SmsMessage.select(SmsMessage.sim).first())["sim"] == sim_key(f"sim://{sim.name}", 1)


async def test_agent_box_link_drops_between_command_and_answer_and_the_text_is_sent_once(
        app, make_user, actor_for, tmp_path, monkeypatch):
    uid = await make_user("remote")
    amy = await _sales(make_user, actor_for)
    sim = make_sim()
    async with agent_on_server(app, uid, sim, tmp_path / "agent"):
        await compose.send(amy, SendIn(text="第一条", numbers=["13800138000"]), now=NOON)
        assert (await worker.drain(now=NOON)).sent == 1  # through the agent's box

        dropped = drop_after_sms(monkeypatch)
        monkeypatch.setattr(box_sms, "AGENT_WAIT_S", 0.2)  # the server stops waiting before the agent is back
        await compose.send(amy, SendIn(text="第二条", numbers=["13900139000"]), now=NOON)
        out = await worker.drain(now=NOON)
        assert dropped and out.retried == 1 and out.sent == 0
        row = await SmsMessage.select().where(SmsMessage.text == "第二条").first()
        assert row["state"] == "queued" and "电话助手" in row["reason"]
        await wait_for(lambda: len(box_sms.SERVER.log.answers) == 2, within=20)  # the answer came after reconnect
        assert (await worker.drain(now=row["next_attempt_at"])).sent == 1  # the retry: answered from what was sent
    rows = await SmsMessage.select().order_by(SmsMessage.id)
    assert [(r["state"], r["sim"]) for r in rows] == [("sent", sim_key(sim.name, 1))] * 2
    assert [m.text for m in sim.sent_sms] == ["第一条", "第二条"]  # never twice
    assert await counters.day_total("sim", sim_key(sim.name, 1), counters.local_day(NOON)) == 2


async def test_sms_received_hook_stores_once_and_td_opts_out():
    from core import host
    from core.plugins import call_published
    from plugins.sms import optout

    pm = host.current().pm
    kw = {"sender": "13800138000", "text": "退订", "source": "sim1", "received_at": 1780000000.25}
    first = await call_published(pm, "sms_received", **kw)
    assert first and first[0]["opt_out"] and first[0]["number"] == "+8613800138000"
    assert await call_published(pm, "sms_received", **kw) == []  # the same text again: stored once
    assert await SmsInbox.count() == 1
    assert await optout.opted_out(["+8613800138000"]) == {"+8613800138000"}


async def test_without_the_dialer_module_the_box_channel_says_what_it_needs(make_user, actor_for, client_for):
    from core.web.app import create_app

    install_licence(modules=sorted(EDITION_MODULES[Edition.TEAM] - {"dialer"}))
    uid = await make_user("amy")
    amy = await actor_for(uid)
    with pytest.raises(SmsError, match="需要云外呼模块的设备，或在短信设置中填写盒子端口") as info:
        await compose.send(amy, SendIn(text="hi", numbers=["13800138000"]), now=NOON)
    assert "auto-dialer" in info.value.message
    from litestar.testing import AsyncTestClient

    from core.auth import sessions

    token, csrf = await sessions.create(uid, "testclient", "pytest")
    async with AsyncTestClient(app=create_app(run_jobs=False, manage_engine=False)) as c:
        c.cookies.set(sessions.COOKIE, token)
        c.headers["x-csrf-token"] = csrf
        page = await c.get("/sms")
        assert page.status_code == 200 and "需要云外呼模块的设备" in page.text
        preview = await c.post("/sms/preview", data={"text": "hi", "numbers": "13800138000", "channel": "box"})
        assert "需要云外呼模块的设备" in preview.text
