"""Received texts: linked to the customer, TD/退订 opts out, a reply becomes a follow-up; through the box."""

import anyio
import pytest

from plugins.sms import compose, inbox, optout, worker
from plugins.sms.errors import SmsError
from plugins.sms.schemas import SendIn
from tests.sms.conftest import NOON

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_reply_links_customer_opts_out_and_becomes_followup(make_user, actor_for, make_customer, sim_box):
    from core.customers.activity import followups_of

    await sim_box()
    amy = await actor_for(await make_user("amy"))
    eve = await actor_for(await make_user("eve"))
    cid = await make_customer(amy, "建慧贸易", "李四", "13800138000")
    await compose.send(amy, SendIn(text="报价已发出", customer_ids=[cid]), now=NOON)
    await worker.drain(now=NOON)
    got = await inbox.ingest("+8613800138000", "收到，谢谢")
    assert (got.customer_id, got.owner_id, got.opt_out) == (cid, amy.user_id, False)
    assert [m.id for m in await inbox.listing(amy)] == [got.id]
    assert await inbox.listing(eve) == []
    done = await inbox.make_followup(amy, got.id)
    follow = await followups_of(amy, cid)
    assert done.followup_id == follow[0].id and follow[0].method == "短信" and "收到，谢谢" in follow[0].summary
    with pytest.raises(SmsError, match="已记为联系记录"):
        await inbox.make_followup(amy, got.id)
    stop = await inbox.ingest("13800138000", "退订")
    assert stop.opt_out and await optout.opted_out(["+8613800138000"]) == {"+8613800138000"}
    with pytest.raises(SmsError, match="没有可发送的号码"):
        await compose.send(amy, SendIn(text="再发一条", customer_ids=[cid]), now=NOON)
    stranger = await inbox.ingest("10086", "余额提醒")
    assert stranger.customer_id is None and stranger.number == "10086"
    with pytest.raises(SmsError, match="没有关联客户"):
        await inbox.make_followup(await actor_for(await make_user("boss", "admin")), stranger.id)


async def test_box_listener_stores_received_texts(make_user, actor_for, make_customer, sim_box):
    from plugins.sms import listener

    box = await sim_box()
    amy = await actor_for(await make_user("amy"))
    cid = await make_customer(amy, "建慧贸易", "李四", "13800138000")
    received = []
    done = anyio.Event()

    async def on_ingested(row) -> None:
        received.append(row)
        done.set()

    async with anyio.create_task_group() as tg:
        await tg.start(lambda task_status: listener.listen(f"sim://{box.name}", "quectel", on_ingested=on_ingested,
                                                          task_status=task_status))
        # the worker borrows the listener's open box instead of opening the port a second time
        await compose.send(amy, SendIn(text="hi", numbers=["13900139000"]), now=NOON)
        assert (await worker.drain(now=NOON)).sent == 1
        box.deliver_sms("+8613800138000", "TD")
        with anyio.fail_after(5):
            await done.wait()
        tg.cancel_scope.cancel()
    assert received[0].customer_id == cid and received[0].opt_out
    assert await optout.opted_out(["+8613800138000"]) == {"+8613800138000"}
