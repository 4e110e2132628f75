"""Recipient numbers: any spelling (and Excel's float cells) → E.164, mobiles only."""

from __future__ import annotations

import phonenumbers

from core.customers.phones import InvalidPhone, normalise

MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def mobile(raw: object) -> str:
    """E.164 of a mobile number, else InvalidPhone with a bilingual message."""
    e164 = normalise(raw)
    if phonenumbers.number_type(phonenumbers.parse(e164, None)) not in MOBILE_TYPES:
        raise InvalidPhone(f"“{raw}” 不是手机号，无法接收短信 / {raw!r} is not a mobile number and cannot receive SMS")
    return e164


def try_any(raw: str) -> str:
    """E.164 when the number parses, else the raw digits (short codes such as 10086 stay as they are)."""
    try:
        return normalise(raw)
    except InvalidPhone:
        return raw.strip()
