"""pyserial URL handler for `sim://NAME[?dialect=quectel|simcom&baud=…&realtime=1]`.

pyserial finds it as `serial.protocol_handler_packages[i] + ".protocol_sim"`; importing
`drivers.ev_fwt785` appends our package. Keep imports here minimal and certain: an ImportError
in this module is reported by pyserial as "protocol 'sim' not known".
"""

from __future__ import annotations

import time

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from .model import SimBox, SimPortGone
from .registry import get_or_create


def _garble(data: bytes) -> bytes:
    """What a UART at the wrong baud rate makes of bytes: framing noise."""
    return bytes((((b * 7) & 0xFF) ^ 0xA5) | 0x80 for b in data)


class Serial(SerialBase):
    """A serial port whose other end is a simulated box."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._box: SimBox | None = None
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def open(self) -> None:
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        if self.is_open:
            raise SerialException("Port is already open.")
        try:
            box = get_or_create(self._port)
            box.connect()
        except ValueError as exc:
            raise SerialException(str(exc)) from exc
        except SimPortGone as exc:
            raise SerialException(f"could not open port {self._port}: {exc}") from exc
        self._box = box
        self.is_open = True

    def close(self) -> None:
        if self._box is not None:
            self._box.disconnect()
        self._box = None
        self.is_open = False

    def _reconfigure_port(self) -> None:
        pass

    @property
    def _mismatch(self) -> bool:
        return self._box is not None and self._baudrate != self._box.baudrate

    def _live(self) -> SimBox:
        if not self.is_open or self._box is None:
            raise PortNotOpenError()
        return self._box

    @property
    def in_waiting(self) -> int:
        try:
            return self._live().out_waiting()
        except SimPortGone as exc:
            raise SerialException(f"device reports readiness to read but returned no data ({exc})") from exc

    def read(self, size: int = 1) -> bytes:
        box = self._live()
        out = bytearray()
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        try:
            while len(out) < size:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                chunk = box.read_output(size - len(out), remaining)
                if not chunk:
                    break
                out += chunk
                if self.in_waiting == 0 and (deadline is None or time.monotonic() >= deadline):
                    break
        except SimPortGone as exc:
            raise SerialException(f"read failed: {exc}") from exc
        return _garble(bytes(out)) if self._mismatch else bytes(out)

    def write(self, data: bytes) -> int:
        box = self._live()
        data = bytes(data)
        try:
            box.receive(_garble(data) if self._mismatch else data)
        except SimPortGone as exc:
            raise SerialException(f"write failed: {exc}") from exc
        return len(data)

    def reset_input_buffer(self) -> None:
        self._live().clear_output()

    def reset_output_buffer(self) -> None:
        pass

    def cancel_read(self) -> None:
        pass
