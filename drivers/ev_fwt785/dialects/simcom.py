"""SIMCom-style dialect (A76xx/SIM7600 class): `+CLCC` URCs, `VOICE CALL:` lines, CCMXPLAY, SMSIMCFG.

SIMCom modules are known to report "active" at ringback on some networks (CSFB), so the default
answer heuristic flags an ACTIVE that follows ALERTING within a second as low confidence.
Module-side call recording is not supported by this dialect.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from ..parser import Kind
from .base import (
    CLCC_STAT,
    AnswerHeuristic,
    CallUpdate,
    Dialect,
    DialectUrc,
    DtmfDigit,
    PromptDone,
    SignalUpdate,
    SimPresence,
    parse_clcc_fields,
)

if TYPE_CHECKING:
    from ..channel import AtChannel

_VOICE_END = re.compile(r"^VOICE CALL: ?END: ?(\d+)")


class SimcomDialect(Dialect):
    name = "simcom"
    manufacturers = ("simcom", "simcom incorporated")
    answer: ClassVar[AnswerHeuristic] = AnswerHeuristic(mode="active", min_ring_s=1.0, require_alerting=True)
    iccid_command = "AT+CICCID"
    iccid_prefix = "+ICCID:"
    slot_query = "AT+SMSIMCFG?"
    slot_prefix = "+SMSIMCFG:"

    def init_commands(self) -> list[str]:
        return ["AT+CLCC=1", "AT+AUTOCSQ=1,1", "AT+DDET=1", "AT+SIMHOTSWAP=1"]

    def select_slot_command(self, slot: int) -> str:
        return f"AT+SMSIMCFG=1,{slot}"

    def parse_urc(self, line: str) -> list[DialectUrc] | None:
        if line.startswith("+CLCC:"):
            f = parse_clcc_fields(line[len("+CLCC:") :])
            if f is None:
                return []
            cid, _dir, stat, num = f
            state = CLCC_STAT.get(stat)
            return [CallUpdate(cid, state, num, source="clcc")] if state else []
        if line.startswith("VOICE CALL:"):
            m = _VOICE_END.match(line)
            if m:
                return [CallUpdate(None, None, modem_duration_s=float(int(m[1])), source="voice_end")]
            return [CallUpdate(None, None, source="voice_begin")]
        if line.startswith("+CSQ:"):
            rssi, ber = line.split(":")[1].split(",")
            return [SignalUpdate(int(rssi), int(ber))]
        if line.startswith("+SIMCARD: NOT AVAILABLE"):
            return [SimPresence(False)]
        if line.startswith("+AUDIOSTATE:"):
            return [PromptDone()] if "stop" in line else []
        if line.startswith("+DTMF:"):
            return [DtmfDigit(line.split(":")[1].strip())]
        return None

    def remote_name(self, name: str) -> str:
        return f"C:/{name}"

    def play_prompt_command(self, remote: str) -> str:
        return f'AT+CCMXPLAY="{remote}",2,0'

    def stop_prompt_command(self) -> str:
        return "AT+CCMXSTOP"

    async def upload(self, ch: AtChannel, remote: str, data: bytes) -> None:
        await ch.command(f'AT+CFTRANRX="{remote}",{len(data)}', kind=Kind.PROMPT, payload=data, limit=30)
