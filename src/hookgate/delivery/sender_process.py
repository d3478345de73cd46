"""Sending in a process of its own: the HTTP work on the machine's next core.

``ProcessSender`` keeps the ``Sender`` contract while an ordinary sender
(``HttpSender`` or ``ReqwestSender``, chosen by ``HOOKGATE_HTTP_CLIENT``)
does the HTTP work in a child process (``python -m
hookgate.delivery.sender_child``). The dispatcher's event loop then pays for
a request only what it costs to hand it over and to take its result back,
both in batches: every request handed over in one turn of the event loop
goes to the child as one frame on its stdin, and the child answers with one
frame per turn of its own loop on its stdout. The child applies every rule
of the sender it runs (the address policy on the address connected to, no
redirects, the capped read, the deadline, the error reports), so nothing
about what is sent changes.

If the child exits (killed, out of memory), the attempts it held are
reported as ``CONNECTION_ERROR`` failures whose outcome is unknown (the
retry schedule sends them again: at least once, as always), and the next
send starts a new child. The child exits by itself when its stdin closes, so
it never outlives this process.

Frames are a 4-byte big-endian length and a pickle (both ends are this
package, started by this process: nothing else writes to those pipes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import struct
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

from hookgate.core.netpolicy import AddressPolicy
from hookgate.core.outcome import ErrorKind, SendResult
from hookgate.delivery.outbound import USER_AGENT, HttpClient, OutboundRequest, check_limits

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
#: How long ``close`` lets the child finish what it holds before killing it.
CLOSE_GRACE_S = 15.0
#: A child that has not answered an attempt this long after the attempt's
#: own deadline is taken for hung and killed (checked every ``WATCH_S``).
HUNG_AFTER_S = 30.0
WATCH_S = 5.0

#: The child's exit lost the outcome of these attempts.
LOST = "the sending process exited during the attempt; whether the receiver got it is unknown"


class ChildConfig(NamedTuple):
    """What the child needs to build its sender."""

    client: HttpClient
    policy: AddressPolicy
    max_response_bytes: int
    pool_limit: int
    pool_limit_per_host: int
    user_agent: str


def pack(items: Sequence[Any]) -> bytes:
    """One frame holding ``items``."""
    payload = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(payload)) + payload


class FrameReader:
    """Collects bytes and returns the frames they complete, in order."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        buffer = self._buffer
        buffer += data
        frames: list[Any] = []
        start = 0
        end = len(buffer)
        while end - start >= 4:
            (length,) = _LENGTH.unpack_from(buffer, start)
            if end - start - 4 < length:
                break
            frames.append(pickle.loads(memoryview(buffer)[start + 4 : start + 4 + length]))
            start += 4 + length
        if start:
            del buffer[:start]
        return frames


class _ChildProtocol(asyncio.SubprocessProtocol):
    """The parent's end of one child: results in, exit noticed."""

    def __init__(self, owner: ProcessSender) -> None:
        self._owner = owner
        self._reader = FrameReader()
        loop = asyncio.get_running_loop()
        #: Set by the child's first frame (empty): its sender is ready.
        self.ready: asyncio.Future[None] = loop.create_future()
        self.exited: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            return
        for frame in self._reader.feed(data):
            if not self.ready.done():
                self.ready.set_result(None)
            self._owner._resolve(frame)

    def process_exited(self) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError("the sending process exited while starting"))
        self._owner._child_gone(self)
        if not self.exited.done():
            self.exited.set_result(None)


