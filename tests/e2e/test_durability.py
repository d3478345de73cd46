"""The acceptance test: a server killed with deliveries in flight loses nothing.

On SQLite the restarted server releases the dead one's leases at once; on
PostgreSQL (``HOOKGATE_LEASE_SECONDS=3`` there) they have to run out first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Receiver, Reply, ServerProcess, unique, wait_until

# Every test here drives real server processes over HTTP.
pytestmark = pytest.mark.slow

MESSAGES = 200


def _send_all(server: ServerProcess, app_id: str, count: int) -> list[str]:
    """Create ``count`` messages from 8 concurrent clients; each must answer 202."""

    def send(client: httpx.Client, i: int) -> str:
        response = client.post(
            f"/api/v1/app/{app_id}/msg", json={"eventType": "durable.test", "payload": {"i": i}}
        )
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    with server.http() as client, ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda i: send(client, i), range(count)))


def test_sigkill_with_deliveries_in_flight_loses_nothing(
    tmp_path: Path, receiver: Receiver, server_env: Callable[[], dict[str, str | None]]
) -> None:
    data_dir = tmp_path / "durable-data"
    path = receiver.new_path("durable")
    release = threading.Event()
    # Phase 1: the receiver takes every request and never answers while the first
    # server lives, so no delivery can be acknowledged before the kill.
    receiver.script(path, then=Reply(hold=release, hold_timeout=60))
    env = {**server_env(), "HOOKGATE_REQUEST_TIMEOUT": "60"}

    first = ServerProcess(data_dir, env=env)
    second = ServerProcess(data_dir, env=env, token=first.token)
    try:
        first.start()
        with first.http() as api:
            app = api.post("/api/v1/app", json={"name": "durable", "uid": unique("durable")})
            assert app.status_code == 201, app.text
            app_id = app.json()["id"]
            ep = api.post(f"/api/v1/app/{app_id}/endpoint", json={"url": receiver.url(path)})
            assert ep.status_code == 201, ep.text
            endpoint_id = ep.json()["id"]

        sent = _send_all(first, app_id, MESSAGES)
        assert len(set(sent)) == MESSAGES
        receiver.wait_for(path, 1)  # deliveries really are in flight
        first.kill()

        # Phase 2: answer 200 at once. Requests of the dead process that were
        # still in the socket buffers are given a moment to land first, and only
        # requests that arrive after the restart count.
        receiver.script(path, then=200)
        release.set()
        time.sleep(0.3)
        restarted_at = time.time()
        second.start()

        def delivered_after_restart() -> set[str]:
            return {r.msg_id for r in receiver.requests(path) if r.at >= restarted_at}

        wait_until(
            lambda: delivered_after_restart() >= set(sent),
            timeout=30,
            interval=0.1,
            message=lambda: (
                f"all {MESSAGES} messages after restart "
                f"(missing {len(set(sent) - delivered_after_restart())})"
            ),
        )

        with second.http() as api:

            def stats() -> dict[str, int]:
                response = api.get(f"/api/v1/app/{app_id}/endpoint/{endpoint_id}/stats")
                assert response.status_code == 200, response.text
                return dict(response.json())

            wait_until(
                lambda: stats()["success"] == MESSAGES,
                timeout=15,
                message=lambda: f"stats to show {MESSAGES} successes: {stats()}",
            )
            final = stats()
            assert (final["pending"], final["sending"], final["fail"]) == (0, 0, 0)
    finally:
        release.set()
        first.kill()
        second.stop()
