"""SMS PDU helpers (3GPP TS 23.040 / 23.038): GSM 7-bit and UCS-2 encoding, concatenation.

Pure functions shared by the driver (SMS-SUBMIT out, SMS-DELIVER in) and the simulator (the reverse).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import InvalidArgument

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXT = {"^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}
_BASIC_INDEX = {c: i for i, c in enumerate(GSM_BASIC)}
_EXT_REVERSE = {v: k for k, v in GSM_EXT.items()}

SINGLE_SEPTETS, PART_SEPTETS = 160, 153
SINGLE_UCS2, PART_UCS2 = 70, 67


def is_gsm7(text: str) -> bool:
    return all(c in _BASIC_INDEX or c in GSM_EXT for c in text)


def to_septets(text: str) -> list[int]:
    out: list[int] = []
    for c in text:
        if c in _BASIC_INDEX:
            out.append(_BASIC_INDEX[c])
        else:
            out += [0x1B, GSM_EXT[c]]
    return out


def from_septets(septets: list[int]) -> str:
    out, esc = [], False
    for s in septets:
        if esc:
            out.append(_EXT_REVERSE.get(s, " "))
            esc = False
        elif s == 0x1B:
            esc = True
        else:
            out.append(GSM_BASIC[s])
    return "".join(out)


def pack_septets(septets: list[int], fill_bits: int = 0) -> bytes:
    acc, nbits, out = 0, fill_bits, bytearray()
    for s in septets:
        acc |= (s & 0x7F) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    bits = int.from_bytes(data, "little")
    return [(bits >> (fill_bits + 7 * i)) & 0x7F for i in range(count)]


@dataclass(frozen=True)
class Segment:
    """One SMS part: user data text plus concatenation info (ref, total, seq) if split."""

    text: str
    ucs2: bool
    ref: int | None = None
    total: int = 1
    seq: int = 1


def split_message(text: str, *, ref: int = 0, max_parts: int = 10) -> list[Segment]:
    if not text:
        raise InvalidArgument("empty SMS text")
    ucs2 = not is_gsm7(text)

    def cost(c: str) -> int:
        if ucs2:
            return 2 if ord(c) > 0xFFFF else 1
        return 2 if c in GSM_EXT else 1

    total_cost = sum(cost(c) for c in text)
    if total_cost <= (SINGLE_UCS2 if ucs2 else SINGLE_SEPTETS):
        return [Segment(text, ucs2)]
    limit = PART_UCS2 if ucs2 else PART_SEPTETS
    chunks: list[str] = []
    cur, used = [], 0
    for c in text:  # whole code points: a surrogate pair is never cut
        if used + cost(c) > limit:
            chunks.append("".join(cur))
            cur, used = [], 0
        cur.append(c)
        used += cost(c)
    chunks.append("".join(cur))
    if len(chunks) > max_parts:
        raise InvalidArgument(
            f"SMS needs {len(chunks)} parts ({'UCS-2' if ucs2 else 'GSM 7-bit'}),"
            f" more than max_parts={max_parts}"
        )
    return [Segment(c, ucs2, ref & 0xFF, len(chunks), i + 1) for i, c in enumerate(chunks)]


def encode_address(number: str) -> bytes:
    """Address field: length in digits, type of number, semi-octet BCD (F-padded)."""
    intl = number.startswith("+")
    digits = number.lstrip("+")
    if not digits or not all(c in "0123456789*#" for c in digits):
        raise InvalidArgument(f"not a phone number: {number!r}")
    toa = 0x91 if intl else 0x81
    bcd = _bcd(digits)
    return bytes([len(digits), toa]) + bcd


def _bcd(digits: str) -> bytes:
    table = {"*": 0xA, "#": 0xB}
    nibbles = [table.get(c, 0) if c in table else int(c) for c in digits]
    if len(nibbles) % 2:
        nibbles.append(0xF)
    return bytes(nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles), 2))


def _unbcd(data: bytes, ndigits: int) -> str:
    table = {0xA: "*", 0xB: "#"}
    out = []
    for b in data:
        for n in (b & 0xF, b >> 4):
            out.append(table.get(n, str(n)) if n < 0xF else "")
    return "".join(out)[:ndigits]


def decode_address(data: bytes, pos: int) -> tuple[str, int]:
    ndigits, toa = data[pos], data[pos + 1]
    nbytes = math.ceil(ndigits / 2)
    raw = data[pos + 2 : pos + 2 + nbytes]
    if toa & 0x70 == 0x50:  # alphanumeric sender, GSM 7-bit packed
        number = from_septets(unpack_septets(raw, ndigits * 4 // 7))
    else:
        number = ("+" if toa & 0x70 == 0x10 else "") + _unbcd(raw, ndigits)
    return number, pos + 2 + nbytes


def _user_data(seg: Segment) -> tuple[int, bytes, bool]:
    """(UDL, UD bytes, has UDH)."""
    udh = b""
    if seg.ref is not None:
        udh = bytes([5, 0x00, 3, seg.ref, seg.total, seg.seq])
    if seg.ucs2:
        body = seg.text.encode("utf-16-be")
        ud = udh + body
        return len(ud), ud, bool(udh)
    septets = to_septets(seg.text)
    if udh:
        fill = (7 - (len(udh) * 8) % 7) % 7
        header_septets = (len(udh) * 8 + fill) // 7
        return header_septets + len(septets), udh + pack_septets(septets, fill), True
    return len(septets), pack_septets(septets), False


def encode_submit(number: str, seg: Segment, mr: int = 0) -> tuple[str, int]:
    """SMS-SUBMIT PDU as hex, plus the TPDU length `AT+CMGS=<len>` wants (SMSC octet excluded)."""
    udl, ud, udhi = _user_data(seg)
    first = 0x01 | (0x40 if udhi else 0)
    dcs = 0x08 if seg.ucs2 else 0x00
    tpdu = bytes([first, mr & 0xFF]) + encode_address(number) + bytes([0x00, dcs, udl]) + ud
    return "00" + tpdu.hex().upper(), len(tpdu)


def encode_deliver(sender: str, seg: Segment, scts: str = "52012010000032") -> str:
    """SMS-DELIVER PDU as hex (used by the simulator). `scts` is 14 swapped-nibble digits."""
    udl, ud, udhi = _user_data(seg)
    first = 0x04 | (0x40 if udhi else 0)
    dcs = 0x08 if seg.ucs2 else 0x00
    ts = bytes.fromhex(scts)
    tpdu = bytes([first]) + encode_address(sender) + bytes([0x00, dcs]) + ts + bytes([udl]) + ud
    return "00" + tpdu.hex().upper()


@dataclass(frozen=True)
class DecodedPdu:
    number: str  # destination (SUBMIT) or originator (DELIVER)
    text: str
    ucs2: bool
    ref: int | None
    total: int
    seq: int
    timestamp: str | None


def _decode_ud(data: bytes, pos: int, dcs: int, udhi: bool) -> tuple[str, bool, int | None, int, int]:
    udl = data[pos]
    ud = data[pos + 1 :]
    ref, total, seq, udh_len = None, 1, 1, 0
    if udhi:
        udh_len = ud[0] + 1
        i = 1
        while i < udh_len:
            iei, ln = ud[i], ud[i + 1]
            val = ud[i + 2 : i + 2 + ln]
            if iei == 0x00 and ln == 3:
                ref, total, seq = val[0], val[1], val[2]
            elif iei == 0x08 and ln == 4:
                ref, total, seq = (val[0] << 8) | val[1], val[2], val[3]
            i += 2 + ln
    alphabet = (dcs >> 2) & 0x3 if dcs & 0xC0 == 0 else 0
    if alphabet == 2:
        return ud[udh_len:udl].decode("utf-16-be", errors="replace"), True, ref, total, seq
    if alphabet == 1:
        return ud[udh_len:udl].decode("latin-1"), False, ref, total, seq
    fill = (7 - (udh_len * 8) % 7) % 7 if udh_len else 0
    header_septets = (udh_len * 8 + fill) // 7
    septets = unpack_septets(ud[udh_len:], udl - header_septets, fill)
    return from_septets(septets), False, ref, total, seq


def _swap_ts(ts: bytes) -> str:
    d = "".join(f"{b & 0xF}{b >> 4}" for b in ts)
    return f"20{d[0:2]}-{d[2:4]}-{d[4:6]}T{d[6:8]}:{d[8:10]}:{d[10:12]}"


def decode_pdu(hexpdu: str) -> DecodedPdu:
    """Decode SMS-DELIVER or SMS-SUBMIT (with leading SMSC field)."""
    try:
        data = bytes.fromhex(hexpdu.strip())
        pos = 1 + data[0]
        first = data[pos]
        pos += 1
        mti = first & 0x03
        udhi = bool(first & 0x40)
        if mti == 0x01:  # SUBMIT
            pos += 1  # MR
            number, pos = decode_address(data, pos)
            dcs = data[pos + 1]
            pos += 2
            vpf = (first >> 3) & 0x3
            pos += {0: 0, 2: 1}.get(vpf, 7)
            ts = None
        else:  # DELIVER
            number, pos = decode_address(data, pos)
            dcs = data[pos + 1]
            ts = _swap_ts(data[pos + 2 : pos + 9])
            pos += 9
        text, ucs2, ref, total, seq = _decode_ud(data, pos, dcs, udhi)
    except (IndexError, ValueError) as exc:
        raise InvalidArgument(f"malformed PDU: {exc}") from exc
    return DecodedPdu(number, text, ucs2, ref, total, seq, ts)


class Reassembler:
    """Collect concatenated parts by (sender, ref); return the full text once every part arrived."""

    def __init__(self) -> None:
        self._parts: dict[tuple[str, int, int], dict[int, DecodedPdu]] = {}

    def add(self, pdu: DecodedPdu) -> tuple[str, int] | None:
        if pdu.ref is None or pdu.total <= 1:
            return pdu.text, 1
        key = (pdu.number, pdu.ref, pdu.total)
        parts = self._parts.setdefault(key, {})
        parts[pdu.seq] = pdu
        if len(parts) < pdu.total:
            return None
        del self._parts[key]
        return "".join(parts[i].text for i in sorted(parts)), pdu.total
