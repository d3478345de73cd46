"""What ``ProcessSender`` adds to the sender contract (which
``test_sender.py`` checks on it like on every sender): the child process's
life. A child that dies loses no attempt without a report, the next send
gets a new child, ``close`` lets in-flight attempts finish, and no child
outlives the process that started it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from hookgate.core.outcome import ErrorKind
from hookgate.delivery import sender_process
from hookgate.delivery.sender_process import LOST, ProcessSender
from tests.integration.test_sender import GUARD, LOOPBACK_ALLOWED, _request


class SlowReceiver:
    """Answers 200 once ``release`` is set; ``arrived`` is set by each request."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.arrived.set()
        await self.release.wait()
        return web.Response(body=b"late")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[SlowReceiver]:
    server = SlowReceiver()
    await server.start()
    yield server
    await server.stop()


def _child_pid(sender: ProcessSender) -> int:
    transport = sender._transport
    assert transport is not None, "no child is running"
    pid = transport.get_pid()
    assert isinstance(pid, int)
    return pid


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def _until_gone(pid: int) -> None:
    deadline = time.monotonic() + GUARD
    while _alive(pid):
        assert time.monotonic() < deadline, f"process {pid} is still running"
        await asyncio.sleep(0.02)


async def test_a_killed_child_reports_its_attempts_and_the_next_send_starts_another(
    receiver: SlowReceiver,
) -> None:
    sender = ProcessSender(LOOPBACK_ALLOWED)
    try:
        held = asyncio.create_task(sender.send(_request(receiver.url())))
        await asyncio.wait_for(receiver.arrived.wait(), GUARD)
        first = _child_pid(sender)

        os.kill(first, signal.SIGKILL)
        result = await asyncio.wait_for(held, GUARD)

        assert result.status_code is None
        assert result.error_kind is ErrorKind.CONNECTION_ERROR
        assert result.error_message == LOST
        receiver.release.set()
        again = await asyncio.wait_for(sender.send(_request(receiver.url())), GUARD)
        assert again.status_code == 200
        assert _child_pid(sender) != first
    finally:
        await sender.close()


async def test_close_lets_the_attempts_in_flight_finish(receiver: SlowReceiver) -> None:
    sender = ProcessSender(LOOPBACK_ALLOWED)
    held = asyncio.create_task(sender.send(_request(receiver.url())))
    await asyncio.wait_for(receiver.arrived.wait(), GUARD)
    child = _child_pid(sender)

    closing = asyncio.create_task(sender.close())
    receiver.release.set()
    result = await asyncio.wait_for(held, GUARD)
    await asyncio.wait_for(closing, GUARD)

    assert (result.status_code, result.body) == (200, b"late")
    await _until_gone(child)
    with pytest.raises(RuntimeError, match="closed"):
        await sender.send(_request(receiver.url()))


async def test_the_child_does_not_outlive_its_parent() -> None:
    """A parent that dies without closing (kill -9) takes its child along:
    the child's stdin closes and it exits."""
    script = textwrap.dedent(
        """
        import asyncio
        from hookgate.core.netpolicy import AddressPolicy
        from hookgate.delivery.outbound import OutboundRequest
        from hookgate.delivery.sender_process import ProcessSender

        async def main():
            sender = ProcessSender(AddressPolicy())
            # Refused before anything is sent, but the child is running.
            await sender.send(OutboundRequest("http://127.0.0.1:9/", {}, b"{}", 5.0))
            print(sender._transport.get_pid(), flush=True)
            await asyncio.Event().wait()

        asyncio.run(main())
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, env={**os.environ}
    )
    try:
        assert parent.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(parent.stdout.readline), GUARD)
        child = int(line)
        assert _alive(child)

        parent.kill()
        parent.wait()

        await _until_gone(child)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


async def test_a_hung_child_is_killed_and_its_attempts_reported(
    receiver: SlowReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child that stops answering (here: stopped with SIGSTOP) is killed
    once an attempt is overdue by ``HUNG_AFTER_S``; the attempt is reported
    lost and the next send gets a new child."""
    monkeypatch.setattr(sender_process, "HUNG_AFTER_S", 0.2)
    monkeypatch.setattr(sender_process, "WATCH_S", 0.05)
    sender = ProcessSender(LOOPBACK_ALLOWED)
    try:
        await sender.start()
        stuck = _child_pid(sender)
        os.kill(stuck, signal.SIGSTOP)

        result = await asyncio.wait_for(sender.send(_request(receiver.url(), timeout=0.2)), GUARD)

        assert (result.error_kind, result.error_message) == (ErrorKind.CONNECTION_ERROR, LOST)
        await _until_gone(stuck)
        receiver.release.set()
        again = await asyncio.wait_for(sender.send(_request(receiver.url())), GUARD)
        assert again.status_code == 200
    finally:
        await sender.close()
