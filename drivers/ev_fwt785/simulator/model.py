"""The simulated EV-FWT 785: a 27.007/27.005 modem with 5 SIM slots behind one serial line.

Host bytes go in with `receive()`, box bytes come out with `read_output()`; transports (sim://,
pty, TCP) only move bytes. Everything runs under the clock's lock, so the test thread advancing
virtual time and a transport thread writing commands never interleave inside the model.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog

from ..errors import CME_ERRORS, CMS_ERRORS
from ..sms import InvalidArgument, decode_pdu, encode_deliver, split_message
from .audio import tone_wav, wav_duration
from .callees import Callee, CalleeBook
from .cards import SimCard, default_cards
from .clock import Timer, VirtualClock
from .faults import Faults
from .sim_dialects import SIM_DIALECTS, SimDialect

log = structlog.get_logger("ev_fwt785.sim")

SIM_COMMANDS = frozenset({"+CPIN", "+CIMI", "+CCID", "+QCCID", "+CICCID", "+CMGS", "+CMGR", "+CPMS"})
CEER_TEXT = {
    0: "No cause information available",
    8: "Operator determined barring",
    16: "Normal call clearing",
    17: "User busy",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call rejected",
    34: "No circuit/channel available",
}
_ARG_RE = re.compile(r'"[^"]*"|[^,]+')


class SimPortGone(Exception):
    """The box is unplugged: transports turn this into serial.SerialException."""


@dataclass
class SimCall:
    id: int
    number: str
    slot: int
    callee: Callee
    dialed_at: float
    state: str = "dialing"
    answered_at: float | None = None
    timers: list[Timer] = field(default_factory=list)
    dtmf_sent: list[str] = field(default_factory=list)


@dataclass
class CallRecord:
    """What happened to each dial attempt, for tests and the dialer's limit proofs."""

    slot: int
    iccid: str
    number: str
    dialed_at: float
    outcome: str
    answered_at: float | None = None
    ended_at: float | None = None
    ceer: int | None = None


@dataclass
class SentSms:
    slot: int
    number: str
    text: str
    ref: int | None
    total: int
    seq: int


