"""Receivers that misbehave, one way per path, for the noisy-neighbour checks.

Every request is read in full (head and ``Content-Length`` body), counted under
its behaviour, then answered according to the first path segment:

- ``/hang...``: never answers; the connection stays open until the client
  gives up (counted in ``abandoned``).
- ``/reset...``: closes the connection with a TCP reset.
- ``/error...``: ``500`` at once (keep-alive).
- ``/drip...``: ``200`` headers announcing 100,000 bytes, then one body byte
  per ``drip_interval`` seconds until the client gives up (``abandoned``).
- ``/huge...``: ``200`` with a 10 MB body, written as fast as the client
  reads; ``bytes_sent`` counts what went out before the client stopped.

Refused connections need no server: use a port nothing listens on.

``MisbehavingServer`` runs on its own event loop in a daemon thread (for
tests); ``python -m benchmarks.misbehaving --port N`` runs it as a process and
answers ``GET /stats`` with the counters as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import struct
import threading
from collections import Counter

BEHAVIOURS = ("hang", "reset", "error", "drip", "huge")
HUGE_BYTES = 10 * 1024 * 1024
DRIP_ANNOUNCED = 100_000
_CHUNK = 64 * 1024


class Stats:
    """Counters per behaviour, safe to read from another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.abandoned: Counter[str] = Counter()
        self.bytes_sent: Counter[str] = Counter()

    def add(self, counter: Counter[str], key: str, amount: int = 1) -> None:
        with self._lock:
            counter[key] += amount

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "abandoned": dict(self.abandoned),
                "bytes_sent": dict(self.bytes_sent),
            }


def behaviour_of(path: str) -> str | None:
    first = path.lstrip("/").split("/", 1)[0]
    return next((b for b in BEHAVIOURS if first.startswith(b)), None)


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str] | None:
    """(method, path) of the next request, its body consumed; None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        try:
            await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
    return parts[0], parts[1] if len(parts) > 1 else "/"


async def _until_closed(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(ConnectionError):
        while await reader.read(_CHUNK):
            pass


class _Handler:
    def __init__(self, stats: Stats, drip_interval: float) -> None:
        self.stats = stats
        self.drip_interval = drip_interval
        self.open: set[asyncio.StreamWriter] = set()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open.add(writer)
        try:
            while (request := await _read_request(reader)) is not None:
                method, path = request
                if method == "GET" and path == "/stats":
                    body = json.dumps(self.stats.snapshot()).encode()
                    writer.write(_head(200, len(body)) + body)
                    await writer.drain()
                    continue
                kind = behaviour_of(path)
                if kind is None:
                    writer.write(_head(404, 0))
                    await writer.drain()
                    continue
                self.stats.add(self.stats.requests, kind)
                if not await getattr(self, f"_{kind}")(reader, writer):
                    return
        except ConnectionError:
            pass
        finally:
            self.open.discard(writer)
            writer.close()

    # Each returns whether the connection may serve another request.

    async def _hang(self, reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> bool:
        await _until_closed(reader)
        self.stats.add(self.stats.abandoned, "hang")
        return False

    async def _reset(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        sock = writer.get_extra_info("socket")
        if sock is not None:  # linger 0: close() sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False

    async def _error(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        body = b'{"error":"internal"}'
        writer.write(_head(500, len(body)) + body)
        await writer.drain()
        return True

    async def _drip(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(_head(200, DRIP_ANNOUNCED))
        try:
            for _ in range(DRIP_ANNOUNCED):
                await writer.drain()
                if writer.is_closing():
                    break
                await asyncio.sleep(self.drip_interval)
                writer.write(b"x")
                self.stats.add(self.stats.bytes_sent, "drip")
        except ConnectionError:
            pass
        self.stats.add(self.stats.abandoned, "drip")
        return False

    async def _huge(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(_head(200, HUGE_BYTES))
        chunk = b"x" * _CHUNK
        try:
            for _ in range(HUGE_BYTES // _CHUNK):
                writer.write(chunk)
                await writer.drain()
                self.stats.add(self.stats.bytes_sent, "huge", _CHUNK)
        except ConnectionError:
            self.stats.add(self.stats.abandoned, "huge")
            return False
        return True


def _head(status: int, length: int) -> bytes:
    reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}[status]
    return f"HTTP/1.1 {status} {reason}\r\nContent-Length: {length}\r\n\r\n".encode()


class MisbehavingServer:
    """The misbehaving receivers on 127.0.0.1, on an event loop in a daemon thread."""

    def __init__(self, *, drip_interval: float = 1.0) -> None:
        self.stats = Stats()
        self._handler = _Handler(self.stats, drip_interval)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handler, "127.0.0.1", 0, backlog=512), self._loop
        ).result(10)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def url(self, behaviour: str, suffix: str = "") -> str:
        assert behaviour in BEHAVIOURS, behaviour
        return f"http://127.0.0.1:{self.port}/{behaviour}{suffix}"

    def close(self) -> None:
        """Stop listening, drop every open connection and stop the thread."""

        async def shut() -> None:
            assert self._server is not None
            self._server.close()
            for writer in list(self._handler.open):
                writer.transport.abort()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()


async def _serve(port: int, drip_interval: float) -> None:
    handler = _Handler(Stats(), drip_interval)
    server = await asyncio.start_server(handler, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--drip-interval", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.drip_interval))


if __name__ == "__main__":
    main()
