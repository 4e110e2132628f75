"""A third-party AT client (plain pyserial, no driver code) on the simulator's pty gets standard answers."""

from __future__ import annotations

import sys
import time

import pytest
import serial

from drivers.ev_fwt785.simulator import Callee, PtyServer, SimBox, TcpServer, VirtualClock

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pty is POSIX-only")


def ask(port: serial.Serial, cmd: str, wait_for: tuple[bytes, ...] = (b"OK\r\n", b"ERROR\r\n")) -> list[str]:
    """Send a command; read until a final result code; return the non-empty lines."""
    port.write(cmd.encode() + b"\r")
    buf = b""
    deadline = time.monotonic() + 3
    while not any(buf.endswith(w) for w in wait_for):
        chunk = port.read(port.in_waiting or 1)
        buf += chunk
        assert time.monotonic() < deadline, f"no final result code for {cmd!r}: {buf!r}"
    return [ln for ln in buf.decode().replace("\r", "\n").split("\n") if ln]


def test_plain_pyserial_session_on_pty() -> None:
    box = SimBox("third-party", clock=VirtualClock())
    box.callees.add("*", Callee.answers(3))
    with PtyServer(box) as path, serial.Serial(path, 115200, timeout=0.2) as port:
        assert ask(port, "AT") == ["AT", "OK"]  # echo is on after power-up, as on real modems
        assert ask(port, "ATE0") == ["ATE0", "OK"]
        assert ask(port, "AT") == ["OK"]
        lines = ask(port, "AT+CSQ")
        assert lines[0].startswith("+CSQ: ") and lines[-1] == "OK"
        assert ask(port, "AT+CGSN") == [box.imei, "OK"]
        assert ask(port, "ATI")[-1] == "OK" and ask(port, "ATI")[0] == "Quectel"
        assert ask(port, "AT+CPIN?") == ["+CPIN: READY", "OK"]
        assert ask(port, "AT+CREG?") == ["+CREG: 0,1", "OK"]
        assert ask(port, "ATD13800138000;") == ["OK"]
        box.advance(3)
        clcc = ask(port, "AT+CLCC")
        assert clcc[0].startswith("+CLCC: 1,0,0,") and clcc[-1] == "OK"
        assert ask(port, "ATH") == ["OK"]
        assert ask(port, "AT+CLCC") == ["OK"]
        assert ask(port, "AT+NOSUCH") == ["ERROR"]
        assert ask(port, "AT+CMEE=1") == ["OK"]
        assert ask(port, "AT+CMGF=1") == ["OK"]
        port.write(b'AT+CMGS="10086"\r')
        assert port.read_until(b"> ").endswith(b"> ")
        assert ask(port, "hello\x1a")[0].startswith("+CMGS:")
        assert box.sent_sms[-1].text == "hello" and box.sent_sms[-1].number == "10086"


def test_plain_socket_client_over_tcp() -> None:
    box = SimBox("tcp", clock=VirtualClock())
    with TcpServer(box) as server, serial.serial_for_url(server.url, timeout=0.2) as port:
        assert ask(port, "ATE0")[-1] == "OK"
        assert ask(port, "AT+CGMM") == ["EC25", "OK"]
