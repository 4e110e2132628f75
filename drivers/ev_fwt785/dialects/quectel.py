"""Quectel-style dialect (EC2x/EG9x class): `+QIND: "ccinfo"`, QUIMSLOT, QPSND, QAUDRD, QF* files."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..errors import BoxError
from ..parser import Kind
from .base import (
    CLCC_STAT,
    AnswerHeuristic,
    CallState,
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

READ_CHUNK = 32768


class QuectelDialect(Dialect):
    name = "quectel"
    manufacturers = ("quectel",)
    supports_recording = True
    answer: ClassVar[AnswerHeuristic] = AnswerHeuristic(mode="active", min_ring_s=0.0)
    iccid_command = "AT+QCCID"
    iccid_prefix = "+QCCID:"
    slot_query = "AT+QUIMSLOT?"
    slot_prefix = "+QUIMSLOT:"
    prompt_query = "AT+QPSND?"

    def init_commands(self) -> list[str]:
        return [
            'AT+QINDCFG="ccinfo",1,0',
            'AT+QINDCFG="csq",1,0',
            "AT+QSIMSTAT=1",
            "AT+QTONEDET=1",
        ]

    def select_slot_command(self, slot: int) -> str:
        return f"AT+QUIMSLOT={slot}"

    def parse_urc(self, line: str) -> list[DialectUrc] | None:
        if line.startswith('+QIND: "ccinfo",'):
            f = parse_clcc_fields(line[len('+QIND: "ccinfo",') :])
            if f is None:
                return []
            cid, _dir, stat, num = f
            state = CallState.RELEASED if stat == -1 else CLCC_STAT.get(stat)
            return [CallUpdate(cid, state, num, source="ccinfo")] if state else []
        if line.startswith('+QIND: "csq",'):
            parts = line.split(",")
            return [SignalUpdate(int(parts[1]), int(parts[2]) if len(parts) > 2 else 99)]
        if line.startswith("+QSIMSTAT:"):
            return [SimPresence(line.split(",")[-1].strip() == "1")]
        if line.startswith("+QPSND:"):
            return [PromptDone()] if line.split(":")[1].strip() == "0" else []
        if line.startswith("+QTONEDET:"):
            return [DtmfDigit(chr(int(line.split(":")[1])))]
        if line.startswith(("+QIND:", "+QAUDRIND:", "+QUSIM:")):
            return []
        return None

    def play_prompt_command(self, remote: str) -> str:
        return f'AT+QPSND=1,"{remote}",0,1,1'

    def stop_prompt_command(self) -> str:
        return "AT+QPSND=0"

    async def upload(self, ch: AtChannel, remote: str, data: bytes) -> None:
        await ch.command(f'AT+QFDEL="{remote}"', limit=5, check=False)
        resp = await ch.command(
            f'AT+QFUPL="{remote}",{len(data)}', kind=Kind.PROMPT, prefix="+QFUPL:", payload=data, limit=30
        )
        line = resp.line("+QFUPL:")
        if line is None or int(line.split(":")[1].split(",")[0]) != len(data):
            raise BoxError(f"upload of {remote} incomplete: {line}")

    async def start_recording(self, ch: AtChannel, remote: str) -> None:
        await ch.command(f'AT+QFDEL="{remote}"', limit=5, check=False)
        await ch.command(f'AT+QAUDRD=1,"{remote}",13,1')

    async def stop_recording(self, ch: AtChannel) -> None:
        await ch.command("AT+QAUDRD=0")

    async def download(self, ch: AtChannel, remote: str) -> bytes:
        resp = await ch.command(f'AT+QFOPEN="{remote}",2', kind=Kind.SINGLELINE, prefix="+QFOPEN:")
        handle = int(resp.lines[0].split(":")[1])
        out = bytearray()
        try:
            while True:
                r = await ch.command(f"AT+QFREAD={handle},{READ_CHUNK}", kind=Kind.RAW, limit=30)
                out += r.data
                if len(r.data) < READ_CHUNK:
                    break
        finally:
            await ch.command(f"AT+QFCLOSE={handle}", check=False)
        return bytes(out)

    async def delete_file(self, ch: AtChannel, remote: str) -> None:
        await ch.command(f'AT+QFDEL="{remote}"', check=False)