class ProcessSender:
    """``Sender`` whose requests a child process sends (see the module docstring).

    The child runs the sender ``client`` names (``senders.open_sender``) with
    ``policy`` and the limits, which mean what they mean for ``HttpSender``. The child
    starts at the first ``send``; every call must come from the same event
    loop. ``close`` lets the child finish what it holds, then stops it.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        client: HttpClient = "aiohttp",
        max_response_bytes: int = 16 * 1024,
        pool_limit: int = 1000,
        pool_limit_per_host: int = 0,
        user_agent: str = USER_AGENT,
    ) -> None:
        check_limits(max_response_bytes, pool_limit, pool_limit_per_host)
        #: What the child builds its sender from.
        self.child_config = ChildConfig(
            client, policy, max_response_bytes, pool_limit, pool_limit_per_host, user_agent
        )
        self._transport: asyncio.SubprocessTransport | None = None
        self._protocol: _ChildProtocol | None = None
        self._stdin: asyncio.WriteTransport | None = None
        self._starting: asyncio.Task[None] | None = None
        # Attempts handed over, oldest first, with the time by which the
        # child must have answered each (``time.monotonic``).
        self._waiting: dict[int, tuple[asyncio.Future[SendResult], float]] = {}
        self._watch: asyncio.TimerHandle | None = None
        self._outbox: list[tuple[int, str, dict[str, str], bytes, float]] = []
        self._flush_scheduled = False
        self._next_id = 0
        self._closed = False

    async def start(self) -> None:
        """Start the child now instead of at the first send (which would
        otherwise wait for it to import its client)."""
        if self._closed:
            raise RuntimeError("ProcessSender is closed")
        if self._stdin is None:
            await self._start()

    def start_soon(self) -> None:
        """Start the child in the background; the first send waits for it."""
        if not self._closed and self._stdin is None and self._starting is None:
            self._starting = asyncio.create_task(self._spawn())

    async def send(self, request: OutboundRequest) -> SendResult:
        if self._closed:
            raise RuntimeError("ProcessSender is closed")
        if self._stdin is None:
            await self._start()
        loop = asyncio.get_running_loop()
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[SendResult] = loop.create_future()
        self._waiting[request_id] = (future, loop.time() + request.timeout + HUNG_AFTER_S)
        self._outbox.append(
            (request_id, request.url, dict(request.headers), request.body, request.timeout)
        )
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        try:
            return await future
        finally:
            self._waiting.pop(request_id, None)

    async def close(self) -> None:
        """Let the child finish what it holds (up to ``CLOSE_GRACE_S``), then
        stop it. Safe to call more than once."""
        self._closed = True
        if self._starting is not None:
            with contextlib.suppress(Exception):
                await self._starting
        transport, protocol = self._transport, self._protocol
        if transport is None or protocol is None:
            return
        self._flush()
        with contextlib.suppress(Exception):
            if self._stdin is not None:
                self._stdin.close()
        try:
            await asyncio.wait_for(asyncio.shield(protocol.exited), CLOSE_GRACE_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                transport.kill()
            await protocol.exited
        transport.close()

    # -- the child -----------------------------------------------------------------

    async def _start(self) -> None:
        """Start the child once, however many sends wait for it."""
        if self._starting is None:
            self._starting = asyncio.create_task(self._spawn())
        try:
            await asyncio.shield(self._starting)
        finally:
            if self._starting is not None and self._starting.done():
                self._starting = None

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.subprocess_exec(
            lambda: _ChildProtocol(self),
            sys.executable,
            "-m",
            "hookgate.delivery.sender_child",
            pickle.dumps(self.child_config).hex(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,
        )
        # uvloop's pipe transports do not subclass asyncio's classes.
        stdin = cast(asyncio.WriteTransport, transport.get_pipe_transport(0))
        self._transport, self._protocol, self._stdin = transport, protocol, stdin
        self._watch = loop.call_later(WATCH_S, self._check_hung)
        await protocol.ready

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._outbox or self._stdin is None or self._stdin.is_closing():
            return
        outbox, self._outbox = self._outbox, []
        self._stdin.write(pack(outbox))

    def _resolve(self, results: list[tuple[int, SendResult]]) -> None:
        waiting = self._waiting
        for request_id, result in results:
            entry = waiting.get(request_id)
            if entry is not None and not entry[0].done():
                entry[0].set_result(result)

    def _check_hung(self) -> None:
        """Kill the child if its oldest unanswered attempt is long overdue
        (its exit then reports what it held); look again in ``WATCH_S``."""
        self._watch = None
        transport = self._transport
        if transport is None:
            return
        loop = asyncio.get_running_loop()
        oldest = next(iter(self._waiting.values()), None)
        if oldest is not None and oldest[1] < loop.time():
            log.error("the sending process has not answered for too long; restarting it")
            with contextlib.suppress(ProcessLookupError):
                transport.kill()
            return
        self._watch = loop.call_later(WATCH_S, self._check_hung)

    def _child_gone(self, protocol: _ChildProtocol) -> None:
        """The child exited: what it held failed with an unknown outcome; the
        next send starts a new one."""
        if protocol is not self._protocol:
            return
        if not self._closed:
            log.error("the sending process exited; starting a new one at the next send")
        if self._transport is not None:
            self._transport.close()
        self._transport = self._protocol = self._stdin = None
        # Requests not written yet are reported with the rest: each attempt
        # waiting here gets exactly one answer, and none is sent afterwards.
        self._outbox.clear()
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        lost = SendResult(None, b"", 0, ErrorKind.CONNECTION_ERROR, LOST)
        for future, _ in self._waiting.values():
            if not future.done():
                future.set_result(lost)
