"""Counting SMS parts the way carriers bill them: GSM 7-bit 160 / 153 per part, UCS-2 70 / 67.

The split is the driver's own (`drivers.ev_fwt785.sms.split_message`), so the count shown in the
preview is the count the box sends; gateways bill by the same 3GPP rule.
"""

from __future__ import annotations

import msgspec

from drivers.ev_fwt785.sms import (
    GSM_EXT,
    PART_SEPTETS,
    PART_UCS2,
    SINGLE_SEPTETS,
    SINGLE_UCS2,
    is_gsm7,
    split_message,
)

HARD_PART_LIMIT = 255  # a concatenated SMS can never have more parts than this


class SegmentInfo(msgspec.Struct, frozen=True, kw_only=True):
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int
    per_part: int  # capacity of one part at this length (160/153 or 70/67)
    chars: int


def count(text: str) -> SegmentInfo:
    """Parts needed for `text` (0 for the empty text)."""
    gsm = is_gsm7(text)
    if gsm:
        units = sum(2 if c in GSM_EXT else 1 for c in text)
        single, part = SINGLE_SEPTETS, PART_SEPTETS
    else:
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, part = SINGLE_UCS2, PART_UCS2
    if not text:
        parts = 0
    elif units <= single:
        parts = 1
    else:
        parts = len(split_message(text, max_parts=HARD_PART_LIMIT))
    return SegmentInfo(
        encoding="GSM-7" if gsm else "UCS-2",
        units=units,
        parts=parts,
        per_part=single if parts <= 1 else part,
        chars=len(text),
    )
