"""Preview and queueing: recipients from numbers, customers and filters; every kind of bad input."""

import datetime as dt

import pytest

from plugins.sms import compose
from plugins.sms.errors import SmsError
from plugins.sms.schemas import RecipientIn, SendIn
from plugins.sms.tables import SmsBatch, SmsMessage
from tests.sms.conftest import NOON, save_settings

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def _sales(make_user, actor_for, name="amy"):
    return await actor_for(await make_user(name))


async def test_preview_counts_cost_and_fills_per_customer(make_user, actor_for, make_customer, sim_box):
    await sim_box()
    amy = await _sales(make_user, actor_for)
    a = await make_customer(amy, "珠海建慧贸易有限公司", "李四", "13800138000")
    b = await make_customer(amy, "广州恒信科技", "王五", "+86 139 0013 9000", "020-12345678")
    text = "{联系人}您好，{客户名称}的报价已发出。"
    out = await compose.preview(amy, SendIn(text=text, customer_ids=[a, b]), now=NOON)
    assert out.recipients == 2 and out.encoding == "UCS-2" and out.parts_total == 2
    assert out.cost == "¥0.10" and out.cost_fen == 10
    assert [s.text for s in out.samples] == [
        "李四您好，珠海建慧贸易有限公司的报价已发出。", "王五您好，广州恒信科技的报价已发出。"]
    assert await SmsMessage.count() == 0  # a preview queues nothing
    long = await compose.preview(amy, SendIn(text="你" * 71, numbers=["13800138000"]), now=NOON)
    assert (long.parts_per_message, long.cost) == (2, "¥0.10")


async def test_typed_numbers_link_to_customers_and_dedupe(make_user, actor_for, make_customer, sim_box):
    await sim_box()
    amy = await _sales(make_user, actor_for)
    cid = await make_customer(amy, "建慧贸易", "李四", "13800138000")
    out = await compose.send(amy, SendIn(text="{客户名称} {联系人}", numbers=["138-0013-8000", "+8613800138000",
                                                                        "13900139000"]), now=NOON)
    assert out.queued == 2 and [s.reason for s in out.skipped] == ["重复号码 / duplicate number"]
    rows = await SmsMessage.select().order_by(SmsMessage.id)
    assert [(r["number"], r["customer"], r["text"]) for r in rows] == [
        ("+8613800138000", cid, "建慧贸易 李四"), ("+8613900139000", None, " ")]
    assert {r["state"] for r in rows} == {"queued"}


async def test_customers_by_filter_in_scope_only(make_user, actor_for, make_customer, sim_box):
    await sim_box()
    amy = await _sales(make_user, actor_for)
    eve = await _sales(make_user, actor_for, "eve")
    mine = await make_customer(amy, "建慧贸易", "李四", "13800138000")
    await make_customer(eve, "别人的客户", "赵六", "13700137000")
    landline = await make_customer(amy, "座机客户", "钱七", "020-12345678")
    from core.customers.schemas import ListQuery

    out = await compose.send(amy, SendIn(text="你好", filter=ListQuery(view="mine")), now=NOON)
    assert out.queued == 1
    assert [s.customer_id for s in out.skipped] == [landline]
    assert [r["customer"] for r in await SmsMessage.select()] == [mine]
    with pytest.raises(SmsError, match="客户不存在"):
        await compose.preview(amy, SendIn(text="你好", customer_ids=[mine, 99999]), now=NOON)


