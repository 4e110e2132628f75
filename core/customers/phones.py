"""Phone numbers: any Chinese mobile/landline spelling (and Excel's float cells) → E.164."""

from __future__ import annotations

import re

import phonenumbers

DEFAULT_REGION = "CN"
_SCIENTIFIC = re.compile(r"^\s*\d+(\.\d+)?[eE]\+?\d+\s*$")
_DECIMAL_ZERO = re.compile(r"^\s*(\d+)\.0+\s*$")


class InvalidPhone(ValueError):
    pass


def cell_text(value: object) -> str:
    """A spreadsheet cell as text; a float phone (1.38001380005E10, 13800138000.0) becomes its digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidPhone(
                f"电话号码被 Excel 存成了小数 {value!r}，请把该列设为文本后重新导入 / "
                f"Excel stored the phone as a fractional number {value!r}; format the column as text"
            )
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    text = str(value).strip()
    if _SCIENTIFIC.match(text):
        return cell_text(float(text))
    match = _DECIMAL_ZERO.match(text)
    return match.group(1) if match else text


def normalise(raw: object, region: str = DEFAULT_REGION) -> str:
    """E.164 for a valid number, else InvalidPhone with a bilingual message."""
    text = cell_text(raw)
    if not text:
        raise InvalidPhone("电话号码为空 / phone number is empty")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"无法识别的电话号码 “{text}” / not a phone number: {text!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"无效的电话号码 “{text}” / invalid phone number: {text!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_normalise(raw: object, region: str = DEFAULT_REGION) -> str | None:
    try:
        return normalise(raw, region)
    except InvalidPhone:
        return None


def national_digits(e164: str) -> str:
    """ "+8613800138000" → "13800138000"; landlines keep their trunk 0 ("+861012345678" → "01012345678")."""
    number = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return re.sub(r"\D", "", national)


def display(value: str, region: str = DEFAULT_REGION) -> str:
    """How a person reads the number: national format at home ("138 0013 8000", "010 6552 9988"),
    international abroad ("+1 650-253-0000"); text that is not a number comes back unchanged."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_valid_number(number):
        return value
    home = phonenumbers.region_code_for_number(number) == region
    return phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.NATIONAL if home else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
