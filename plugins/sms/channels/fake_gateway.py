"""A fake HTTP SMS gateway speaking `gateway.py`'s protocol, for tests, the benchmark and demos.

    with FakeGateway() as gw:      # a real HTTP server on 127.0.0.1, a free port, in a thread
        settings.gateway_url = gw.url
        gw.fail_next = 2           # the next two sends answer 500
        gw.reject.add("+8613800000000")   # answered 400
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog of 5 drops the SYNs of a burst of new connections
    daemon_threads = True


class FakeGateway:
    def __init__(self, key: str = "test-key") -> None:
        self.key = key
        self.sent: list[dict[str, Any]] = []
        self.fail_next = 0
        self.reject: set[str] = set()
        self.undeliverable: set[str] = set()
        self.balance = "88.50"
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-sms-gateway", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api"

    def __enter__(self) -> FakeGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _send(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 500, {"error": "temporarily unavailable"}
            to = str(body.get("to", ""))
            if to in self.reject or not to.startswith("+"):
                return 400, {"error": f"invalid destination {to}"}
            if not body.get("text"):
                return 400, {"error": "empty text"}
            msg_id = f"gw{next(self._ids)}"
            self.sent.append({"id": msg_id, **body})
            return 200, {"id": msg_id, "parts": 1}

    def _reports(self, ids: list[str]) -> dict[str, Any]:
        with self._lock:
            known = {m["id"]: m for m in self.sent}
        out = []
        for i in ids:
            if i in known:
                bad = known[i]["to"] in self.undeliverable
                out.append({"id": i, "status": "failed" if bad else "delivered",
                            "error": "undeliverable" if bad else ""})
        return {"reports": out}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real gateways
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {gateway.key}":
                    self._reply(401, {"error": "bad key"})
                    return False
                return True

            def do_POST(self) -> None:
                if not self._authorised():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if urlsplit(self.path).path.endswith("/send"):
                    self._reply(*gateway._send(body))
                else:
                    self._reply(404, {"error": "not found"})

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                parts = urlsplit(self.path)
                if parts.path.endswith("/balance"):
                    self._reply(200, {"balance": gateway.balance, "currency": "CNY"})
                elif parts.path.endswith("/reports"):
                    ids = parse_qs(parts.query).get("ids", [""])[0].split(",")
                    self._reply(200, gateway._reports([i for i in ids if i]))
                else:
                    self._reply(404, {"error": "not found"})

        return Handler


def main() -> None:
    """`python -m plugins.sms.channels.fake_gateway [KEY]`: serve in its own process (no GIL shared with the
    client, as with a real gateway); prints the URL on the first line, stops when stdin closes."""
    gw = FakeGateway(sys.argv[1] if len(sys.argv) > 1 else "test-key")
    with gw:
        print(gw.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
