"""throttleRate through the real server: an application's rate paces the
deliveries to its endpoint, in the embedded mode (SQLite, deliveries handed
straight to the server's dispatcher) and on PostgreSQL with two extra
``hookgate worker`` processes delivering besides the server.

Counted, not timed: no second of receipts may hold more than twice the rate
(without the throttle every message would arrive within the same second).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from svix.api import ApplicationIn, EndpointIn, MessageIn

from tests.e2e.conftest import make_svix
from tests.e2e.harness import (
    STOP_TIMEOUT,
    Backend,
    Receiver,
    ServerProcess,
    server_command,
    unique,
    wait_until,
)

RATE = 4
MESSAGES = 24
READY_WORKER = b"Hookgate worker delivering from"


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[ServerProcess, int], None]]:
    """``start(server, n)``: n ``hookgate worker`` processes on the server's database."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(server: ServerProcess, count: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
        env.update({k: v for k, v in server.env.items() if v is not None})
        for i in range(count):
            log = tmp_path / f"worker-{i}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [*server_command(), "worker"],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            started.append((proc, log))
        for proc, log in started:
            wait_until(
                lambda log=log: READY_WORKER in log.read_bytes(),
                timeout=30,
                message=lambda log=log: f"a worker ready:\n{log.read_text()}",
            )
            assert proc.poll() is None, log.read_text()

    yield start
    for proc, _ in started:
        proc.terminate()
    for proc, _ in started:
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT)


def busiest_second(times: list[float]) -> int:
    ordered = sorted(times)
    return max(sum(1 for t in ordered[i:] if t < start + 1.0) for i, start in enumerate(ordered))


def test_an_application_throttle_rate_paces_its_endpoint(
    backend: Backend,
    server_factory: Callable[..., ServerProcess],
    workers: Callable[[ServerProcess, int], None],
    receiver: Receiver,
    request: pytest.FixtureRequest,
) -> None:
    server = server_factory()
    if backend.is_postgresql:
        workers(server, 2)
    svix = make_svix(server)
    request.addfinalizer(svix._httpx_client.close)
    app = svix.application.create(
        ApplicationIn(name="throttled", uid=unique("app"), throttle_rate=RATE)
    )
    throttled = receiver.new_path("throttled")
    svix.endpoint.create(app.id, EndpointIn(url=receiver.url(throttled)))

    for i in range(MESSAGES):
        svix.message.create(app.id, MessageIn(event_type="throttle.test", payload={"i": i}))

    received = receiver.wait_for(throttled, MESSAGES, timeout=60)
    assert len({r.msg_id for r in received}) == MESSAGES
    busiest = busiest_second([r.at for r in received])
    assert busiest <= 2 * RATE, f"{busiest} deliveries within one second"
