"""The simulator's side of each dialect: vendor commands and URCs, one class per firmware family.

Mirrors `drivers/ev_fwt785/dialects/`: slot switch, prompt playback, recording and files,
call-state URCs, identity strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from .audio import wav_duration

if TYPE_CHECKING:
    from .model import SimBox, SimCall

CLCC_CODE = {"active": 0, "dialing": 2, "alerting": 3, "released": 6}


def _unquote(s: str) -> str:
    return s.strip().strip('"')


class SimDialect:
    name: ClassVar[str] = "base"
    manufacturer: ClassVar[str] = ""
    model: ClassVar[str] = ""
    revision: ClassVar[str] = ""
    iccid_commands: ClassVar[dict[str, str]] = {"+CCID": "+CCID"}

    def reset(self) -> None:
        """URC switches back to power-on defaults (after a reboot)."""

    def handle(self, box: SimBox, name: str, op: str, args: list[str]) -> bool:
        """Vendor command; return False if not ours. `op` is "", "?", "=?" or "="."""
        return False

    def call_urcs(self, box: SimBox, call: SimCall, state: str) -> list[str]:
        return []

    def end_lines(self, box: SimBox, call: SimCall, text: str | None) -> list[str]:
        """Lines sent when the call is released; `text` is NO CARRIER / BUSY / NO ANSWER or None."""
        return [text] if text else []

    def signal_urc(self, rssi: int) -> str | None:
        return None

    def sim_urcs(self, inserted: bool) -> list[str]:
        return []

    def boot_urcs(self) -> list[str]:
        return ["+CPIN: READY"]

    def prompt_urcs(self, started: bool) -> list[str]:
        return []

    def dtmf_urc(self, digit: str) -> str | None:
        return None

    def file_name(self, raw: str) -> str:
        return _unquote(raw)


class QuectelSim(SimDialect):
    name = "quectel"
    manufacturer = "Quectel"
    model = "EC25"
    revision = "EC25EFAR06A03M4G"
    iccid_commands: ClassVar[dict[str, str]] = {"+QCCID": "+QCCID", "+CCID": "+CCID"}

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.ccinfo = False
        self.csq = False
        self.simstat = False
        self.tonedet = False
        self._handles: dict[int, tuple[str, int]] = {}

    def handle(self, box: SimBox, name: str, op: str, args: list[str]) -> bool:
        if name == "+QINDCFG" and op == "=":
            key, on = _unquote(args[0]).lower(), args[1:2] == ["1"]
            if key in ("ccinfo", "csq"):
                setattr(self, key, on)
            box.ok()
        elif name == "+QSIMSTAT" and op == "=":
            self.simstat = args[0] == "1"
            box.ok()
        elif name == "+QSIMSTAT" and op == "?":
            box.ok(f"+QSIMSTAT: {int(self.simstat)},{int(box.card_present)}")
        elif name == "+QTONEDET" and op == "=":
            self.tonedet = args[0] == "1"
            box.ok()
        elif name == "+QUIMSLOT":
            if op == "?":
                box.ok(f"+QUIMSLOT: {box.slot}")
            elif op == "=?":
                box.ok(f"+QUIMSLOT: (1-{box.slot_count})")
            else:
                box.select_slot(int(args[0]))
        elif name == "+QINISTAT" and op == "":
            box.ok(f"+QINISTAT: {7 if box.sim_ready else 0}")
        elif name == "+QPSND":
            if op == "?":
                box.ok(f"+QPSND: {int(box.prompt_playing)}")
            elif args and args[0] == "0":
                box.stop_prompt()
            elif len(args) >= 2:
                box.play_prompt(self.file_name(args[1]))
            else:
                box.error()
        elif name == "+QAUDRD" and op == "=":
            if args[0] == "1" and len(args) >= 2:
                box.start_recording(self.file_name(args[1]))
            else:
                box.stop_recording()
        elif name == "+QFUPL" and op == "=":
            box.begin_upload(self.file_name(args[0]), int(args[1]), prompt="CONNECT", ack_prefix="+QFUPL")
        elif name == "+QFDEL" and op == "=":
            if box.files.pop(self.file_name(args[0]), None) is None:
                box.cme(405)
            else:
                box.ok()
        elif name == "+QFLST":
            box.ok(*(f'+QFLST: "{n}",{len(d)}' for n, d in box.files.items()))
        elif name == "+QFOPEN" and op == "=":
            fname = self.file_name(args[0])
            if fname not in box.files:
                box.cme(405)
            else:
                h = len(self._handles) + 1
                self._handles[h] = (fname, 0)
                box.ok(f"+QFOPEN: {h}")
        elif name == "+QFREAD" and op == "=":
            h = int(args[0])
            if h not in self._handles:
                box.cme(4)
            else:
                fname, pos = self._handles[h]
                want = int(args[1]) if len(args) > 1 else 1024
                chunk = box.files.get(fname, b"")[pos : pos + want]
                self._handles[h] = (fname, pos + len(chunk))
                box.raw_reply(f"CONNECT {len(chunk)}", chunk)
        elif name == "+QFCLOSE" and op == "=":
            self._handles.pop(int(args[0]), None)
            box.ok()
        else:
            return False
        return True

    def call_urcs(self, box: SimBox, call: SimCall, state: str) -> list[str]:
        if not self.ccinfo:
            return []
        stat = -1 if state == "released" else CLCC_CODE[state]
        return [f'+QIND: "ccinfo",{call.id},0,{stat},0,0,"{call.number}",129']

    def end_lines(self, box: SimBox, call: SimCall, text: str | None) -> list[str]:
        return ([text] if text else []) + self.call_urcs(box, call, "released")

    def signal_urc(self, rssi: int) -> str | None:
        return f'+QIND: "csq",{rssi},99' if self.csq else None

    def sim_urcs(self, inserted: bool) -> list[str]:
        return [f"+QSIMSTAT: {int(self.simstat)},{int(inserted)}"] if self.simstat else []

    def boot_urcs(self) -> list[str]:
        return ["+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"]

    def prompt_urcs(self, started: bool) -> list[str]:
        return [] if started else ["+QPSND: 0"]

    def dtmf_urc(self, digit: str) -> str | None:
        return f"+QTONEDET: {ord(digit)}" if self.tonedet else None


class SimcomSim(SimDialect):
    name = "simcom"
    manufacturer = "SIMCOM INCORPORATED"
    model = "A7670SA"
    revision = "A011B07A7670M7"
    iccid_commands: ClassVar[dict[str, str]] = {"+CICCID": "+ICCID", "+CCID": "+CCID"}

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.clcc = False
        self.autocsq = False
        self.ddet = False
        self.hotswap = False

    def handle(self, box: SimBox, name: str, op: str, args: list[str]) -> bool:
        if name == "+CLCC" and op == "=":
            self.clcc = args[0] == "1"
            box.ok()
        elif name == "+AUTOCSQ" and op == "=":
            self.autocsq = args[0] == "1"
            box.ok()
        elif name == "+DDET" and op == "=":
            self.ddet = args[0] == "1"
            box.ok()
        elif name == "+SIMHOTSWAP" and op == "=":
            self.hotswap = args[0] == "1"
            box.ok()
        elif name == "+SMSIMCFG":
            if op == "?":
                box.ok(f"+SMSIMCFG: 1,{box.slot}")
            elif op == "=?":
                box.ok(f"+SMSIMCFG: (1),(1-{box.slot_count})")
            else:
                box.select_slot(int(args[-1]))
        elif name == "+CCMXPLAY" and op == "=":
            box.play_prompt(self.file_name(args[0]))
        elif name == "+CCMXSTOP":
            box.stop_prompt()
        elif name == "+CFTRANRX" and op == "=":
            box.begin_upload(self.file_name(args[0]), int(args[1]), prompt="> ", ack_prefix=None)
        elif name == "+FSDEL" and op == "=":
            box.files.pop(self.file_name(args[0]), None)
            box.ok()
        else:
            return False
        return True

    def file_name(self, raw: str) -> str:
        return _unquote(raw).removeprefix("C:/").removeprefix("c:/")

    def call_urcs(self, box: SimBox, call: SimCall, state: str) -> list[str]:
        if not self.clcc:
            return []
        lines = [f'+CLCC: {call.id},0,{CLCC_CODE[state]},0,0,"{call.number}",129']
        if state == "active":
            lines.append("VOICE CALL: BEGIN")
        return lines

    def end_lines(self, box: SimBox, call: SimCall, text: str | None) -> list[str]:
        lines = []
        if call.answered_at is not None:
            lines.append(f"VOICE CALL: END: {int(box.clock.now() - call.answered_at):06d}")
        if text:
            lines.append(text)
        return lines + self.call_urcs(box, call, "released")

    def signal_urc(self, rssi: int) -> str | None:
        return f"+CSQ: {rssi},99" if self.autocsq else None

    def sim_urcs(self, inserted: bool) -> list[str]:
        if not self.hotswap:
            return []
        return ["+CPIN: READY"] if inserted else ["+SIMCARD: NOT AVAILABLE"]

    def boot_urcs(self) -> list[str]:
        return ["+CPIN: READY", "SMS DONE", "PB DONE"]

    def prompt_urcs(self, started: bool) -> list[str]:
        return ["+AUDIOSTATE: audio play" if started else "+AUDIOSTATE: audio play stop"]

    def dtmf_urc(self, digit: str) -> str | None:
        return f"+DTMF: {digit}" if self.ddet else None


SIM_DIALECTS: dict[str, type[SimDialect]] = {"quectel": QuectelSim, "simcom": SimcomSim}


def playable(data: bytes) -> float | None:
    return wav_duration(data)
