"""What a dialect is: every vendor-specific command and URC, so a new firmware is one file.

The box (`box.py`) speaks only 27.007/27.005 itself and asks its dialect for: extra init commands,
the ICCID command, slot query/select, call-state URC parsing, prompt playback, recording and file
transfer, and the answer-detection heuristic.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    from ..channel import AtChannel


class CallState(enum.Enum):
    DIALING = "dialing"
    ALERTING = "alerting"
    ACTIVE = "active"
    RELEASED = "released"


@dataclass(frozen=True)
class CallUpdate:
    """A call-state URC, normalised. `state` None = text-only line (e.g. `VOICE CALL: END`)."""

    call_id: int | None
    state: CallState | None
    number: str | None = None
    modem_duration_s: float | None = None
    source: str = ""


@dataclass(frozen=True)
class SignalUpdate:
    rssi: int
    ber: int = 99


@dataclass(frozen=True)
class SimPresence:
    inserted: bool


@dataclass(frozen=True)
class PromptDone:
    pass


@dataclass(frozen=True)
class DtmfDigit:
    digit: str


DialectUrc = CallUpdate | SignalUpdate | SimPresence | PromptDone | DtmfDigit


@dataclass(frozen=True)
class AnswerHeuristic:
    """When to believe a call was answered (some modules report "active" at ringback).

    `mode`: "active" = first ACTIVE state; "voice_begin" = a `VOICE CALL: BEGIN`-style line.
    `min_ring_s`: an ACTIVE arriving sooner than this after ALERTING (or with no ALERTING at
    all when `require_alerting`) is reported with confidence "low" instead of "high".
    """

    mode: Literal["active", "voice_begin"] = "active"
    min_ring_s: float = 0.0
    require_alerting: bool = False


CLCC_STAT = {0: CallState.ACTIVE, 2: CallState.DIALING, 3: CallState.ALERTING, 6: CallState.RELEASED}
_CLCC_RE = re.compile(r'^(?P<id>\d+),(?P<dir>\d),(?P<stat>-?\d+),\d+,\d+(?:,"(?P<num>[^"]*)")?')


def parse_clcc_fields(body: str) -> tuple[int, int, int, str | None] | None:
    """`1,0,3,0,0,"13800138000",129` -> (id, dir, stat, number)."""
    m = _CLCC_RE.match(body.strip())
    if not m:
        return None
    return int(m["id"]), int(m["dir"]), int(m["stat"]), m["num"]


class Dialect:
    name: ClassVar[str] = "base"
    manufacturers: ClassVar[tuple[str, ...]] = ()
    slot_count: ClassVar[int] = 5
    supports_recording: ClassVar[bool] = False
    answer: ClassVar[AnswerHeuristic] = AnswerHeuristic()

    def init_commands(self) -> list[str]:
        return []

    iccid_command: ClassVar[str] = "AT+CCID"
    iccid_prefix: ClassVar[str] = "+CCID:"
    slot_query: ClassVar[str] = ""
    slot_prefix: ClassVar[str] = ""

    def parse_slot(self, line: str) -> int:
        return int(line.split(":", 1)[1].split(",")[-1])

    def select_slot_command(self, slot: int) -> str:
        raise NotImplementedError

    def parse_urc(self, line: str) -> list[DialectUrc] | None:
        """Vendor URC → normalised items, or None if this line is not the dialect's."""
        return None

    def remote_name(self, name: str) -> str:
        return name

    def play_prompt_command(self, remote: str) -> str:
        raise NotImplementedError

    def stop_prompt_command(self) -> str:
        raise NotImplementedError

    prompt_query: ClassVar[str | None] = None  # e.g. AT+QPSND? → "+QPSND: <0|1>"

    def parse_prompt_query(self, line: str) -> bool:
        return line.split(":", 1)[1].strip().startswith("1")

    async def upload(self, ch: AtChannel, remote: str, data: bytes) -> None:
        raise NotImplementedError

    async def start_recording(self, ch: AtChannel, remote: str) -> None:
        from ..errors import NotSupported

        raise NotSupported(f"{self.name} dialect cannot record calls")

    async def stop_recording(self, ch: AtChannel) -> None:
        from ..errors import NotSupported

        raise NotSupported(f"{self.name} dialect cannot record calls")

    async def download(self, ch: AtChannel, remote: str) -> bytes:
        from ..errors import NotSupported

        raise NotSupported(f"{self.name} dialect cannot read files")

    async def delete_file(self, ch: AtChannel, remote: str) -> None:
        return None
