"""Phones, credit codes and custom-field values: what a user may type, and clear refusals."""

import datetime as dt

import pytest

from core.customers import credit_code, fields, phones


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("010-12345678", "+861012345678"),
        ("0755 1234 5678", "+8675512345678"),
        (13800138000.0, "+8613800138000"),
        ("1.3800138E10", "+8613800138000"),
        ("13800138000.0", "+8613800138000"),
    ],
)
def test_phone_formats(raw, e164):
    assert phones.normalise(raw) == e164


@pytest.mark.parametrize("raw", ["abc", "110", "12345", "", 1.38001380005e10])
def test_bad_phone_is_refused_with_a_bilingual_message(raw):
    with pytest.raises(phones.InvalidPhone) as exc:
        phones.normalise(raw)
    assert " / " in str(exc.value)


def test_fractional_excel_phone_explains_the_fix():
    with pytest.raises(phones.InvalidPhone, match="设为文本"):
        phones.normalise(1.38001380005e10)


def test_credit_code():
    assert credit_code.normalise("91350100m000100y43") == "91350100M000100Y43"
    assert credit_code.normalise("") == ""
    with pytest.raises(credit_code.InvalidCreditCode, match="校验位"):
        credit_code.normalise("91350100M000100Y44")
    with pytest.raises(credit_code.InvalidCreditCode, match="18"):
        credit_code.normalise("9135010")
    with pytest.raises(credit_code.InvalidCreditCode, match="非法字符"):
        credit_code.normalise("91350100M000100I43")


DEFS = [
    fields.FieldDef(key="budget", label="预算", kind="number", options=[], required=False),
    fields.FieldDef(key="since", label="合作日期", kind="date", options=[], required=False),
    fields.FieldDef(key="grade", label="等级", kind="choice", options=["金", "银"], required=True),
    fields.FieldDef(key="areas", label="区域", kind="multi", options=["华南", "华东"], required=False),
]


def test_custom_fields_clean_values():
    out, errors = fields.clean(
        DEFS, {"budget": "1,200", "since": dt.date(2024, 5, 1), "grade": "金", "areas": "华南，华东"}
    )
    assert errors == []
    assert out == {"budget": 1200, "since": "2024-05-01", "grade": "金", "areas": ["华南", "华东"]}


def test_custom_fields_errors_name_row_and_column():
    _, errors = fields.clean(DEFS, {"budget": "很多", "since": "昨天", "areas": "西北", "nope": 1}, row=7)
    messages = " ".join(e["message"] for e in errors)
    assert "第 7 行 “预算” 列" in messages
    assert "合作日期" in messages and "区域" in messages
    assert "未定义的自定义字段" in messages
    assert "等级" in messages  # required and missing
