"""The async driver API: one `Box` per phone box (serial port).

    async with Box("sim://box1") as box:
        events = box.subscribe()
        call = await box.dial("13800138000", slot=2)
        ended = await call.wait_ended()

A supervisor task owns the connection: it opens the port, initialises the module, and on a serial
exception ends the call with cause `box_disconnected`, emits `BoxDisconnected`, and reconnects with
exponential back-off, emitting `BoxReconnected`. Events carry a gap-free per-box sequence number.
"""

from __future__ import annotations

import collections
import math
import re
import time
import wave
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import msgspec
import structlog
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from . import events as ev
from .channel import AtChannel
from .dialects import AnswerHeuristic, CallState, CallUpdate, Dialect, detect_dialect, get_dialect
from .dialects.base import DtmfDigit, PromptDone, SignalUpdate, SimPresence
from .errors import (
    BoxDisconnectedError,
    BoxError,
    BoxNotResponding,
    CallError,
    CommandError,
    CommandTimeout,
    InvalidArgument,
    PromptError,
    SlotError,
)
from .info import Identity, Operator, Registration, Signal, SlotStatus, is_registered
from .parser import Kind, Unsolicited
from .sms import Reassembler, decode_pdu, encode_submit, split_message
from .transport import Transport

log = structlog.get_logger("ev_fwt785.box")

DIALABLE = re.compile(r"^\+?[0-9*#]{3,24}$")
SMS_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
DTMF = re.compile(r"^[0-9*#A-D]+$")

Q850_CAUSES: dict[int, ev.EndCause] = {
    16: "normal",
    31: "normal",
    17: "busy",
    18: "no_answer",
    19: "no_answer",
    21: "rejected",
    1: "unreachable",
    3: "unreachable",
    20: "unreachable",
    22: "unreachable",
    27: "unreachable",
    28: "unreachable",
    34: "network_failure",
    38: "network_failure",
    41: "network_failure",
    42: "network_failure",
    44: "network_failure",
    47: "network_failure",
    63: "network_failure",
}
TEXT_CAUSES: dict[str, ev.EndCause] = {"BUSY": "busy", "NO ANSWER": "no_answer"}


class Timeouts(msgspec.Struct, frozen=True):
    """Per-command-class timeouts, in real seconds."""

    command: float = 5.0
    probe: float = 1.0
    dial: float = 90.0
    radio: float = 30.0
    register: float = 60.0
    sms: float = 60.0
    file: float = 60.0
    hangup_settle: float = 2.0


class Backoff(msgspec.Struct, frozen=True):
    initial: float = 0.2
    factor: float = 2.0
    maximum: float = 10.0

    def delay(self, attempt: int) -> float:
        return min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))


class Call:
    """A call placed by `Box.dial`. `id` is the driver's own, unique per box."""

    def __init__(self, call_id: int, number: str, slot: int, dial_at: float) -> None:
        self.id = call_id
        self.number = number
        self.slot = slot
        self.dial_at = dial_at
        self.alert_at: float | None = None
        self.answer_at: float | None = None
        self.modem_id: int | None = None
        self.modem_duration_s: float | None = None
        self.text_final: str | None = None
        self.local_hangup = False
        self.finishing = False
        self.ended: ev.CallEnded | None = None
        self._answered = anyio.Event()
        self._done = anyio.Event()

    @property
    def active(self) -> bool:
        return self.ended is None

    async def wait_answered(self, within: float | None = None) -> bool:
        """True once answered; False if the call ended unanswered."""
        with anyio.fail_after(within):
            async with anyio.create_task_group() as tg:

                async def answered() -> None:
                    await self._answered.wait()
                    tg.cancel_scope.cancel()

                async def done() -> None:
                    await self._done.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(answered)
                tg.start_soon(done)
        return self.answer_at is not None

    async def wait_ended(self, within: float | None = None) -> ev.CallEnded:
        with anyio.fail_after(within):
            await self._done.wait()
        assert self.ended is not None
        return self.ended