@pytest.mark.parametrize(("data", "message"), [
    (SendIn(text="", numbers=["13800138000"]), "短信内容不能为空"),
    (SendIn(text="   ", numbers=["13800138000"]), "the text is empty"),
    (SendIn(text="你" * 671, numbers=["13800138000"]), "短信过长"),
    (SendIn(text="hi", numbers=["12345"]), "无法识别|无效"),
    (SendIn(text="hi", numbers=["010-12345678"]), "不是手机号"),
    (SendIn(text="hi"), "请填写收信号码"),
    (SendIn(text="hi {公司名}", numbers=["13800138000"]), "未知字段"),
    (SendIn(text="hi", numbers=["13800138000"], scheduled_at=NOON - dt.timedelta(hours=1)), "已经过去"),
    (SendIn(text="hi", numbers=["13800138000"], scheduled_at=dt.datetime(2026, 6, 2, 9)), "时区"),
    (SendIn(text="hi", numbers=["13800138000"], channel="gateway"), "no SMS channel configured"),
])
async def test_bad_input_is_refused_before_anything_is_queued(make_user, actor_for, sim_box, data, message):
    await sim_box()
    amy = await _sales(make_user, actor_for)
    with pytest.raises(SmsError, match=message) as info:
        await compose.send(amy, data, now=NOON)
    assert " / " in info.value.message  # Chinese and English
    assert await SmsMessage.count() == 0 and await SmsBatch.count() == 0


async def test_no_channel_and_no_sim(make_user, actor_for, db):
    amy = await _sales(make_user, actor_for)
    with pytest.raises(SmsError, match="没有配置短信通道"):
        await compose.send(amy, SendIn(text="hi", numbers=["13800138000"]), now=NOON)
    await save_settings(box_url="sim://nowhere", sim_slots="")
    with pytest.raises(SmsError, match="没有可发短信的SIM卡"):
        await compose.send(amy, SendIn(text="hi", numbers=["13800138000"]), now=NOON)


async def test_invalid_numbers_skipped_on_request_and_opt_outs_never_queued(make_user, actor_for, sim_box):
    from plugins.sms import optout

    await sim_box()
    amy = await _sales(make_user, actor_for)
    await optout.add("139 0013 9000", source="manual", actor=amy)
    out = await compose.send(amy, SendIn(text="hi", numbers=["13800138000", "12", "13900139000"],
                                         skip_invalid=True), now=NOON)
    assert out.queued == 1
    assert any("退订" in s.reason for s in out.skipped) and any(s.number == "12" for s in out.skipped)
    with pytest.raises(SmsError, match="没有可发送的号码"):
        await compose.send(amy, SendIn(text="hi", numbers=["13900139000"]), now=NOON)


async def test_daily_cap_per_user(make_user, actor_for, sim_box):
    await sim_box()
    await save_settings(user_daily_cap=3)
    amy = await _sales(make_user, actor_for)
    await compose.send(amy, SendIn(text="hi", numbers=["13800138000", "13800138001"]), now=NOON)
    with pytest.raises(SmsError, match="超过每日短信上限"):
        await compose.send(amy, SendIn(text="hi", numbers=["13800138002", "13800138003"]), now=NOON)
    await compose.send(amy, SendIn(text="hi", numbers=["13800138002"]), now=NOON)
    tomorrow = NOON + dt.timedelta(days=1)
    await compose.send(amy, SendIn(text="hi", numbers=["13800138003", "13800138004"]), now=tomorrow)


async def test_signature_and_template(make_user, actor_for, sim_box):
    from plugins.sms import library
    from plugins.sms.schemas import TemplateIn

    await sim_box()
    await save_settings(signature="【外呼宝】")
    amy = await _sales(make_user, actor_for)
    t = await library.create(amy, TemplateIn(name="问候", body="{联系人}您好"))
    assert t.fields == ["联系人"]
    data = SendIn(template_id=t.id, recipients=[RecipientIn(number="13800138000", name="张三")])
    out = await compose.preview(amy, data, now=NOON)
    assert out.samples[0].text == "【外呼宝】张三您好"


async def test_outside_hours_is_a_warning_and_schedule_kept(make_user, actor_for, sim_box):
    await sim_box()
    amy = await _sales(make_user, actor_for)
    late = dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)  # 22:00 in Shanghai
    out = await compose.preview(amy, SendIn(text="hi", numbers=["13800138000"]), now=late)
    assert "不在发送时段" in out.warnings[0]
    when = NOON + dt.timedelta(days=2)
    sent = await compose.send(amy, SendIn(text="hi", numbers=["13800138000"], scheduled_at=when), now=NOON)
    assert sent.send_at == when
    row = await SmsMessage.select().first()
    assert row["next_attempt_at"] == when
