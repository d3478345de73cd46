"""``GET /metrics`` on a live server: the counters and histograms move by
exactly what the server did between two scrapes, the database gauges follow
the database, and ``HOOKGATE_METRICS_TOKEN`` guards the page when set.

Each test runs a server of its own, so that deliveries left over by other
tests (retries on the shared server) cannot move its counters. The
exposition is parsed with prometheus-client's own parser."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Mapping

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from svix.api import ApplicationIn, MessageIn, Svix

from tests.e2e.conftest import make_svix
from tests.e2e.harness import Receiver, Reply, ServerProcess, endpoint_on, unique, wait_until
from tests.e2e.test_inbound import GITHUB_BODY, github_headers, github_source

pytestmark = pytest.mark.slow

#: A scrape: sample value by (sample name, sorted labels).
Scrape = dict[tuple[str, tuple[tuple[str, str], ...]], float]

MESSAGES = 5
#: ``BASE_ENV``'s retry schedule: one attempt and three retries.
ATTEMPTS_PER_FAILED_MESSAGE = 4


def scrape(server: ServerProcess, token: str | None = None) -> Scrape:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = httpx.get(f"{server.url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(scraped: Scrape, name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    """A server of this test's own, on the test's backend."""
    return server_factory()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[Svix]:
    svix_client = make_svix(server)
    try:
        yield svix_client
    finally:
        svix_client._httpx_client.close()


def test_counters_and_histograms_move_by_what_the_server_did(
    server: ServerProcess, client: Svix, receiver: Receiver
) -> None:
    before = scrape(server)

    app_id = client.application.create(ApplicationIn(name="metrics", uid=unique("m"))).id
    _, _, ok_path = endpoint_on(client, app_id, receiver, "ok")
    _, _, failing_path = endpoint_on(client, app_id, receiver, "failing")
    receiver.script(failing_path, then=500)
    for _ in range(MESSAGES):
        client.message.create(app_id, MessageIn(event_type="metrics.test", payload={"n": 1}))

    source = github_source(client)
    assert source.ingest_url is not None
    delivery = str(uuid.uuid4())
    for headers in (
        github_headers(GITHUB_BODY, delivery),  # accepted
        github_headers(GITHUB_BODY, delivery),  # the same delivery again: duplicate
        {**github_headers(GITHUB_BODY), "X-Hub-Signature-256": "sha256=" + "0" * 64},
    ):
        httpx.post(source.ingest_url, content=GITHUB_BODY, headers=headers, timeout=10)

    failures = MESSAGES * ATTEMPTS_PER_FAILED_MESSAGE
    receiver.wait_for(ok_path, MESSAGES)
    receiver.wait_for(failing_path, failures, timeout=20)
    # Attempts are counted once their results are written, just after the sends.
    after = wait_until(
        lambda: (
            got
            if moved(before, got := scrape(server), "hookgate_attempts_total", **_FAILED)
            >= failures
            else None
        ),
        message="the failed attempts to be counted",
    )
    after = wait_until(
        lambda: (
            got
            if moved(before, got := scrape(server), "hookgate_attempts_total", **_SUCCEEDED)
            >= MESSAGES
            else None
        ),
        message="the successful attempts to be counted",
    )

    assert moved(before, after, "hookgate_messages_accepted_total") == MESSAGES
    assert moved(before, after, "hookgate_attempts_total", **_SUCCEEDED) == MESSAGES
    assert moved(before, after, "hookgate_attempts_total", **_FAILED) == failures
    assert moved(before, after, "hookgate_attempt_duration_seconds_count") == MESSAGES + failures
    assert moved(before, after, "hookgate_delivery_latency_seconds_count") == MESSAGES
    for verdict in ("accepted", "duplicate", "rejected"):
        assert moved(before, after, "hookgate_inbound_requests_total", verdict=verdict) == 1
    # Nothing is labelled by application or endpoint.
    labels = {name for _, sample_labels in after for name, _ in sample_labels}
    assert labels <= {"outcome", "error_kind", "verdict", "le"}


_SUCCEEDED: Mapping[str, str] = {"outcome": "success", "error_kind": "none"}
_FAILED: Mapping[str, str] = {"outcome": "failure", "error_kind": "http_status"}


def test_gauges_count_pending_deliveries_and_disabled_endpoints(
    server: ServerProcess, client: Svix, receiver: Receiver
) -> None:
    first = scrape(server)
    assert value(first, "hookgate_deliveries_pending") == 0
    assert value(first, "hookgate_endpoints_disabled") == 0

    app_id = client.application.create(ApplicationIn(name="gauges", uid=unique("g"))).id
    _, _, held_path = endpoint_on(client, app_id, receiver, "held")
    endpoint_on(client, app_id, receiver, "off", disabled=True)
    release = threading.Event()
    receiver.script(held_path, then=Reply(hold=release, hold_timeout=30))
    try:
        client.message.create(app_id, MessageIn(event_type="gauges.test", payload={}))
        receiver.wait_for(held_path, 1)
        # The gauges are read from the database at most every few seconds.
        wait_until(
            lambda: (
                (got := scrape(server))
                and value(got, "hookgate_deliveries_pending") == 1
                and value(got, "hookgate_endpoints_disabled") == 1
            ),
            timeout=15,
            message="one pending delivery and one disabled endpoint",
        )
    finally:
        release.set()
    wait_until(
        lambda: value(scrape(server), "hookgate_deliveries_pending") == 0,
        timeout=15,
        message="no pending delivery once it succeeded",
    )


@pytest.mark.sqlite_only
def test_metrics_token_is_required_when_set_and_the_admin_token_is_not(
    server_factory: Callable[..., ServerProcess],
) -> None:
    metrics_token = "hg_metrics_" + uuid.uuid4().hex
    server = server_factory(env={"HOOKGATE_METRICS_TOKEN": metrics_token})
    url = f"{server.url}/metrics"
    for headers in (
        {},
        {"Authorization": f"Bearer {server.token}"},  # the admin token is not the metrics token
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {metrics_token}"},
    ):
        response = httpx.get(url, headers=headers, timeout=10)
        assert response.status_code == 401, headers
        assert metrics_token not in response.text
        assert response.json()["detail"]
    assert value(scrape(server, metrics_token), "hookgate_messages_accepted_total") == 0
    # The metrics token opens nothing of the management API.
    response = httpx.get(
        f"{server.url}/api/v1/app",
        headers={"Authorization": f"Bearer {metrics_token}"},
        timeout=10,
    )
    assert response.status_code == 401


@pytest.mark.sqlite_only
def test_metrics_are_open_without_a_token_configured(server: ServerProcess) -> None:
    scraped = scrape(server)  # no Authorization header at all
    assert value(scraped, "hookgate_attempts_total", **_SUCCEEDED) == 0
    assert ("hookgate_deliveries_pending", ()) in scraped
    # No *_created timestamp series beside the counters and histograms.
    assert not [name for name, _ in scraped if name.endswith("_created")]
