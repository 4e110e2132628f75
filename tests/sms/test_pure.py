"""Segment counting as carriers bill, template fields, opt-out words, sending hours."""

import datetime as dt

import pytest

from plugins.sms import config, fill, optout, segments


@pytest.mark.parametrize(("text", "encoding", "parts"), [
    ("", "GSM-7", 0),
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("[" * 80, "GSM-7", 1),  # extension characters take two septets
    ("[" * 81, "GSM-7", 2),
    ("你" * 70, "UCS-2", 1),
    ("你" * 71, "UCS-2", 2),
    ("你" * 134, "UCS-2", 2),
    ("你" * 135, "UCS-2", 3),
    ("a" * 69 + "你", "UCS-2", 1),  # one Chinese character makes the whole text UCS-2
    ("😀" * 35, "UCS-2", 1),  # outside the BMP: two UTF-16 units each
    ("😀" * 36, "UCS-2", 2),
])
def test_parts_as_billed(text, encoding, parts):
    info = segments.count(text)
    assert (info.encoding, info.parts) == (encoding, parts)


def test_fill_fields():
    body = "{联系人}您好，{客户名称}的报价已发出，号码 {手机号}。{world}"
    out = fill.fill(body, customer_name="建慧贸易", contact_name="李四", number="+8613800138000")
    assert out == "李四您好，建慧贸易的报价已发出，号码 13800138000。{world}"
    assert fill.fields_in(body) == ["联系人", "客户名称", "手机号"]
    assert fill.unknown_fields("{公司名} {world}") == ["公司名"]


@pytest.mark.parametrize(("text", "stop"), [
    ("TD", True), ("td", True), (" 退订 ", True), ("退订。", True), ("T", True), ("STOP", True),
    ("退订，谢谢", True), ("好的收到", False), ("TDD", False), ("", False), ("明天再说，不用退订", False),
])
def test_opt_out_words(text, stop):
    assert optout.is_opt_out_reply(text) is stop


def test_sending_hours():
    s = config.SmsSettings(hours_start="08:00", hours_end="21:00")
    tz = dt.timezone(dt.timedelta(hours=8))
    assert config.within_hours(s, dt.datetime(2026, 6, 1, 8, 0, tzinfo=tz))
    assert not config.within_hours(s, dt.datetime(2026, 6, 1, 21, 0, tzinfo=tz))
    assert config.next_window(s, dt.datetime(2026, 6, 1, 22, 0, tzinfo=tz)) == dt.datetime(2026, 6, 2, 8, 0, tzinfo=tz)
    night = config.SmsSettings(hours_start="22:00", hours_end="06:00")
    assert config.within_hours(night, dt.datetime(2026, 6, 1, 23, 0, tzinfo=tz))
    assert not config.within_hours(night, dt.datetime(2026, 6, 1, 12, 0, tzinfo=tz))
    assert config.within_hours(config.SmsSettings(hours_start="00:00", hours_end="00:00"),
                               dt.datetime(2026, 6, 1, 3, 0, tzinfo=tz))
    assert config.enabled_slots(config.SmsSettings(sim_slots="2， 3,9,x,2")) == [2, 3]
