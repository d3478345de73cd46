"""The inbound acceptance test: a server killed at random instants while
providers send to ``/in`` loses no acknowledged request.

A GitHub source forwards to a destination. Eight provider threads each send
their share of distinct, properly signed events, retrying (same body, same
``X-GitHub-Delivery``, as GitHub does) until one attempt is answered 2xx,
while the server is killed with SIGKILL several times (each time after a
random number of further acknowledgements, i.e. mid-load) and restarted on
the same storage. At the end every acknowledged event has reached the
destination at least once. Counts, not times, decide.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from svix.api import IngestEndpointIn, IngestSourceIn, Svix, SvixOptions
from svix.models import GithubConfig

from tests.e2e.harness import Receiver, ServerProcess, unique, wait_until

pytestmark = pytest.mark.slow

EVENTS = 240
SENDERS = 8
KILLS = 4
SECRET = "crash test secret"
#: Give up on the whole run after this long (a bound, not an expectation).
DEADLINE_S = 180.0


class Provider:
    """Sends signed GitHub events, each until it is acknowledged with a 2xx."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.acknowledged: set[int] = set()
        self.lock = threading.Lock()
        self.ack_count = threading.Condition(self.lock)

    def send(self, client: httpx.Client, n: int) -> None:
        body = json.dumps({"action": "opened", "n": n}).encode()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": f"delivery-{n}",
            "X-Hub-Signature-256": "sha256="
            + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        }
        give_up = time.monotonic() + DEADLINE_S
        while time.monotonic() < give_up:
            try:
                response = client.post(self.url, content=body, headers=headers)
            except httpx.TransportError:  # killed mid-request, or still restarting
                time.sleep(0.05)  # back off before the provider's retry
                continue
            if 200 <= response.status_code < 300:
                with self.ack_count:
                    self.acknowledged.add(n)
                    self.ack_count.notify_all()
                return
            assert response.status_code >= 500, response.text  # never a 4xx
            time.sleep(0.05)
        raise AssertionError(f"event {n} was never acknowledged")

    def wait_for_acks(self, count: int) -> bool:
        """Wait until ``count`` events are acknowledged (False: all were sent first)."""
        with self.ack_count:
            return self.ack_count.wait_for(
                lambda: len(self.acknowledged) >= min(count, EVENTS), timeout=DEADLINE_S
            )


def test_sigkill_while_receiving_loses_no_acknowledged_request(
    tmp_path: Path, receiver: Receiver, server_env: Callable[[], dict[str, str | None]]
) -> None:
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    path = receiver.new_path("inbound-crash")
    server = ServerProcess(tmp_path / "data", env=server_env())
    try:
        server.start()
        svix = Svix(server.token, SvixOptions(server_url=server.url, retry_schedule=[]))
        try:
            source = svix.ingest.source.create(
                IngestSourceIn(
                    name="GitHub",
                    uid=unique("gh"),
                    type="github",
                    config=GithubConfig(secret=SECRET),
                )
            )
            svix.ingest.endpoint.create(
                source.id,
                IngestEndpointIn(url=receiver.url(path), secret="whsec_" + "A" * 32),
            )
        finally:
            svix._httpx_client.close()
        provider = Provider(source.ingest_url)

        def send_share(first: int) -> None:
            with httpx.Client(timeout=15.0) as client:
                for n in range(first, EVENTS, SENDERS):
                    provider.send(client, n)

        with ThreadPoolExecutor(SENDERS) as pool:
            senders = [pool.submit(send_share, i) for i in range(SENDERS)]
            kills = 0
            for _ in range(KILLS):
                target = len(provider.acknowledged) + rng.randint(5, 40)
                if target >= EVENTS or not provider.wait_for_acks(target):
                    break
                server.kill()
                kills += 1
                server.start()
            for sender in senders:
                sender.result()

        assert kills >= 2, f"only {kills} kills happened (seed {seed})"
        assert provider.acknowledged == set(range(EVENTS))

        def forwarded() -> set[int]:
            return {int(json.loads(r.body)["n"]) for r in receiver.requests(path)}

        wait_until(
            lambda: forwarded() >= provider.acknowledged,
            timeout=60,
            interval=0.1,
            message=lambda: (
                f"every acknowledged event forwarded (seed {seed}, {kills} kills); missing "
                f"{sorted(provider.acknowledged - forwarded())}"
            ),
        )
    finally:
        server.stop()
