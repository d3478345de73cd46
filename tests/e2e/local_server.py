"""A local HTTP server for ``hookgate listen`` tests: records every request
exactly as it arrived (method, raw target, header lines in order with their
repeats, body bytes) and answers 201 with a small body."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER_BODY = b'{"local":"ok"}'


@dataclass(frozen=True)
class Captured:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class _Handler(BaseHTTPRequestHandler):
    server: LocalServer

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.server.record(Captured(self.command, self.path, list(self.headers.items()), body))
        self.send_response(201)
        self.send_header("X-Local", "yes")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ANSWER_BODY)))
        self.end_headers()
        self.wfile.write(ANSWER_BODY)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def log_message(self, *args: Any) -> None:
        pass


class LocalServer(ThreadingHTTPServer):
    """Serves on a free loopback port in a thread until ``close()``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.captured: list[Captured] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, item: Captured) -> None:
        with self._lock:
            self.captured.append(item)

    def wait_for(self, count: int, timeout: float = 60) -> list[Captured]:
        """The captured requests once there are at least ``count``."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.captured) >= count:
                    return list(self.captured)
            assert time.monotonic() < deadline, f"only {len(self.captured)} of {count} arrived"
            time.sleep(0.05)

    def close(self) -> None:
        self.shutdown()
        self.server_close()
