"""Noisy neighbours: endpoints that hang, drip, reset, fail, flood or refuse do
not hold up the healthy endpoints of the same application.

The request timeout is longer than the test waits, so no attempt to a hanging
or dripping endpoint can end while the test runs: the healthy endpoints must
get every message while those attempts are still open, whatever the machine's
load. The global in-flight limit is set so that the misbehaving endpoints
could take all of it if each could use its full concurrency. Endpoints in
trouble get a small share of the turns while the healthy ones are busy, so
the ones that answer at once (500, an answer over the cap) are tried far less
often than the healthy ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from benchmarks.misbehaving import MisbehavingServer
from svix.api import ApplicationIn, EndpointIn, MessageIn

from tests.e2e.conftest import make_svix
from tests.e2e.harness import Receiver, ServerProcess, closed_port, unique, wait_until

MESSAGES = 60
HEALTHY = 6
#: Longer than any wait below, so hanging attempts are still open at the end.
REQUEST_TIMEOUT = 300
ENV = {
    "HOOKGATE_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT),
    "HOOKGATE_ENDPOINT_CONCURRENCY": "4",
    # Two hanging endpoints at full concurrency would fill it.
    "HOOKGATE_MAX_IN_FLIGHT": "8",
    "HOOKGATE_CLAIM_BATCH_SIZE": "20",
    "HOOKGATE_RETRY_SCHEDULE": "1,1,1",
}


@pytest.fixture
def misbehaving() -> Iterator[MisbehavingServer]:
    server = MisbehavingServer(drip_interval=1.0)
    try:
        yield server
    finally:
        server.close()


def test_misbehaving_endpoints_do_not_hold_up_healthy_ones(
    server_factory: Callable[..., ServerProcess],
    receiver: Receiver,
    misbehaving: MisbehavingServer,
    request: pytest.FixtureRequest,
) -> None:
    server = server_factory(env=ENV)
    svix = make_svix(server)
    request.addfinalizer(svix._httpx_client.close)
    app = svix.application.create(ApplicationIn(name="neighbours", uid=unique("app")))
    sick_urls = [
        misbehaving.url("hang"),
        misbehaving.url("drip"),
        misbehaving.url("reset"),
        misbehaving.url("error"),
        misbehaving.url("huge"),
        f"http://127.0.0.1:{closed_port()}/refused",
    ]
    healthy_paths = [receiver.new_path("healthy") for _ in range(HEALTHY)]
    # Sick endpoints first, so that they are first in every turn.
    for url in [*sick_urls, *(receiver.url(p) for p in healthy_paths)]:
        svix.endpoint.create(app.id, EndpointIn(url=url))

    for i in range(MESSAGES):
        svix.message.create(app.id, MessageIn(event_type="neighbour.test", payload={"i": i}))

    def healthy_counts() -> list[int]:
        return [len({r.msg_id for r in receiver.requests(p)}) for p in healthy_paths]

    wait_until(
        lambda: all(n == MESSAGES for n in healthy_counts()),
        timeout=90,
        message=lambda: f"{MESSAGES} messages at every healthy endpoint, got {healthy_counts()}",
    )
    stats = misbehaving.stats.snapshot()
    # Every kind of misbehaviour was really tried...
    for kind in ("hang", "drip", "reset", "error", "huge"):
        assert stats["requests"].get(kind, 0) >= 1, stats
    # ...and no attempt to a hanging or dripping endpoint has ended yet: the
    # healthy endpoints never waited for one of them to time out.
    assert stats["abandoned"].get("hang", 0) == 0, stats
    assert stats["abandoned"].get("drip", 0) == 0, stats
    # A 10 MB answer is read up to the response cap, then the connection is
    # dropped, not drained: the receiver could not write it all.
    assert stats["abandoned"].get("huge", 0) >= 1, stats
    # The endpoints that answer at once but badly (500, or more than the cap)
    # yielded their turns to the healthy ones: taking turns one for one, each
    # would have been tried about as often as a healthy endpoint got messages.
    quick_but_bad = stats["requests"]["error"] + stats["requests"]["huge"]
    assert quick_but_bad < MESSAGES, stats
