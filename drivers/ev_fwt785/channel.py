"""The AT channel: one reader, one pending command, everything else is unsolicited.

Bytes come from the transport's reader thread into the event loop (`anyio.from_thread`); the
sans-io `AtParser` classifies them. Commands are serialised by a lock; each has a timeout, and
transient `+CME ERROR: 14/515` answers are retried with exponential back-off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import anyio.from_thread
import serial
import structlog

from .errors import TRANSIENT_CME, BoxDisconnectedError, CommandError, CommandTimeout, parse_error_code
from .parser import AtParser, Command, Echo, Kind, Prompt, Response, Unsolicited
from .transport import Transport

log = structlog.get_logger("ev_fwt785.channel")

STRAY_FINALS = ("OK", "ERROR")


@dataclass
class _Waiter:
    done: anyio.Event = field(default_factory=anyio.Event)
    prompt: anyio.Event = field(default_factory=anyio.Event)
    response: Response | None = None


def _is_garbage(line: str) -> bool:
    return "\ufffd" in line or any(ord(c) < 32 and c != "\t" for c in line)


class AtChannel:
    def __init__(
        self,
        transport: Transport,
        *,
        on_urc: Callable[[Unsolicited], None],
        on_warning: Callable[[str, str], None],
        default_timeout: float = 5.0,
        retries: int = 4,
        backoff: float = 0.05,
        box: str = "",
    ) -> None:
        self.transport = transport
        self._on_urc = on_urc
        self._on_warning = on_warning
        self.default_timeout = default_timeout
        self.retries = retries
        self.backoff = backoff
        self._parser = AtParser()
        self._lock = anyio.Lock()
        self._waiter: _Waiter | None = None
        self._dead: str | None = None
        self.closed = anyio.Event()
        self.echo_seen = False
        self._log = log.bind(box=box, url=transport.url)

    @property
    def alive(self) -> bool:
        return self._dead is None

    async def run(self) -> str:
        """Pump bytes until the port dies; return the reason."""
        send, recv = anyio.create_memory_object_stream[bytes | BaseException](math.inf)

        def deliver(data: bytes) -> None:
            anyio.from_thread.run_sync(send.send_nowait, data)

        async def reader() -> None:
            try:
                await self.transport.run_reader(deliver)
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                # pyserial raises TypeError/AttributeError when the fd vanishes under a read.
                send.send_nowait(exc)
            else:
                send.send_nowait(EOFError("reader stopped"))

        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            async with recv:
                async for item in recv:
                    if isinstance(item, BaseException):
                        self._die(f"{type(item).__name__}: {item}")
                        break
                    self.feed(item)
            tg.cancel_scope.cancel()
        return self._dead or "closed"

    def feed(self, data: bytes) -> None:
        self._parser.feed(data)
        while (ev := self._parser.next_event()) is not None:
            self._dispatch(ev)

    def _dispatch(self, ev: Response | Unsolicited | Prompt | Echo) -> None:
        w = self._waiter
        if isinstance(ev, Response):
            if w is not None:
                w.response = ev
                w.done.set()
        elif isinstance(ev, Prompt):
            if w is not None:
                w.prompt.set()
        elif isinstance(ev, Echo):
            if not self.echo_seen:
                self.echo_seen = True
                self._warn("echo", f"echo is on (saw {ev.line!r})")
        elif _is_garbage(ev.line):
            self._warn("garbage", repr(ev.line[:80]))
        elif ev.line in STRAY_FINALS and ev.pdu is None:
            self._warn("stray", f"final code {ev.line!r} with no command pending")
        else:
            self._on_urc(ev)

    def _warn(self, kind: str, detail: str) -> None:
        self._log.warning("at_channel_anomaly", kind=kind, detail=detail)
        self._on_warning(kind, detail)

    def _die(self, reason: str) -> None:
        if self._dead is not None:
            return
        self._dead = reason
        (self._log.debug if reason == "closed by driver" else self._log.warning)("port_lost", reason=reason)
        self.transport.close()
        self._parser.reset()
        if self._waiter is not None:
            self._waiter.done.set()
            self._waiter.prompt.set()
        self.closed.set()

    def close(self) -> None:
        self._die("closed by driver")

    async def command(
        self,
        text: str,
        *,
        kind: Kind = Kind.NO_RESULT,
        prefix: str | None = None,
        limit: float | None = None,
        payload: bytes | None = None,
        check: bool = True,
        retries: int | None = None,
    ) -> Response:
        limit = self.default_timeout if limit is None else limit
        retries = self.retries if retries is None else retries
        async with self._lock:
            attempt = 0
            while True:
                resp = await self._exchange(Command(text, kind, prefix), payload, limit)
                code = parse_error_code(resp.final)
                if not resp.ok and code in TRANSIENT_CME and attempt < retries:
                    delay = self.backoff * (2**attempt)
                    attempt += 1
                    self._warn("retry", f"{text}: {resp.final}; retry {attempt} in {delay:.2f} s")
                    await anyio.sleep(delay)
                    continue
                break
        if check and not resp.ok:
            raise CommandError(text, resp.final)
        return resp

    async def _exchange(self, cmd: Command, payload: bytes | None, limit: float) -> Response:
        if self._dead is not None:
            raise BoxDisconnectedError(self._dead)
        waiter = _Waiter()
        self._parser.begin(cmd)
        self._waiter = waiter
        try:
            with anyio.move_on_after(limit) as scope:
                await self.transport.write(cmd.text.encode() + b"\r")
                if payload is not None:
                    await waiter.prompt.wait()
                    if self._dead is None:
                        await self.transport.write(payload)
                await waiter.done.wait()
        except BoxDisconnectedError as exc:
            self._die(str(exc))
            raise
        finally:
            self._waiter = None
        if self._dead is not None:
            raise BoxDisconnectedError(self._dead)
        if scope.cancelled_caught or waiter.response is None:
            partial = self._parser.abandon()
            if partial is not None and partial.lines and cmd.kind in (Kind.SINGLELINE, Kind.NUMERIC):
                self._warn("timeout", f"{cmd.text}: no final result code; using {partial.lines[0]!r}")
                return Response(partial.command, partial.lines, "OK", partial.data)
            self._warn("timeout", f"{cmd.text}: nothing within {limit:g} s")
            raise CommandTimeout(cmd.text, limit)
        return waiter.response
