"""Amounts and probabilities: parsing loose input into exact values, with field errors (zh / en).

Amounts are held as integer fen (1/100 yuan); `Decimal` only at the edges.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from core.customers.errors import field_error

MAX_AMOUNT = Decimal("999999999999.99")  # under a trillion yuan
CENT = Decimal("0.01")


def parse_amount(value: Any, errors: list[dict[str, Any]], column: str = "金额", row: int | None = None) -> int:
    """Yuan (`"1,234.50"`, `1234.5`, `"¥1234"`) → fen; appends an error and returns 0 when bad."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, bool):
        errors.append(field_error(column, "金额必须是数字", "amount must be a number", row))
        return 0
    text = str(value).strip().replace(",", "").replace("，", "").removeprefix("¥").removeprefix("￥").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        errors.append(field_error(column, f"金额必须是数字（收到 {value!r}）",
                                  f"amount must be a number, got {value!r}",
                                  row))
        return 0
    if not amount.is_finite():
        errors.append(field_error(column, "金额必须是有限的数字", "amount must be a finite number", row))
        return 0
    if amount < 0:
        errors.append(field_error(column, "金额不能为负数", "amount must not be negative", row))
        return 0
    if amount > MAX_AMOUNT:
        errors.append(field_error(column, "金额过大（上限 9999 亿）", "amount is too large (max 999,999,999,999.99)",
                                  row))
        return 0
    if amount != amount.quantize(CENT):
        errors.append(field_error(column, "金额最多两位小数（分）", "amount has more than two decimal places", row))
        return 0
    return int(amount * 100)


def parse_probability(value: Any, errors: list[dict[str, Any]], column: str = "可能性",
                      row: int | None = None) -> int | None:
    """0–100 (a trailing % is allowed); None when empty; appends an error when bad."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        errors.append(field_error(column, "可能性必须是 0–100 的整数", "probability must be an integer 0–100", row))
        return None
    text = str(value).strip().removesuffix("%").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        errors.append(field_error(column, f"可能性必须是 0–100 的整数（收到 {value!r}）",
                                  f"probability must be an integer 0–100, got {value!r}", row))
        return None
    if not number.is_finite() or number != number.to_integral_value() or not 0 <= number <= 100:
        errors.append(field_error(column, f"可能性必须在 0 到 100 之间（收到 {value}）",
                                  f"probability must be between 0 and 100, got {value}", row))
        return None
    return int(number)


def yuan(fen: int | Decimal | None) -> Decimal:
    """Fen → yuan as an exact two-place Decimal."""
    return (Decimal(int(fen or 0)) / 100).quantize(CENT)


def weighted_yuan(weighted_x100: int | Decimal | None) -> Decimal:
    """Σ amount_fen × probability → yuan (÷ 100 for the percent, ÷ 100 for fen), rounded half-up to the fen."""
    from decimal import ROUND_HALF_UP

    return (Decimal(int(weighted_x100 or 0)) / 10000).quantize(CENT, rounding=ROUND_HALF_UP)
