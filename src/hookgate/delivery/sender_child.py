"""The child process of ``ProcessSender``: runs a sender, answers in frames.

Started as ``python -m hookgate.delivery.sender_child <config>`` with
requests arriving as frames on stdin and results leaving as frames on
stdout (``delivery.sender_process``). It exits when stdin closes, once every
request it took has been answered.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys

from hookgate.core.outcome import SendResult
from hookgate.delivery.outbound import OutboundRequest, Sender
from hookgate.delivery.sender_process import ChildConfig, FrameReader, pack
from hookgate.delivery.senders import open_sender


class _Serve(asyncio.Protocol):
    """Reads request frames from stdin and sends each as it arrives."""

    def __init__(self, sender: Sender, out: asyncio.WriteTransport, done: asyncio.Event) -> None:
        self._sender = sender
        self._out = out
        self._done = done
        self._reader = FrameReader()
        self._results: list[tuple[int, SendResult]] = []
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._eof = False

    def data_received(self, data: bytes) -> None:
        for frame in self._reader.feed(data):
            for request_id, url, headers, body, timeout in frame:
                task = asyncio.ensure_future(
                    self._send(request_id, OutboundRequest(url, headers, body, timeout))
                )
                self._tasks.add(task)
                task.add_done_callback(self._finished)

    def eof_received(self) -> bool:
        self._eof = True
        self._maybe_done()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._maybe_done()

    async def _send(self, request_id: int, request: OutboundRequest) -> None:
        result = await self._sender.send(request)
        self._results.append((request_id, result))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._maybe_done()

    def _flush(self) -> None:
        self._flush_scheduled = False
        results, self._results = self._results, []
        if results:
            self._out.write(pack(results))
        self._maybe_done()

    def _maybe_done(self) -> None:
        if self._eof and not self._tasks and not self._results:
            self._done.set()


async def _main(config: ChildConfig) -> None:
    loop = asyncio.get_running_loop()
    sender = open_sender(
        config.client,
        config.policy,
        max_response_bytes=config.max_response_bytes,
        pool_limit=config.pool_limit,
        pool_limit_per_host=config.pool_limit_per_host,
        user_agent=config.user_agent,
    )
    done = asyncio.Event()
    stdout = os.fdopen(sys.stdout.fileno(), "wb", buffering=0, closefd=False)
    out_transport, _ = await loop.connect_write_pipe(asyncio.Protocol, stdout)
    stdin = os.fdopen(sys.stdin.fileno(), "rb", buffering=0, closefd=False)
    await loop.connect_read_pipe(lambda: _Serve(sender, out_transport, done), stdin)
    out_transport.write(pack([]))  # ready
    try:
        await done.wait()
    finally:
        await sender.close()
        out_transport.close()


def main() -> None:
    config = pickle.loads(bytes.fromhex(sys.argv[1]))
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        asyncio.run(_main(config))
    else:
        uvloop.run(_main(config))


if __name__ == "__main__":
    main()