class Box:
    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        dialect: str | Dialect = "auto",
        baudrate: int = 115200,
        clock: Callable[[], float] = time.time,
        timeouts: Timeouts | None = None,
        answer: AnswerHeuristic | None = None,
        reconnect: bool = True,
        backoff: Backoff | None = None,
        retries: int = 4,
        retry_backoff: float = 0.05,
        history: int = 2000,
    ) -> None:
        self.url = url
        self.name = name or url
        self.baudrate = baudrate
        self._clock = clock
        self.timeouts = timeouts or Timeouts()
        self._dialect_spec = dialect
        self.dialect: Dialect = (
            dialect
            if isinstance(dialect, Dialect)
            else get_dialect("quectel" if dialect == "auto" else dialect)
        )
        self._answer_override = answer
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self._retries = retries
        self._retry_backoff = retry_backoff
        self._log = log.bind(box=self.name)
        self._seq = 0
        self.history: collections.deque[ev.AnyEvent] = collections.deque(maxlen=history)
        self._subscribers: list[MemoryObjectSendStream[ev.AnyEvent]] = []
        self._channel: AtChannel | None = None
        self._tg: TaskGroup | None = None
        self._stack: AsyncExitStack | None = None
        self._closing = False
        self._call: Call | None = None
        self._call_ids = 0
        self._sms_ref = 0
        self._prompt: str | None = None
        self._recording: str | None = None
        self._active_slot: int | None = None
        self._sim_ready = False
        self._sim_present = True
        self._reg: dict[ev.Domain, int | None] = {"cs": None, "eps": None, "ims": None}
        self._signal_reported: tuple[int, int] | None = None  # (slot, rssi) last said in SignalChanged
        self._state_changed = anyio.Event()
        self._slot_lock = anyio.Lock()
        self._switching = False  # registration drops during our own radio-off are not events
        self._reassembler = Reassembler()
        self._urc_send, self._urc_recv = anyio.create_memory_object_stream[Unsolicited | str](math.inf)
        self.connected = False

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Box:
        self._stack = AsyncExitStack()
        await self._stack.__aenter__()
        try:
            self._tg = await self._stack.enter_async_context(anyio.create_task_group())
            self._tg.start_soon(self._urc_loop)
            await self._connect()
        except BaseException as exc:
            self._closing = True
            if self._tg is not None:
                self._tg.cancel_scope.cancel()
            try:
                await self._stack.__aexit__(None, None, None)
            finally:
                raise exc
        self._tg.start_soon(self._supervise)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        # The body's exception propagates unchanged (not wrapped in an ExceptionGroup): the task
        # group only ever holds our own tasks, which are cancelled here.
        await self.aclose()
        assert self._stack is not None
        await self._stack.__aexit__(None, None, None)

    async def aclose(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._channel is not None:
            self._channel.close()
        for s in self._subscribers:
            s.close()
        if self._tg is not None:
            self._tg.cancel_scope.cancel()

    @property
    def answer(self) -> AnswerHeuristic:
        return self._answer_override or self.dialect.answer

    def now(self) -> float:
        return self._clock()

    # ---------------------------------------------------------------- events

    def subscribe(self, since: int | None = None) -> MemoryObjectReceiveStream[ev.AnyEvent]:
        """A stream of this box's events (unbounded buffer); `since` replays history after that seq."""
        send, recv = anyio.create_memory_object_stream[ev.AnyEvent](math.inf)
        if since is not None:
            for e in self.history:
                if e.seq > since:
                    send.send_nowait(e)
        self._subscribers.append(send)
        return recv

    def _emit(self, cls: type[ev.Event], **fields: Any) -> ev.AnyEvent:
        self._seq += 1
        event: Any = cls(box=self.name, seq=self._seq, at=self.now(), **fields)
        self.history.append(event)
        self._log.debug("event", type=cls.__name__, seq=self._seq, **fields)
        alive = []
        for s in self._subscribers:
            try:
                s.send_nowait(event)
                alive.append(s)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass
        self._subscribers = alive
        return event

    # ---------------------------------------------------------------- connection

    async def _supervise(self) -> None:
        """Wait for the port to die; end the call, emit BoxDisconnected, reconnect with back-off."""
        while not self._closing:
            assert self._channel is not None
            await self._channel.closed.wait()
            self.connected = False
            if self._closing:
                return
            await self._on_disconnect(self._channel._dead or "port lost")
            if not self.reconnect:
                return
            attempts = 0
            while not self._closing:
                attempts += 1
                try:
                    await self._connect()
                except BoxError as exc:
                    delay = self.backoff.delay(attempts)
                    self._log.info("reconnect_failed", attempt=attempts, retry_in=delay, error=str(exc))
                    await anyio.sleep(delay)
                    continue
                self._emit(ev.BoxReconnected, attempts=attempts)
                break

    async def _connect(self) -> None:
        transport = Transport(self.url, self.baudrate)
        await transport.open()
        ch = AtChannel(
            transport,
            on_urc=self._urc_send.send_nowait,
            on_warning=self._on_warning,
            default_timeout=self.timeouts.command,
            retries=self._retries,
            backoff=self._retry_backoff,
            box=self.name,
        )
        self._channel = ch
        assert self._tg is not None
        self._tg.start_soon(ch.run)
        try:
            await self._initialise(ch)
        except BoxError:
            ch.close()
            raise
        self.connected = True

    async def _initialise(self, ch: AtChannel) -> None:
        ch.echo_seen = True  # echo is normal until ATE0; only echo *after* it is an anomaly
        for _ in range(3):
            try:
                await ch.command("AT", limit=self.timeouts.probe, retries=0)
                break
            except (CommandTimeout, CommandError):
                continue
        else:
            raise BoxNotResponding(
                f"no answer to AT on {self.url} at {self.baudrate} baud (wrong port or baud rate?)"
            )
        await ch.command("ATE0")
        ch.echo_seen = False
        await ch.command("AT+CMEE=2")
        if self._dialect_spec == "auto":
            maker = await self._text(ch, "AT+CGMI")
            self.dialect = detect_dialect(maker)
        standard = ["AT+CMGF=0", "AT+CNMI=2,1,0,0,0", "AT+CREG=2", "AT+CEREG=2", "AT+CIREG=2"]
        for cmd in [*standard, *self.dialect.init_commands()]:
            resp = await ch.command(cmd, check=False)
            if not resp.ok:
                self._log.info("init_command_refused", command=cmd, final=resp.final)
        self._active_slot = await self._query_slot(ch)
        await self._refresh_sim_state(ch)
        self._log.info("initialised", dialect=self.dialect.name, slot=self._active_slot)

    async def _refresh_sim_state(self, ch: AtChannel) -> None:
        state = await self._cpin(ch)
        self._sim_ready = state == "READY"
        self._sim_present = state != "NOT INSERTED"
        reg = await self._registration(ch)
        self._reg = {"cs": reg.cs, "eps": reg.eps, "ims": reg.ims}

    async def _on_disconnect(self, reason: str) -> None:
        self._emit(ev.BoxDisconnected, reason=reason)
        if self._call is not None:
            await self._finish_call(self._call, cause="box_disconnected", hangup_by="box")
        self._recording = None

    def _on_warning(self, kind: str, detail: str) -> None:
        self._emit(ev.ProtocolWarning, kind=kind, detail=detail)
        if kind == "echo":
            self._urc_send.send_nowait("echo_off")

    @property
    def ch(self) -> AtChannel:
        ch = self._channel
        if ch is None or not ch.alive:
            raise BoxDisconnectedError(f"{self.name} is not connected")
        return ch

    # ---------------------------------------------------------------- queries

    async def _text(self, ch: AtChannel, cmd: str) -> str:
        resp = await ch.command(cmd, kind=Kind.MULTILINE)
        return resp.lines[0] if resp.lines else ""

    async def identity(self) -> Identity:
        ch = self.ch
        maker = await self._text(ch, "AT+CGMI")
        model = await self._text(ch, "AT+CGMM")
        firmware = (await self._text(ch, "AT+CGMR")).removeprefix("Revision:").strip()
        imei = (await ch.command("AT+CGSN", kind=Kind.NUMERIC)).lines[0]
        return Identity(manufacturer=maker, model=model, firmware=firmware, imei=imei)

    async def _query_slot(self, ch: AtChannel) -> int | None:
        d = self.dialect
        resp = await ch.command(d.slot_query, kind=Kind.SINGLELINE, prefix=d.slot_prefix, check=False)
        line = resp.line(self.dialect.slot_prefix)
        return self.dialect.parse_slot(line) if resp.ok and line else None

    async def active_slot(self) -> int | None:
        self._active_slot = await self._query_slot(self.ch)
        return self._active_slot

    async def _cpin(self, ch: AtChannel) -> str:
        resp = await ch.command("AT+CPIN?", kind=Kind.SINGLELINE, prefix="+CPIN:", check=False)
        if resp.ok and resp.lines:
            return resp.lines[0].split(":", 1)[1].strip()
        if (resp.final and "10" in resp.final) or "not inserted" in resp.final.lower():
            return "NOT INSERTED"
        return "NOT READY"

    async def signal(self) -> Signal:
        resp = await self.ch.command("AT+CSQ", kind=Kind.SINGLELINE, prefix="+CSQ:")
        rssi, ber = resp.lines[0].split(":")[1].split(",")
        return Signal.from_csq(int(rssi), int(ber))

    def _report_signal(self, slot: int, s: Signal) -> None:
        """`SignalChanged` once per change of slot or level: unsolicited reports and the reading taken after a
        slot switch may say the same thing."""
        if self._signal_reported != (slot, s.rssi):
            self._signal_reported = (slot, s.rssi)
            self._emit(ev.SignalChanged, slot=slot, rssi=s.rssi, dbm=s.dbm, bars=s.bars)

    async def _registration(self, ch: AtChannel) -> Registration:
        out: dict[str, int | None] = {}
        for domain, cmd in (("cs", "CREG"), ("eps", "CEREG"), ("ims", "CIREG")):
            resp = await ch.command(f"AT+{cmd}?", kind=Kind.SINGLELINE, prefix=f"+{cmd}:", check=False)
            line = resp.line(f"+{cmd}:")
            fields = line.split(":")[1].split(",") if resp.ok and line else []
            out[domain] = int(fields[1]) if len(fields) > 1 else None
        return Registration(cs=out["cs"], eps=out["eps"], ims=out["ims"])

    async def registration(self) -> Registration:
        return await self._registration(self.ch)

    async def operator(self) -> Operator | None:
        ch = self.ch
        names: list[str | None] = []
        act: int | None = None
        for fmt in (0, 2):
            await ch.command(f"AT+COPS=3,{fmt}", check=False)
            resp = await ch.command("AT+COPS?", kind=Kind.SINGLELINE, prefix="+COPS:", check=False)
            line = resp.line("+COPS:")
            fields = line.split(":", 1)[1].split(",") if line else []
            names.append(fields[2].strip('"') if len(fields) > 2 else None)
            if len(fields) > 3:
                act = int(fields[3])
        if names == [None, None]:
            return None
        return Operator(name=names[0], plmn=names[1], act=act)

    async def slot_status(self) -> SlotStatus:
        """Everything about the SIM in the active slot."""
        ch = self.ch
        slot = await self.active_slot() or 0
        state = await self._cpin(ch)
        if state == "NOT INSERTED":
            return SlotStatus(slot=slot, present=False, sim_state=state)
        iccid = imsi = None
        resp = await ch.command(self.dialect.iccid_command, kind=Kind.MULTILINE, check=False)
        if resp.ok and resp.lines:
            iccid = resp.lines[0].split(":")[-1].strip()
        resp = await ch.command("AT+CIMI", kind=Kind.NUMERIC, check=False)
        if resp.ok and resp.lines:
            imsi = resp.lines[0]
        return SlotStatus(
            slot=slot,
            present=True,
            sim_state=state,
            iccid=iccid,
            imsi=imsi,
            operator=await self.operator(),
            registration=await self.registration(),
            signal=await self.signal(),
        )

    def _check_slot(self, slot: int) -> None:
        if not 1 <= slot <= self.dialect.slot_count:
            raise InvalidArgument(f"slot {slot} out of range 1..{self.dialect.slot_count}")

    async def select_slot(self, slot: int, *, within: float | None = None) -> SlotStatus:
        """Radio off → switch → radio on → wait for `+CPIN: READY` and registration, then report the new
        SIM's signal (`SignalChanged`; unsolicited reports only come on a change).

        An empty slot or a denied registration raises `SlotError` after switching back to the
        previous slot, so the box stays usable.
        """
        self._check_slot(slot)
        if self._call is not None:
            raise CallError("cannot switch slot during a call")
        limit = self.timeouts.register if within is None else within
        async with self._slot_lock:
            previous = self._active_slot
            self._switching = True
            try:
                await self._switch(slot, limit)
            except SlotError:
                if previous is not None and previous != slot:
                    try:
                        await self._switch(previous, limit)
                    except SlotError as exc:
                        self._log.warning("slot_revert_failed", slot=previous, error=str(exc))
                raise
            finally:
                self._switching = False
            status = await self.slot_status()
            if status.signal is not None:
                self._report_signal(slot, status.signal)
            return status

    async def _switch(self, slot: int, limit: float) -> None:
        ch = self.ch
        await ch.command("AT+CFUN=0", limit=self.timeouts.radio)
        await ch.command(self.dialect.select_slot_command(slot), limit=self.timeouts.radio)
        await ch.command("AT+CFUN=1", limit=self.timeouts.radio)
        self._active_slot = slot
        with anyio.move_on_after(limit) as scope:
            while True:
                state = await self._cpin(ch)
                self._sim_present = state != "NOT INSERTED"
                if state == "NOT INSERTED":
                    raise SlotError(f"slot {slot} is empty")
                if state == "READY":
                    self._sim_ready = True
                    reg = await self._registration(ch)
                    self._reg = {"cs": reg.cs, "eps": reg.eps, "ims": reg.ims}
                    if reg.registered:
                        return
                    if 3 in (reg.cs, reg.eps):
                        raise SlotError(f"slot {slot}: registration denied")
                elif state not in ("NOT READY",):
                    raise SlotError(f"slot {slot}: SIM state {state}")
                self._state_changed = anyio.Event()
                with anyio.move_on_after(0.5):
                    await self._state_changed.wait()
        if scope.cancelled_caught:
            raise SlotError(f"slot {slot}: not ready/registered within {limit:g} s")

    async def scan_slots(self) -> list[SlotStatus]:
        """Visit every slot (radio switch each) and come back to the one that was active."""
        original = await self.active_slot()
        out = []
        for slot in range(1, self.dialect.slot_count + 1):
            try:
                out.append(await self.select_slot(slot))
            except SlotError as exc:
                out.append(SlotStatus(slot=slot, present="empty" not in str(exc), sim_state=str(exc)))
        if original is not None and self._active_slot != original:
            try:
                await self.select_slot(original)
            except SlotError:
                pass
        return out

    # ---------------------------------------------------------------- calls

    @property
    def call(self) -> Call | None:
        return self._call

    async def dial(self, number: str, *, slot: int | None = None) -> Call:
        """Place a voice call. Returns once the module accepted `ATD` (or the call already ended)."""
        number = number.replace(" ", "").replace("-", "")
        if not DIALABLE.match(number):
            raise InvalidArgument(f"not a dialable number: {number!r}")
        if self._call is not None:
            raise CallError("a call is already in progress")
        if slot is not None:
            self._check_slot(slot)
            if slot != self._active_slot:
                await self.select_slot(slot)
        ch = self.ch
        if not self._sim_ready:
            raise SlotError(f"slot {self._active_slot}: SIM not ready")
        self._call_ids += 1
        call = Call(self._call_ids, number, self._active_slot or 0, self.now())
        self._call = call
        self._emit(ev.CallDialing, call_id=call.id, slot=call.slot, number=number)
        try:
            resp = await ch.command(
                f"ATD{number};", kind=Kind.DIAL, limit=self.timeouts.dial, check=False, retries=0
            )
        except (BoxDisconnectedError, CommandTimeout) as exc:
            if isinstance(exc, CommandTimeout):
                await self._hangup_quietly()
                await self._finish_call(call, cause="unknown", hangup_by="local")
            return call
        if resp.ok:
            return call
        if resp.final in TEXT_CAUSES:
            await self._finish_call(call, cause=TEXT_CAUSES[resp.final], hangup_by="network")
        else:
            call.text_final = resp.final
            await self._finish_call(call, hangup_by="network")
        return call

    async def _hangup_quietly(self) -> None:
        try:
            await self.ch.command("ATH", check=False)
        except BoxError:
            pass

    async def hangup(self) -> ev.CallEnded | None:
        call = self._call
        if call is None:
            return None
        call.local_hangup = True
        await self.ch.command("ATH")
        with anyio.move_on_after(self.timeouts.hangup_settle):
            await call._done.wait()
        if call.ended is None:
            await self._finish_call(call, hangup_by="local")
        return call.ended

    async def send_dtmf(self, digits: str) -> None:
        if not DTMF.match(digits):
            raise InvalidArgument(f"not DTMF digits: {digits!r}")
        self._require_call()
        for d in digits:
            await self.ch.command(f'AT+VTS="{d}"')

    def _require_call(self) -> Call:
        if self._call is None:
            raise CallError("no call in progress")
        return self._call

    async def _finish_call(
        self, call: Call, *, cause: ev.EndCause | None = None, hangup_by: ev.HangupBy = "remote"
    ) -> None:
        if call.finishing:
            await call._done.wait()
            return
        call.finishing = True
        end_at = self.now()
        q850: int | None = None
        if cause is None:
            if call.local_hangup:
                hangup_by = "local"
            cause = TEXT_CAUSES.get(call.text_final or "")
            if cause is None:
                q850 = await self._ceer()
                cause = self._classify(call, q850)
        if self._prompt is not None:
            self._emit(ev.PromptFinished, call_id=call.id, prompt=self._prompt, reason="call_ended")
            self._prompt = None
        answer_at = call.answer_at
        ring_from = call.alert_at if call.alert_at is not None else call.dial_at
        ring_to = answer_at if answer_at is not None else end_at
        call.ended = self._emit(
            ev.CallEnded,
            call_id=call.id,
            slot=call.slot,
            number=call.number,
            cause=cause,
            hangup_by="local" if call.local_hangup and cause != "box_disconnected" else hangup_by,
            q850=q850,
            answered=answer_at is not None,
            dial_at=call.dial_at,
            alert_at=call.alert_at,
            answer_at=answer_at,
            end_at=end_at,
            ring_s=max(0.0, ring_to - ring_from) if call.alert_at is not None else 0.0,
            talk_s=max(0.0, end_at - answer_at) if answer_at is not None else 0.0,
            total_s=max(0.0, end_at - call.dial_at),
            modem_duration_s=call.modem_duration_s,
        )  # type: ignore[assignment]
        if self._call is call:
            self._call = None
        call._done.set()

    def _classify(self, call: Call, q850: int | None) -> ev.EndCause:
        if call.local_hangup:
            return "normal" if call.answer_at is not None else "no_answer"
        if q850 is None:
            return "normal" if call.answer_at is not None else "unknown"
        cause = Q850_CAUSES.get(q850, "unknown")
        if call.answer_at is not None and cause in ("no_answer", "busy"):
            return "normal"
        if call.answer_at is None and cause == "normal" and call.alert_at is not None:
            return "rejected"
        return cause

    async def _ceer(self) -> int | None:
        try:
            resp = await self.ch.command("AT+CEER", kind=Kind.SINGLELINE, prefix="+CEER:", check=False)
        except BoxError:
            return None
        line = resp.line("+CEER:")
        if not line:
            return None
        m = re.search(r"(\d+)", line.split(":", 1)[1])
        return int(m[1]) if m else None

    # ---------------------------------------------------------------- prompt / recording

    async def upload_prompt(self, path: str | Path) -> str:
        """Check a local WAV is playable (mono, 16-bit, 8/16 kHz) and store it on the box."""
        path = Path(path)
        try:
            with wave.open(str(path), "rb") as w:
                ok = w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() in (8000, 16000)
                desc = f"{w.getnchannels()} ch, {8 * w.getsampwidth()} bit, {w.getframerate()} Hz"
        except (OSError, wave.Error, EOFError) as exc:
            raise PromptError(f"{path}: not a playable WAV file ({exc})") from exc
        if not ok:
            raise PromptError(f"{path}: box plays mono 16-bit 8/16 kHz WAV only, got {desc}")
        remote = self.dialect.remote_name(path.name)
        await self.dialect.upload(self.ch, remote, path.read_bytes())
        return path.name

    async def play_prompt(self, name: str) -> None:
        """Play a stored prompt to the far end of the current call; `PromptFinished` follows."""
        call = self._require_call()
        if self._prompt is not None:
            raise CallError(f"prompt {self._prompt!r} already playing")
        remote = self.dialect.remote_name(name)
        try:
            await self.ch.command(self.dialect.play_prompt_command(remote))
        except CommandError as exc:
            raise PromptError(f"box cannot play {name!r}: {exc.final}") from exc
        self._prompt = name
        self._log.info("prompt_started", call_id=call.id, prompt=name)

    async def stop_prompt(self) -> None:
        """Stop playback so the salesperson takes over."""
        if self._prompt is None:
            return
        await self.ch.command(self.dialect.stop_prompt_command(), check=False)
        if self._prompt is not None:
            self._prompt_finished("stopped")

    async def wait_prompt_finished(self, within: float) -> ev.PromptFinished | None:
        """Wait for the prompt to end. If its URC never comes (some firmwares lose it), ask the
        module whether it is still playing and, if not, emit `PromptFinished(reason="polled")`."""
        if self._prompt is None:
            return None
        stream = self.subscribe(since=self._seq)
        try:
            with anyio.move_on_after(within):
                async for e in stream:
                    if isinstance(e, ev.PromptFinished):
                        return e
        finally:
            stream.close()
        query = self.dialect.prompt_query
        if query is None or self._prompt is None:
            return None
        prefix = query[2:-1] + ":"
        resp = await self.ch.command(query, kind=Kind.SINGLELINE, prefix=prefix, check=False)
        line = resp.line(prefix)
        if resp.ok and line and not self.dialect.parse_prompt_query(line) and self._prompt is not None:
            return self._prompt_finished("polled")
        return None

    def _prompt_finished(self, reason: str) -> ev.PromptFinished:
        call = self._call
        e = self._emit(
            ev.PromptFinished, call_id=call.id if call else None, prompt=self._prompt, reason=reason
        )
        self._prompt = None
        return e  # type: ignore[return-value]

    async def start_recording(self) -> None:
        call = self._require_call()
        remote = self.dialect.remote_name(f"rec{call.id}.wav")
        await self.dialect.start_recording(self.ch, remote)
        self._recording = remote

    async def stop_recording(self, dest: str | Path) -> Path:
        """Stop the recording, download it from the box into `dest` (a WAV file)."""
        remote = self._recording
        if remote is None:
            raise CallError("not recording")
        self._recording = None
        ch = self.ch
        await self.dialect.stop_recording(ch)
        data = await self.dialect.download(ch, remote)
        await self.dialect.delete_file(ch, remote)
        dest = Path(dest)
        await anyio.Path(dest).write_bytes(data)
        return dest

    # ---------------------------------------------------------------- SMS

    async def send_sms(self, number: str, text: str, *, max_parts: int = 10) -> list[int]:
        """Send `text` (GSM 7-bit or UCS-2, split and concatenated if long). Returns message refs."""
        number = number.replace(" ", "")
        if not SMS_NUMBER.match(number):
            raise InvalidArgument(f"not an SMS number: {number!r}")
        self._sms_ref = (self._sms_ref + 1) % 256
        segments = split_message(text, ref=self._sms_ref, max_parts=max_parts)
        refs = []
        for seg in segments:
            pdu, length = encode_submit(number, seg)
            resp = await self.ch.command(
                f"AT+CMGS={length}",
                kind=Kind.PROMPT,
                prefix="+CMGS:",
                payload=pdu.encode() + b"\x1a",
                limit=self.timeouts.sms,
            )
            line = resp.line("+CMGS:")
            refs.append(int(line.split(":")[1]) if line else -1)
        return refs

    async def _read_sms(self, index: int) -> None:
        ch = self.ch
        resp = await ch.command(f"AT+CMGR={index}", kind=Kind.MULTILINE, check=False)
        pdu_lines = [ln for ln in resp.lines if not ln.startswith("+CMGR:")]
        if resp.ok and pdu_lines:
            self._deliver_pdu(pdu_lines[0])
        await ch.command(f"AT+CMGD={index}", check=False)

    def _deliver_pdu(self, hexpdu: str) -> None:
        try:
            pdu = decode_pdu(hexpdu)
        except InvalidArgument as exc:
            self._emit(ev.ProtocolWarning, kind="garbage", detail=f"undecodable SMS PDU: {exc}")
            return
        done = self._reassembler.add(pdu)
        if done is not None:
            self._emit(ev.SmsReceived, sender=pdu.number, text=done[0], sent_at=pdu.timestamp, parts=done[1])

    # ---------------------------------------------------------------- unsolicited

    async def _urc_loop(self) -> None:
        async for item in self._urc_recv:
            try:
                if item == "echo_off":
                    await self.ch.command("ATE0", check=False)
                    self.ch.echo_seen = False
                elif isinstance(item, Unsolicited):
                    await self._handle_urc(item)
            except BoxError as exc:
                level = self._log.debug if self._closing else self._log.warning
                level("urc_handler_failed", item=str(item), error=str(exc))

    async def _handle_urc(self, u: Unsolicited) -> None:
        line = u.line
        items = self.dialect.parse_urc(line)
        if items is not None:
            for item in items:
                await self._handle_dialect_item(item)
            return
        self._state_changed.set()
        if line.startswith(("+CREG:", "+CEREG:", "+CIREG:")):
            self._on_registration(line)
        elif line.startswith("+CMTI:"):
            await self._read_sms(int(line.rsplit(",", 1)[1]))
        elif line.startswith("+CMT:") and u.pdu:
            self._deliver_pdu(u.pdu)
        elif line == "RDY":
            await self._on_reboot()
        elif line.startswith("+CPIN:"):
            self._on_cpin(line.split(":", 1)[1].strip())
        elif line in ("NO CARRIER", "BUSY", "NO ANSWER"):
            if self._call is not None and self._call.text_final is None:
                self._call.text_final = line
        else:
            self._log.debug("urc_ignored", line=line)

    async def _handle_dialect_item(self, item: object) -> None:
        if isinstance(item, CallUpdate):
            await self._on_call_update(item)
        elif isinstance(item, SignalUpdate):
            self._report_signal(self._active_slot or 0, Signal.from_csq(item.rssi, item.ber))
        elif isinstance(item, SimPresence):
            self._set_presence(item.inserted)
        elif isinstance(item, PromptDone):
            if self._prompt is not None:
                self._prompt_finished("completed")
        elif isinstance(item, DtmfDigit):
            if self._call is not None:
                self._emit(ev.DtmfReceived, call_id=self._call.id, digit=item.digit)

    def _set_presence(self, inserted: bool) -> None:
        self._state_changed.set()
        if inserted == self._sim_present:
            return
        self._sim_present = inserted
        if not inserted:
            self._sim_ready = False
        self._emit(ev.SimInserted if inserted else ev.SimRemoved, slot=self._active_slot or 0)

    def _on_cpin(self, state: str) -> None:
        if state == "READY":
            self._sim_ready = True
            self._set_presence(True)
        elif state in ("NOT INSERTED", "SIM REMOVED"):
            self._set_presence(False)
        else:
            self._sim_ready = False

    def _on_registration(self, line: str) -> None:
        key, body = line.split(":", 1)
        domain: ev.Domain = {"+CREG": "cs", "+CEREG": "eps", "+CIREG": "ims"}[key]  # type: ignore[assignment]
        try:
            stat = int(body.split(",")[0])
        except ValueError:
            return
        before = self._reg.get(domain)
        self._reg[domain] = stat
        if self._switching:
            return
        if is_registered(before) and not is_registered(stat):
            self._emit(ev.RegistrationLost, domain=domain, stat=stat)
        elif before is not None and not is_registered(before) and is_registered(stat):
            self._emit(ev.RegistrationRegained, domain=domain, stat=stat)

    async def _on_reboot(self) -> None:
        """`RDY`: the module restarted. End the call, re-initialise, then emit `ModuleRebooted`."""
        self._log.warning("module_rebooted")
        if self._call is not None:
            call = self._call
            call.text_final = None
            await self._finish_call(call, cause="network_failure", hangup_by="box")
        self._prompt = None
        self._recording = None
        try:
            await self._initialise(self.ch)
        except BoxError as exc:
            self._log.warning("reinit_after_reboot_failed", error=str(exc))
        self._emit(ev.ModuleRebooted)

    async def _on_call_update(self, u: CallUpdate) -> None:
        call = self._call
        if call is None or call.finishing:
            return
        if u.source == "voice_end":
            call.modem_duration_s = u.modem_duration_s
            return
        if u.source == "voice_begin":
            if self.answer.mode == "voice_begin":
                self._answered(call, "voice call begin")
            return
        if u.call_id is not None:
            call.modem_id = u.call_id
        if u.state is CallState.ALERTING and call.alert_at is None:
            call.alert_at = self.now()
            self._emit(ev.CallAlerting, call_id=call.id)
        elif u.state is CallState.ACTIVE and self.answer.mode == "active":
            self._answered(call, "active")
        elif u.state is CallState.RELEASED:
            await self._finish_call(call, hangup_by="remote")

    def _answered(self, call: Call, reason: str) -> None:
        if call.answer_at is not None:
            return
        now = self.now()
        h = self.answer
        confidence: ev.Confidence = "high"
        if call.alert_at is None:
            if h.require_alerting:
                confidence, reason = "low", f"{reason} without alerting"
        elif now - call.alert_at < h.min_ring_s:
            confidence, reason = "low", f"{reason} {now - call.alert_at:.1f} s after alerting"
        call.answer_at = now
        self._emit(ev.CallAnswered, call_id=call.id, confidence=confidence, reason=reason)
        call._answered.set()
