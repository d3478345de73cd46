"""The overview page (``/``) over HTTP on SQLite and PostgreSQL: its figures
move when a message is accepted and delivered and when an endpoint fails."""

from __future__ import annotations

import re

import httpx
import pytest
from svix.api import EndpointIn, MessageIn, Svix

from tests.e2e.dashboard import operator_client
from tests.e2e.harness import Receiver, ServerProcess, wait_until

pytestmark = pytest.mark.slow

_FIGURE = re.compile(r'data-figure="([a-z0-9-]+)">([^<]*)<')


def figures(client: httpx.Client) -> list[dict[str, str]]:
    """The overview's figures: right now, then the last hour, then the day."""
    answer = client.get("/")
    assert answer.status_code == 200, answer.text
    sections = answer.text.split('<div class="grid"')[1:]
    return [dict(_FIGURE.findall(section)) for section in sections]


def test_overview_counts_a_delivered_message_and_a_failing_endpoint(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    ok_path, bad_path = receiver.new_path("ok"), receiver.new_path("bad")
    receiver.script(bad_path, then=500)
    svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(ok_path)))
    svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(bad_path)))
    with operator_client(server) as client:
        before_now, before_hour, before_day = figures(client)

        svix_client.message.create(app_id, MessageIn(event_type="order.paid", payload={"n": 1}))
        wait_until(lambda: receiver.requests(ok_path) and receiver.requests(bad_path))

        def moved() -> list[dict[str, str]] | None:
            after = figures(client)
            hour = after[1]
            done = (
                int(hour["attempts-succeeded"]) > int(before_hour["attempts-succeeded"])
                and int(hour["attempts-failed"]) > int(before_hour["attempts-failed"])
                and int(after[0]["endpoints-failing"]) > 0
            )
            return after if done else None

        now, hour, day = wait_until(moved, message="the overview to count the attempts")
    assert int(hour["messages-accepted"]) >= int(before_hour["messages-accepted"]) + 1
    assert int(day["messages-accepted"]) >= int(before_day["messages-accepted"]) + 1
    assert hour["latency-p50"] != "—"
    assert hour["latency-p99"] != "—"
    assert int(now["deliveries-pending"]) >= 1  # the failing delivery waits for a retry
    assert set(before_now) == set(now)
    with operator_client(server) as client:
        listed = client.get("/").text
    # The endpoints in trouble link to their pages (the oldest failures
    # first, so this test's endpoint may be beyond the first rows).
    assert 'id="troubled"' in listed
    assert re.search(r'href="/apps/app_[^"/]+/endpoints/ep_[^"]+"', listed)


def test_overview_needs_a_login(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/").status_code == 303