class SimBox:
    def __init__(
        self,
        name: str = "box1",
        *,
        dialect: str = "quectel",
        cards: Iterable[SimCard | None] | None = None,
        clock: VirtualClock | None = None,
        callees: CalleeBook | None = None,
        faults: Faults | None = None,
        baudrate: int = 115200,
        imei: str = "869710030012345",
        switch_s: float = 3.0,
        index: int = 0,
    ) -> None:
        self.name = name
        self.dialect: SimDialect = SIM_DIALECTS[dialect]()
        self.cards: list[SimCard | None] = list(cards) if cards is not None else list(default_cards(index))
        self.slot_count = len(self.cards)
        self.clock = clock or VirtualClock()
        self.lock = self.clock.lock
        self._cond = threading.Condition(self.lock)
        self.callees = callees or CalleeBook()
        self.faults = faults or Faults()
        self.baudrate = baudrate
        self.imei = imei
        self.switch_s = switch_s
        self.files: dict[str, bytes] = {"welcome.wav": tone_wav(3.0)}
        self.sent_sms: list[SentSms] = []
        self.call_log: list[CallRecord] = []
        self.commands: list[str] = []
        self.plugged = True
        self.connected = False
        self.slot = 1
        self._out = bytearray()
        self._in = bytearray()
        self._mode = "cmd"
        self._upload: tuple[str, int, str | None] | None = None
        self._sms_target: str | None = None
        self._inbox: dict[int, str] = {}
        self._mr = 0
        self._call_ids = 0
        self.call: SimCall | None = None
        self._prompt_timer: Timer | None = None
        self.prompt_playing = False
        self._recording: tuple[str, float, list[tuple[float, float]]] | None = None
        self._last_ceer = 0
        self._held_reply: Timer | None = None
        self._forced_reg: int | None = None
        self._power_on()

    # ------------------------------------------------------------ power / state

    def _power_on(self) -> None:
        self.echo = True
        self.cmee = 0
        self.cfun = 1
        self.cmgf = 0
        self.cnmi_mt = 0
        self.reg_n = {"+CREG": 0, "+CEREG": 0, "+CIREG": 0}
        self.cops_format = 0
        self.dialect.reset()
        self._mode = "cmd"
        self._in.clear()
        self.sim_ready = self.card_present

    @property
    def card(self) -> SimCard | None:
        return self.cards[self.slot - 1]

    @property
    def card_present(self) -> bool:
        c = self.card
        return c is not None and c.present

    def reg_stat(self) -> int:
        if self.cfun != 1 or not self.sim_ready or not self.card_present:
            return 0
        assert self.card is not None
        if self.card.denied or self.faults.registration_denied:
            return 3
        return 1 if self._forced_reg is None else self._forced_reg

    # ------------------------------------------------------------ transport side

    def connect(self) -> None:
        with self.lock:
            if not self.plugged:
                raise SimPortGone(f"sim box {self.name!r} is unplugged")
            self.connected = True
            self._out.clear()
            self._in.clear()
            self._mode = "cmd"

    def disconnect(self) -> None:
        with self.lock:
            self.connected = False

    def out_waiting(self) -> int:
        with self.lock:
            if not self.plugged:
                raise SimPortGone("unplugged")
            n = len(self._out)
            return min(n, self.faults.chunk_size) if self.faults.chunk_size else n

    def read_output(self, size: int, timeout: float | None) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._out:
                if not self.plugged:
                    raise SimPortGone("unplugged")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return b""
                self._cond.wait(remaining if remaining is not None else 0.1)
            if not self.plugged:
                raise SimPortGone("unplugged")
            if self.faults.chunk_size:
                size = min(size, self.faults.chunk_size)
            data = bytes(self._out[:size])
            del self._out[:size]
            return data

    def clear_output(self) -> None:
        with self.lock:
            self._out.clear()

    def receive(self, data: bytes) -> None:
        with self.lock:
            if not self.plugged:
                raise SimPortGone("unplugged")
            self._in += data
            self._process_input()

    def _send(self, data: bytes) -> None:
        self._out += data
        self._cond.notify_all()

    def _line(self, line: str) -> None:
        self._send(b"\r\n" + line.encode() + b"\r\n")

    def urc(self, *lines: str) -> None:
        """Emit unsolicited lines (thread-safe; tests may call it to inject URCs)."""
        with self.lock:
            for ln in lines:
                self._line(ln)

    # ------------------------------------------------------------ replies

    def ok(self, *lines: str) -> None:
        self._reply(list(lines), "OK")

    def error(self) -> None:
        self._reply([], "ERROR")

    def cme(self, code: int) -> None:
        self._reply([], self._err("+CME ERROR", code, CME_ERRORS))

    def cms(self, code: int) -> None:
        self._reply([], self._err("+CMS ERROR", code, CMS_ERRORS))

    def _err(self, prefix: str, code: int, table: dict[int, str]) -> str:
        if self.cmee == 0:
            return "ERROR"
        if self.cmee == 2 and code in table:
            return f"{prefix}: {table[code]}"
        return f"{prefix}: {code}"

    def _reply(self, lines: list[str], final: str) -> None:
        for ln in lines:
            self._line(ln)
        if self.faults.urc_mid_reply and lines:
            self._line(self.dialect.signal_urc(self._rssi()) or f"+CREG: {self.reg_stat()}")
        if final == "OK" and self._current in self.faults.missing_final:
            return
        self._line(final)

    def raw_reply(self, header: str, data: bytes) -> None:
        self._line(header)
        self._send(data)
        self._line("OK")

    # ------------------------------------------------------------ input parsing

    _current = ""

    def _process_input(self) -> None:
        while self._in:
            if self._mode == "upload":
                assert self._upload is not None
                name, left, ack = self._upload
                take = bytes(self._in[:left])
                del self._in[: len(take)]
                self.files[name] = self.files.get(name, b"") + take
                left -= len(take)
                self._upload = (name, left, ack)
                if left == 0:
                    self._mode = "cmd"
                    data = self.files[name]
                    lines = [f"+QFUPL: {len(data)},{_checksum(data):x}"] if ack else []
                    self.ok(*lines)
                continue
            if self._mode == "sms":
                end = next((i for i, b in enumerate(self._in) if b in (0x1A, 0x1B)), -1)
                if end < 0:
                    return
                body, term = bytes(self._in[:end]), self._in[end]
                del self._in[: end + 1]
                self._mode = "cmd"
                if term == 0x1B:
                    self.ok()
                else:
                    self._sms_body(body.decode(errors="replace").strip())
                continue
            cr = self._in.find(b"\r")
            if cr < 0:
                return
            raw = bytes(self._in[:cr])
            del self._in[: cr + 1]
            if self.echo or self.faults.force_echo:
                self._send(raw + b"\r")
            text = raw.decode(errors="replace").strip("\n\x00 ")
            if text:
                self._command(text)

    def _command(self, text: str) -> None:
        self.commands.append(text)
        if not text[:2].upper() == "AT":
            return  # modems ignore lines that do not start with AT
        body = text[2:]
        if not body:
            self._current = ""
            self.ok()
            return
        up = body.upper()
        if up[0] == "D":
            self._current = "D"
            self._dial(body[1:])
            return
        if up[0] != "+" and up[0] != "^":
            self._basic(up)
            return
        m = re.match(r"^([+^][A-Z0-9]+)(=\?|\?|=)?(.*)$", body, re.IGNORECASE)
        if not m:
            self.error()
            return
        name, op, rest = m[1].upper(), m[2] or "", m[3]
        self._current = name
        args = [a.strip() for a in _ARG_RE.findall(rest)] if op == "=" else []
        if name in SIM_COMMANDS and self._transient():
            return
        try:
            if self.dialect.handle(self, name, op, args):
                return
            self._extended(name, op, args)
        except (ValueError, IndexError):
            self.cme(4) if self.cmee else self.error()

    def _transient(self) -> bool:
        for code, left in list(self.faults.cme_transient.items()):
            if left > 0:
                self.faults.cme_transient[code] = left - 1
                self.cme(code)
                return True
        return False

    def _basic(self, up: str) -> None:
        self._current = up[:1]
        if up in ("E0", "E1"):
            self.echo = up == "E1"
            self.ok()
        elif up in ("Z", "Z0", "&F", "V1", "Q0", "&F0"):
            self.echo, self.cmee = True, 0
            self.ok()
        elif up == "I" or up == "I0":
            d = self.dialect
            self.ok(d.manufacturer, d.model, f"Revision: {d.revision}")
        elif up in ("H", "H0"):
            self._local_hangup()
        elif up == "A":
            self._line("NO CARRIER")
        else:
            self.error()

    # ------------------------------------------------------------ standard commands

    def _rssi(self) -> int:
        c = self.card
        return c.rssi if c is not None and c.present and self.cfun == 1 else 99

    def _extended(self, name: str, op: str, args: list[str]) -> None:
        if op == "=?":
            self.ok()
            return
        c = self.card
        d = self.dialect
        if name == "+CMEE":
            self.cmee = int(args[0]) if op == "=" else self.cmee
            self.ok(f"+CMEE: {self.cmee}") if op == "?" else self.ok()
        elif name == "+CGMI" or name == "+GMI":
            self.ok(d.manufacturer)
        elif name == "+CGMM" or name == "+GMM":
            self.ok(d.model)
        elif name == "+CGMR" or name == "+GMR":
            self.ok(f"Revision: {d.revision}")
        elif name in ("+CGSN", "+GSN"):
            self.ok(self.imei)
        elif name == "+CFUN":
            if op == "?":
                self.ok(f"+CFUN: {self.cfun}")
            else:
                self._cfun(int(args[0]), int(args[1]) if len(args) > 1 else 0)
        elif name == "+CPIN" and op == "?":
            if self.cfun != 1 or c is None or not c.present:
                self.cme(10 if (c is None or not c.present) else 13)
            elif not self.sim_ready:
                self.cme(14)
            else:
                self.ok("+CPIN: READY")
        elif name == "+CIMI":
            self._sim_value(c.imsi if c else "")
        elif name in d.iccid_commands:
            self._sim_value(f"{d.iccid_commands[name]}: {c.iccid}" if c else "")
        elif name == "+CSQ":
            self.ok(f"+CSQ: {self._rssi()},99")
        elif name in self.reg_n:
            if op == "=":
                self.reg_n[name] = int(args[0])
                self.ok()
            else:
                self.ok(self._reg_line(name, query=True))
        elif name == "+COPS":
            if op == "=":
                if len(args) >= 2 and args[0] == "3":
                    self.cops_format = int(args[1])
                self.ok()
            elif self.reg_stat() in (1, 5) and c is not None:
                oper = c.plmn if self.cops_format == 2 else c.operator_name
                self.ok(f'+COPS: 0,{self.cops_format},"{oper}",7')
            else:
                self.ok("+COPS: 0")
        elif name == "+CPAS":
            self.ok(f"+CPAS: {4 if self.call and self.call.state == 'active' else (3 if self.call else 0)}")
        elif name == "+CLCC" and op == "":
            call = self.call
            self.ok(*([f'+CLCC: {call.id},0,{_CLCC[call.state]},0,0,"{call.number}",129'] if call else []))
        elif name == "+CEER":
            code = self._last_ceer
            self.ok(f'+CEER: "{code} {CEER_TEXT.get(code, "Unspecified")}"')
        elif name == "+CHUP":
            self._local_hangup()
        elif name == "+VTS":
            if self.call is None or self.call.state != "active":
                self.cme(3)
            else:
                self.call.dtmf_sent.append(args[0].strip('"'))
                self.ok()
        elif name == "+CMGF":
            self.cmgf = int(args[0]) if op == "=" else self.cmgf
            self.ok(f"+CMGF: {self.cmgf}") if op == "?" else self.ok()
        elif name == "+CNMI":
            if op == "=":
                self.cnmi_mt = int(args[1]) if len(args) > 1 else 0
            self.ok()
        elif name == "+CMGS":
            self._cmgs(args)
        elif name == "+CMGR":
            idx = int(args[0])
            pdu = self._inbox.get(idx)
            if pdu is None:
                self.cms(321)
            else:
                self.ok(f"+CMGR: 0,,{len(pdu) // 2 - 1}", pdu)
        elif name == "+CMGD":
            self._inbox.pop(int(args[0]), None)
            self.ok()
        elif name == "+CMGL":
            lines = []
            for idx, pdu in sorted(self._inbox.items()):
                lines += [f"+CMGL: {idx},0,,{len(pdu) // 2 - 1}", pdu]
            self.ok(*lines)
        elif name == "+CCLK":
            self.ok(time.strftime('+CCLK: "%y/%m/%d,%H:%M:%S+32"', time.gmtime(self.clock.now() + 8 * 3600)))
        elif name in (
            "+CSCS",
            "+CLIP",
            "+CVHU",
            "+CMUT",
            "+CLVL",
            "+COLP",
            "+CRC",
            "+CSMP",
            "+CPMS",
            "+CSCA",
        ):
            self.ok()
        else:
            self.error()

    def _sim_value(self, value: str) -> None:
        if not self.card_present or self.cfun != 1:
            self.cme(10)
        elif not self.sim_ready:
            self.cme(14)
        else:
            self.ok(value)

    def _reg_line(self, name: str, *, query: bool) -> str:
        stat = self.reg_stat()
        n = self.reg_n[name]
        extra = ',"1A2B","0A1B2C3D",7' if n >= 2 and stat in (1, 5) and name != "+CIREG" else ""
        if name == "+CIREG" and n >= 2 and stat in (1, 5):
            extra = ",1"
        return f"{name}: {n},{stat}{extra}" if query else f"{name}: {stat}{extra}"

    def _reg_urcs(self) -> None:
        for name, n in self.reg_n.items():
            if n >= 1:
                self._line(self._reg_line(name, query=False))

    # ------------------------------------------------------------ radio and slots

    def _cfun(self, fun: int, reset: int) -> None:
        if reset == 1:
            self.ok()
            self._reboot()
            return
        if fun == 0 or fun == 4:
            self._drop_call()
            self.cfun = fun
            self.sim_ready = False
            self.ok()
            self._reg_urcs()
            return
        if self.faults.slow_cfun_s > 0:
            self._held_reply = self.clock.call_later(self.faults.slow_cfun_s, lambda: self._radio_on(True))
            return
        self._radio_on(False)

    def _radio_on(self, deferred: bool) -> None:
        if self.switch_s and not deferred:
            self.clock.advance(self.switch_s)
        self.cfun = 1
        self.ok()
        self.sim_ready = self.card_present
        if self.sim_ready:
            for ln in self.dialect.boot_urcs():
                self._line(ln)
        self._reg_urcs()
        sig = self.dialect.signal_urc(self._rssi())
        if sig:
            self._line(sig)

    def select_slot(self, slot: int) -> None:
        if not 1 <= slot <= self.slot_count:
            self.cme(3)
            return
        if self.call is not None:
            self.cme(3)
            return
        self.slot = slot
        if self.cfun == 1:
            self.sim_ready = self.card_present
        self.ok()

    # ------------------------------------------------------------ calls

    def _dial(self, rest: str) -> None:
        number = rest.strip().rstrip(";").strip()
        c = self.card
        if not rest.strip().endswith(";") or not re.fullmatch(r"\+?[0-9*#]+", number or "x"):
            self.error()
            return
        if self.call is not None:
            self.cme(3)
            return
        if c is None or not c.present or not self.sim_ready:
            self.cme(10 if (c is None or not c.present) else 14)
            return
        if self.reg_stat() not in (1, 5):
            self.cme(30)
            return
        now = self.clock.now()
        allowed = c.register_dial(now)
        rec = CallRecord(self.slot, c.iccid, number, now, "dialing")
        self.call_log.append(rec)
        if not allowed or self.faults.no_carrier_on_dial:
            self._last_ceer = 8 if not allowed else 34
            rec.outcome = "blocked" if not allowed else "no_carrier"
            rec.ceer, rec.ended_at = self._last_ceer, now
            log.info("sim_dial_refused", box=self.name, number=number, blocked=not allowed)
            self._reply([], "NO CARRIER")
            return
        self._call_ids += 1
        callee = self.callees.lookup(number)
        call = SimCall(self._call_ids, number, self.slot, callee, now)
        self.call = call
        self.ok()
        self._call_urcs(call, "dialing")
        self._schedule(call, rec)

    def _call_urcs(self, call: SimCall, state: str) -> None:
        call.state = state
        if not self.faults.drop_urcs:
            for ln in self.dialect.call_urcs(self, call, state):
                self._line(ln)

    def _schedule(self, call: SimCall, rec: CallRecord) -> None:
        cl, f = call.callee, self.faults
        t = call.timers

        def at(delay: float, fn: object) -> None:
            t.append(self.clock.call_later(delay, fn))  # type: ignore[arg-type]

        if cl.outcome == "busy":
            at(cl.ring_after, lambda: self._remote_end(call, rec, "busy", 17, "BUSY"))
            return
        if cl.outcome == "unreachable":
            if f.announcement_answers:
                at(cl.ring_after, lambda: self._answer(call, rec))
                at(cl.ring_after + 8.0, lambda: self._remote_end(call, rec, "unreachable", 16, "NO CARRIER"))
            else:
                at(cl.ring_after, lambda: self._remote_end(call, rec, "unreachable", 20, "NO CARRIER"))
            return
        at(cl.ring_after, lambda: self._alert(call))
        if cl.outcome == "no_answer":
            at(
                cl.ring_after + cl.ring_timeout,
                lambda: self._remote_end(call, rec, "no_answer", 19, "NO ANSWER"),
            )
        elif cl.outcome == "reject":
            if not f.reject_not_propagated:
                at(
                    max(cl.answer_after, cl.ring_after),
                    lambda: self._remote_end(call, rec, "rejected", 21, "NO CARRIER"),
                )
        else:
            ans = max(cl.answer_after, cl.ring_after)
            at(ans, lambda: self._answer(call, rec))
            for dt, digit in cl.dtmf:
                at(ans + dt, lambda digit=digit: self._dtmf(call, digit))
            if cl.hangup_after is not None:
                at(ans + cl.hangup_after, lambda: self._remote_end(call, rec, "answered", 16, "NO CARRIER"))

    def _alert(self, call: SimCall) -> None:
        if self.call is not call:
            return
        self._call_urcs(call, "alerting")
        if self.faults.false_active_at_ringback:
            self._call_urcs(call, "active")

    def _answer(self, call: SimCall, rec: CallRecord) -> None:
        if self.call is not call:
            return
        call.answered_at = rec.answered_at = self.clock.now()
        self._call_urcs(call, "active")

    def _dtmf(self, call: SimCall, digit: str) -> None:
        if self.call is call:
            urc = self.dialect.dtmf_urc(digit)
            if urc:
                self._line(urc)

    def _remote_end(self, call: SimCall, rec: CallRecord, outcome: str, ceer: int, text: str | None) -> None:
        if self.call is not call:
            return
        rec.outcome, rec.ceer, rec.ended_at = outcome, ceer, self.clock.now()
        self._release(call, ceer, text)

    def _release(self, call: SimCall, ceer: int, text: str | None) -> None:
        self._last_ceer = ceer
        self._finish_media(call)
        for tm in call.timers:
            tm.cancel()
        lines = self.dialect.end_lines(self, call, text)
        self.call = None
        call.state = "released"
        if self.faults.drop_urcs:
            lines = [text] if text else []
        for ln in lines:
            self._line(ln)

    def _local_hangup(self) -> None:
        call = self.call
        if call is None:
            self.ok()
            return
        for rec in reversed(self.call_log):
            if rec.ended_at is None:
                rec.outcome = "answered" if call.answered_at is not None else "cancelled"
                rec.ended_at, rec.ceer = self.clock.now(), 16
                break
        self.ok()
        self._release(call, 16, None)

    def _drop_call(self) -> None:
        """Radio off / reboot / unplug: the call just vanishes."""
        call = self.call
        if call is None:
            return
        for tm in call.timers:
            tm.cancel()
        self._finish_media(call)
        self.call = None
        for rec in reversed(self.call_log):
            if rec.ended_at is None:
                rec.outcome, rec.ended_at = "dropped", self.clock.now()
                break

    # ------------------------------------------------------------ prompt, recording, files

    def play_prompt(self, name: str) -> None:
        call = self.call
        if call is None or call.state != "active":
            self.cme(903)
            return
        data = self.files.get(name)
        if data is None:
            self.cme(405)
            return
        duration = wav_duration(data)
        if duration is None:
            self.cme(4)
            return
        self.ok()
        for ln in self.dialect.prompt_urcs(True):
            self._line(ln)
        self.prompt_playing = True
        self._prompt_timer = self.clock.call_later(duration, self._prompt_done)

    def _prompt_done(self) -> None:
        self.prompt_playing = False
        self._prompt_timer = None
        if not self.faults.prompt_finished_lost:
            for ln in self.dialect.prompt_urcs(False):
                self._line(ln)

    def stop_prompt(self) -> None:
        if self._prompt_timer is not None:
            self._prompt_timer.cancel()
        self._prompt_timer = None
        self.prompt_playing = False
        self.ok()

    def start_recording(self, name: str) -> None:
        call = self.call
        if call is None or call.state != "active":
            self.cme(903)
            return
        speech = []
        if call.answered_at is not None:
            for at in call.callee.speak_at:
                speech.append((call.answered_at + at, call.callee.speak_s))
        self._recording = (name, self.clock.now(), speech)
        self.ok()

    def stop_recording(self) -> None:
        self._save_recording()
        self.ok()

    def _save_recording(self) -> None:
        if self._recording is None:
            return
        name, start, speech = self._recording
        self._recording = None
        length = min(600.0, self.clock.now() - start)
        segments = [(s - start, d) for s, d in speech]
        self.files[name] = tone_wav(length, freq=300.0, segments=segments)

    def _finish_media(self, call: SimCall) -> None:
        if self._prompt_timer is not None:
            self._prompt_timer.cancel()
            self._prompt_timer = None
        self.prompt_playing = False
        self._save_recording()

    def begin_upload(self, name: str, size: int, *, prompt: str, ack_prefix: str | None) -> None:
        self.files[name] = b""
        if prompt == "CONNECT":
            self._line("CONNECT")
        else:
            self._send(b"\r\n> ")
        self._upload = (name, size, ack_prefix)
        self._mode = "upload" if size > 0 else "cmd"
        if size == 0:
            self.ok()

    # ------------------------------------------------------------ SMS

    def _cmgs(self, args: list[str]) -> None:
        if not self.card_present or not self.sim_ready:
            self.cms(310)
            return
        self._sms_target = args[0].strip('"') if self.cmgf == 1 else None
        self._mode = "sms"
        self._send(b"\r\n> ")

    def _sms_body(self, body: str) -> None:
        if self.cmgf == 1:
            assert self._sms_target is not None
            sent = SentSms(self.slot, self._sms_target, body, None, 1, 1)
        else:
            try:
                pdu = decode_pdu(body)
            except InvalidArgument:
                self.cms(304)
                return
            sent = SentSms(self.slot, pdu.number, pdu.text, pdu.ref, pdu.total, pdu.seq)
        self.sent_sms.append(sent)
        self._mr = (self._mr + 1) % 256
        self.ok(f"+CMGS: {self._mr}")

    def deliver_sms(self, sender: str, text: str, *, ref: int = 42) -> None:
        """Someone texts the active SIM: store each part and announce it with `+CMTI`."""
        with self.lock:
            ts = time.strftime("%y%m%d%H%M%S", time.gmtime(self.clock.now() + 8 * 3600))
            scts = "".join(ts[i + 1] + ts[i] for i in range(0, 12, 2)) + "23"
            for seg in split_message(text, ref=ref):
                idx = max(self._inbox, default=0) + 1
                self._inbox[idx] = encode_deliver(sender, seg, scts)
                if self.cnmi_mt >= 1:
                    self._line(f'+CMTI: "SM",{idx}')

    # ------------------------------------------------------------ test controls

    def set_signal(self, slot: int, rssi: int) -> None:
        with self.lock:
            card = self.cards[slot - 1]
            if card is None:
                return
            card.rssi = rssi
            if slot == self.slot:
                urc = self.dialect.signal_urc(self._rssi())
                if urc:
                    self._line(urc)

    def set_registration(self, stat: int | None) -> None:
        """Force the network registration state (None = back to normal) and emit URCs."""
        with self.lock:
            self._forced_reg = stat
            self._reg_urcs()

    def remove_sim(self, slot: int) -> None:
        with self.lock:
            card = self.cards[slot - 1]
            if card is None or not card.present:
                return
            card.present = False
            if slot == self.slot:
                if self.call is not None:
                    self._release(self.call, 34, "NO CARRIER")
                self.sim_ready = False
                for ln in self.dialect.sim_urcs(False):
                    self._line(ln)
                self._reg_urcs()

    def insert_sim(self, slot: int, card: SimCard | None = None) -> None:
        with self.lock:
            if card is not None:
                self.cards[slot - 1] = card
            c = self.cards[slot - 1]
            if c is None:
                return
            c.present = True
            if slot == self.slot and self.cfun == 1:
                self.sim_ready = True
                for ln in self.dialect.sim_urcs(True):
                    self._line(ln)
                if "+CPIN: READY" not in self.dialect.sim_urcs(True):
                    self._line("+CPIN: READY")
                self._reg_urcs()

    def inject_bytes(self, data: bytes) -> None:
        with self.lock:
            self._send(data)

    def reboot(self) -> None:
        """The module resets by itself: the call vanishes, `RDY`, SIM init, settings back to defaults."""
        with self.lock:
            self._reboot()

    def _reboot(self) -> None:
        self._drop_call()
        self._power_on()
        self._line("RDY")
        if self.card_present:
            self._line("+CPIN: NOT READY")
            for ln in self.dialect.boot_urcs():
                self._line(ln)

    def unplug(self) -> None:
        """USB cable pulled: the port disappears (reads/writes fail, opening fails) and the box
        loses power; the call is gone."""
        with self._cond:
            self.plugged = False
            self.connected = False
            self._drop_call()
            self._out.clear()
            self._cond.notify_all()

    def replug(self) -> None:
        with self.lock:
            self.plugged = True
            self._power_on()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


_CLCC = {"active": 0, "dialing": 2, "alerting": 3, "released": 6}


def _checksum(data: bytes) -> int:
    """Quectel-style XOR of 16-bit big-endian words."""
    if len(data) % 2:
        data += b"\x00"
    x = 0
    for i in range(0, len(data), 2):
        x ^= (data[i] << 8) | data[i + 1]
    return x
