"""统一社会信用代码 (GB 32100-2015): 18 characters whose last one is a mod-31 check character."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


class InvalidCreditCode(ValueError):
    pass


def check_char(body: str) -> str:
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(body, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(raw: str) -> str:
    """Upper-cased, validated code; "" stays "" (the code is optional)."""
    code = (raw or "").strip().upper().replace(" ", "")
    if not code:
        return ""
    if len(code) != 18:
        raise InvalidCreditCode(
            f"统一社会信用代码应为 18 位，实际 {len(code)} 位 / credit code must have 18 characters, got {len(code)}"
        )
    bad = [ch for ch in code if ch not in ALPHABET]
    if bad:
        raise InvalidCreditCode(
            f"统一社会信用代码含非法字符 “{bad[0]}” / credit code contains an invalid character {bad[0]!r}"
        )
    if check_char(code[:17]) != code[17]:
        raise InvalidCreditCode("统一社会信用代码校验位错误 / credit code check digit is wrong")
    return code
