"""Serve a simulated box on a pty (a real device path) or over TCP (`socket://host:port`)."""

from __future__ import annotations

import os
import select
import socket
import threading

import structlog

from .model import SimBox, SimPortGone

log = structlog.get_logger("ev_fwt785.sim.server")


class PtyServer:
    """`with PtyServer(box) as path:` — open `path` with any serial tool (POSIX only)."""

    def __init__(self, box: SimBox) -> None:
        import tty  # POSIX only; imported here so sim:// keeps working on Windows

        self.box = box
        self._stop = threading.Event()
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._threads = [
            threading.Thread(target=self._pump_in, name=f"pty-in-{box.name}", daemon=True),
            threading.Thread(target=self._pump_out, name=f"pty-out-{box.name}", daemon=True),
        ]

    def start(self) -> PtyServer:
        self.box.connect()
        for t in self._threads:
            t.start()
        return self

    def _pump_in(self) -> None:
        while not self._stop.is_set():
            r, _, _ = select.select([self.master], [], [], 0.05)
            if not r:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            try:
                self.box.receive(data)
            except SimPortGone:
                continue

    def _pump_out(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.box.read_output(4096, 0.05)
            except SimPortGone:
                self._stop.wait(0.05)
                continue
            if data:
                try:
                    os.write(self.master, data)
                except OSError:
                    return

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=1)
        self.box.disconnect()
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> str:
        self.start()
        return self.path

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TcpServer:
    """One client at a time on host:port (port 0 = pick one; see `.address`)."""

    def __init__(self, box: SimBox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.box = box
        self._stop = threading.Event()
        self._sock = socket.create_server((host, port))
        self._sock.settimeout(0.1)
        self.address = self._sock.getsockname()[:2]
        self._thread = threading.Thread(target=self._serve, name=f"tcp-{box.name}", daemon=True)

    @property
    def url(self) -> str:
        return f"socket://{self.address[0]}:{self.address[1]}"

    def start(self) -> TcpServer:
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            log.info("sim_tcp_client", peer=str(peer))
            self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        try:
            self.box.connect()
        except SimPortGone:
            conn.close()
            return
        done = threading.Event()

        def pump_out() -> None:
            while not done.is_set() and not self._stop.is_set():
                try:
                    data = self.box.read_output(4096, 0.05)
                    if data:
                        conn.sendall(data)
                except (SimPortGone, OSError):
                    done.set()

        t = threading.Thread(target=pump_out, daemon=True)
        t.start()
        conn.settimeout(0.05)
        while not done.is_set() and not self._stop.is_set():
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            try:
                self.box.receive(data)
            except SimPortGone:
                break
        done.set()
        t.join(timeout=1)
        conn.close()
        self.box.disconnect()

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=1)

    def __enter__(self) -> TcpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
