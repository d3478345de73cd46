"""A minimal, fast webhook receiver: raw HTTP/1.1 keep-alive on uvloop.

Every ``POST`` answers ``200`` with an empty body and is counted. A ``POST`` to a
path starting with ``/lat`` also records ``receive time - payload["sent"]``
(both ``time.time()``, same machine). Control routes (not counted):

- ``GET /count``: ``{"count", "first", "last", "latencies"}`` (times are ``time.time()``)
- ``GET /latencies``: ``{"latencies_ms": [...]}``
- ``POST /reset``: zero everything

Run: ``python -m benchmarks.receiver --port 8090``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import cast

import uvloop

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
_BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_CL = b"\r\ncontent-length:"


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self.latencies_ms: list[float] = []

    def hit(self, path: bytes, body: bytes) -> None:
        now = time.time()
        if self.count == 0:
            self.first = now
        self.count += 1
        self.last = now
        if path.startswith(b"/lat"):
            try:
                sent = float(json.loads(body)["sent"])
            except (ValueError, KeyError, TypeError):
                return
            self.latencies_ms.append((now - sent) * 1000.0)


def _json_response(value: object) -> bytes:
    body = json.dumps(value).encode()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class ReceiverProtocol(asyncio.Protocol):
    def __init__(self, stats: Stats) -> None:
        self._stats = stats
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = bytes(buf[:end]).lower()
            length = 0
            at = head.find(_CL)
            if at >= 0:
                stop = head.find(b"\r\n", at + len(_CL))
                try:
                    length = int(head[at + len(_CL) : stop if stop >= 0 else None])
                except ValueError:
                    length = -1
            if length < 0 or b"\r\ntransfer-encoding:" in head:
                out.append(_BAD)
                self._flush(out)
                if self._transport is not None:
                    self._transport.close()
                return
            total = end + 4 + length
            if len(buf) < total:
                break
            line_end = head.find(b"\r\n")
            request_line = head if line_end < 0 else head[:line_end]
            parts = request_line.split(b" ")
            method = parts[0]
            path = parts[1] if len(parts) > 1 else b"/"
            body = bytes(buf[end + 4 : total])
            del buf[:total]
            out.append(self._handle(method, path, body))
        self._flush(out)

    def _flush(self, out: list[bytes]) -> None:
        if out and self._transport is not None:
            self._transport.write(b"".join(out))

    def _handle(self, method: bytes, path: bytes, body: bytes) -> bytes:
        stats = self._stats
        if method == b"get" and path == b"/count":
            return _json_response(
                {
                    "count": stats.count,
                    "first": stats.first,
                    "last": stats.last,
                    "latencies": len(stats.latencies_ms),
                }
            )
        if method == b"get" and path == b"/latencies":
            return _json_response({"latencies_ms": stats.latencies_ms})
        if method == b"post" and path == b"/reset":
            stats.reset()
            return _OK
        if method == b"post":
            stats.hit(path, body)
        return _OK


async def serve(port: int) -> None:
    stats = Stats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: ReceiverProtocol(stats), "127.0.0.1", port, backlog=1024
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(serve(args.port))


if __name__ == "__main__":
    main()
