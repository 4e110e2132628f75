"""The blocking pyserial port, opened by URL, read in a worker thread.

Any URL pyserial knows works: `/dev/ttyUSB0`, `COM3`, `socket://host:port`, `sim://name?…`
(importing `drivers.ev_fwt785` registers the `sim://` handler).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import anyio
import serial

from .errors import BoxDisconnectedError, PortOpenError

READ_TIMEOUT = 0.05


def open_port(url: str, baudrate: int) -> serial.SerialBase:
    try:
        return serial.serial_for_url(url, baudrate=baudrate, timeout=READ_TIMEOUT, write_timeout=5)
    except ValueError as exc:  # unknown scheme, bad parameter
        raise PortOpenError(f"cannot open {url!r}: {exc}") from exc
    except (serial.SerialException, OSError) as exc:
        raise PortOpenError(f"cannot open {url!r}: {exc}") from exc


class Transport:
    def __init__(self, url: str, baudrate: int = 115200) -> None:
        self.url = url
        self.baudrate = baudrate
        self._port: serial.SerialBase | None = None
        self._stop = threading.Event()
        self._write_limiter = anyio.CapacityLimiter(1)
        self._read_limiter = anyio.CapacityLimiter(1)

    async def open(self) -> None:
        self._port = await anyio.to_thread.run_sync(open_port, self.url, self.baudrate)
        self._stop.clear()

    def read_forever(self, deliver: Callable[[bytes], None]) -> None:
        """Blocking: read until stopped; SerialException propagates to the caller (unplug)."""
        port = self._port
        assert port is not None
        while not self._stop.is_set():
            waiting = port.in_waiting
            data = port.read(waiting or 1)
            if data:
                deliver(data)

    async def run_reader(self, deliver: Callable[[bytes], None]) -> None:
        await anyio.to_thread.run_sync(
            self.read_forever, deliver, limiter=self._read_limiter, abandon_on_cancel=True
        )

    async def write(self, data: bytes) -> None:
        port = self._port
        if port is None:
            raise BoxDisconnectedError("port is closed")
        try:
            await anyio.to_thread.run_sync(port.write, data, limiter=self._write_limiter)
        except (serial.SerialException, OSError) as exc:
            raise BoxDisconnectedError(f"write failed: {exc}") from exc

    def close(self) -> None:
        self._stop.set()
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass
