"""Test doubles that listen on 127.0.0.1: a webhook receiver and a stand-in for nova's os-services API.

Both are small HTTP servers from the standard library, started by the test
in a thread on a free loopback port and shut down by it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """What a receiver saw: every request (method, path, JSON body) in order."""

    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    # HTTP codes to answer the first requests with (then 200).
    script: list[int] = field(default_factory=list)
    # Answer 500 to the first request whose body this accepts (a receiver that is down once).
    fail_once_if: Callable[[Any], bool] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self, method: str = "POST", path: str | None = None) -> list[Any]:
        with self.lock:
            return [body for m, p, body in self.requests if m == method and (path is None or p == path)]

    def count(self, method: str, path: str) -> int:
        return len(self.bodies(method, path))


def _handler(received: Received, nova: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            with received.lock:
                received.requests.append((self.command, self.path, body))
                code = received.script.pop(0) if received.script else 200
                if received.fail_once_if is not None and received.fail_once_if(body):
                    received.fail_once_if = None
                    code = 500
            answer = b""
            if nova and code == 200 and isinstance(body, dict):
                status = "disabled" if self.path.endswith("/disable") else "enabled"
                answer = json.dumps({"service": {**body, "status": status}}).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_POST = _serve
        do_PUT = _serve

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@contextmanager
def http_receiver(*, nova: bool = False, script: list[int] | None = None,
                  fail_once_if: Callable[[Any], bool] | None = None) -> Iterator[tuple[str, Received]]:
    """Serve on 127.0.0.1 (a free port) until the block ends; yields (base URL, what was received).

    ``nova``: answer like nova's legacy ``PUT /os-services/disable|enable``
    (a test double: it only records the calls and echoes the service).
    """
    received = Received(script=list(script or []), fail_once_if=fail_once_if)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(received, nova))
    thread = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
