"""Sans-io AT line parser, modelled on AOSP reference-ril `atchannel.c`.

Bytes go in with `feed()`; classified items come out one at a time from `next_event()` (h11 style,
so a caller can `begin()` the next command exactly between two items and the output does not depend
on how the byte stream was chunked). At most one command is pending. A line that is neither the
pending command's echo, intermediate response nor final result code is unsolicited — even in the
middle of a reply.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

FINAL_OK = ("OK",)
FINAL_ERROR_PREFIXES = ("ERROR", "+CME ERROR:", "+CMS ERROR:")
DIAL_FINALS = ("NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE")
TWO_LINE_URCS = ("+CMT:", "+CDS:", "+CBM:")


class Kind(enum.Enum):
    NO_RESULT = "no_result"  # only a final result code
    NUMERIC = "numeric"  # one line starting with a digit (IMEI, IMSI)
    SINGLELINE = "singleline"  # one line with `prefix`
    MULTILINE = "multiline"  # any number of lines with `prefix` (or any line if prefix is None)
    DIAL = "dial"  # ATD: NO CARRIER/BUSY/NO ANSWER/NO DIALTONE are final codes too
    PROMPT = "prompt"  # AT+CMGS / uploads: `> ` or `CONNECT` asks for the payload
    RAW = "raw"  # `CONNECT <n>` followed by n raw bytes (file read)


@dataclass(frozen=True)
class Command:
    text: str
    kind: Kind = Kind.NO_RESULT
    prefix: str | None = None


@dataclass(frozen=True)
class Response:
    command: str
    lines: tuple[str, ...]
    final: str
    data: bytes = b""

    @property
    def ok(self) -> bool:
        return self.final in FINAL_OK or self.final.startswith("CONNECT")

    def line(self, prefix: str | None = None) -> str | None:
        for ln in self.lines:
            if prefix is None or ln.startswith(prefix):
                return ln
        return None


@dataclass(frozen=True)
class Unsolicited:
    line: str
    pdu: str | None = None


@dataclass(frozen=True)
class Prompt:
    command: str


@dataclass(frozen=True)
class Echo:
    line: str


ParserEvent = Response | Unsolicited | Prompt | Echo


@dataclass
class _Pending:
    command: Command
    lines: list[str] = field(default_factory=list)
    data: bytes = b""
    prompted: bool = False


class AtParser:
    def __init__(self) -> None:
        self._buf = bytearray()
        self._pending: _Pending | None = None
        self._raw_left = 0
        self._pdu_header: str | None = None
        self._skip_lf = False
        self._last_eol = 0

    @property
    def pending(self) -> Command | None:
        return self._pending.command if self._pending else None

    def begin(self, command: Command) -> None:
        if self._pending is not None:
            raise RuntimeError(f"command {self._pending.command.text!r} still pending")
        self._pending = _Pending(command)

    def abandon(self) -> Response | None:
        """Forget the pending command (timeout); return what it collected, with an empty final.

        Later lines for it become unsolicited.
        """
        pending, self._pending = self._pending, None
        self._raw_left = 0
        if pending is None:
            return None
        return Response(pending.command.text, tuple(pending.lines), "", pending.data)

    def reset(self) -> None:
        self._buf.clear()
        self._pending = None
        self._raw_left = 0
        self._pdu_header = None
        self._skip_lf = False

    def feed(self, data: bytes) -> None:
        self._buf += data

    def next_event(self) -> ParserEvent | None:
        """Return the next complete item, or None when more bytes are needed."""
        while True:
            if self._raw_left:
                if not self._buf:
                    return None
                if self._skip_lf:
                    self._skip_lf = False
                    if self._buf[0] == 10:
                        del self._buf[0]
                        continue
                assert self._pending is not None
                take = bytes(self._buf[: self._raw_left])
                del self._buf[: len(take)]
                self._pending.data += take
                self._raw_left -= len(take)
                continue
            if self._wants_prompt():
                stripped = self._buf.lstrip(b"\r\n")
                if stripped.startswith(b"> "):
                    del self._buf[: len(self._buf) - len(stripped) + 2]
                    assert self._pending is not None
                    self._pending.prompted = True
                    return Prompt(self._pending.command.text)
                if stripped in (b"", b">"):
                    if b"\n" not in self._buf and b"\r" not in self._buf.lstrip(b"\r\n"):
                        return None
            lead = 0
            while lead < len(self._buf) and self._buf[lead] in (10, 13):
                lead += 1
            if lead:
                self._last_eol = self._buf[lead - 1]
                del self._buf[:lead]
            nl = self._find_eol()
            if nl < 0:
                return None
            raw = bytes(self._buf[:nl])
            self._last_eol = self._buf[nl]
            del self._buf[: nl + 1]
            line = raw.decode("utf-8", errors="replace").strip("\r\n\x00 ")
            if not line:
                continue
            event = self._classify(line)
            if event is not None:
                return event

    def _wants_prompt(self) -> bool:
        p = self._pending
        return p is not None and p.command.kind is Kind.PROMPT and not p.prompted

    def _find_eol(self) -> int:
        """Lines end in CR, LF or CRLF; `\\r\\n` pairs collapse because empty lines are skipped."""
        cr, lf = self._buf.find(b"\r"), self._buf.find(b"\n")
        return lf if cr < 0 else cr if lf < 0 else min(cr, lf)

    def _classify(self, line: str) -> ParserEvent | None:
        if self._pdu_header is not None:
            header, self._pdu_header = self._pdu_header, None
            return Unsolicited(header, line)
        p = self._pending
        if p is None:
            return self._unsolicited(line)
        cmd = p.command
        if line == cmd.text and not p.lines:
            return Echo(line)
        if line in FINAL_OK or line.startswith(FINAL_ERROR_PREFIXES):
            return self._finish(line)
        if cmd.kind is Kind.DIAL and line in DIAL_FINALS:
            return self._finish(line)
        if line.startswith("CONNECT"):
            if cmd.kind is Kind.RAW:
                rest = line[len("CONNECT") :].strip()
                self._raw_left = int(rest) if rest.isdigit() else 0
                self._skip_lf = self._last_eol == 13  # the CR of a CRLF: its LF is not payload
                return None
            if cmd.kind is Kind.PROMPT and not p.prompted:
                p.prompted = True
                return Prompt(cmd.text)
            return self._finish(line)
        if self._belongs(cmd, p, line):
            p.lines.append(line)
            return None
        return self._unsolicited(line)

    @staticmethod
    def _belongs(cmd: Command, p: _Pending, line: str) -> bool:
        if cmd.kind is Kind.NUMERIC:
            return not p.lines and line[:1].isdigit()
        if cmd.kind is Kind.SINGLELINE:
            return not p.lines and cmd.prefix is not None and line.startswith(cmd.prefix)
        if cmd.kind in (Kind.MULTILINE, Kind.RAW, Kind.PROMPT):
            return cmd.prefix is None or line.startswith(cmd.prefix)
        return False

    def _finish(self, final: str) -> Response:
        assert self._pending is not None
        p, self._pending = self._pending, None
        return Response(p.command.text, tuple(p.lines), final, p.data)

    def _unsolicited(self, line: str) -> Unsolicited | None:
        if line.startswith(TWO_LINE_URCS):
            self._pdu_header = line
            return None
        return Unsolicited(line)
