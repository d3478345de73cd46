"""The message poller through the official svix SDK (``svix.message.poller``)
against a live server, on SQLite and PostgreSQL: a polling endpoint created
with ``svix-poller://``, read in order with iterators and filters, never
pushed to; consumers whose positions the server keeps across a restart."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from svix.api import (
    ApplicationIn,
    EndpointIn,
    EndpointPatch,
    MessageIn,
    MessagePollerConsumerPollOptions,
    MessagePollerPollOptions,
    Svix,
)
from svix.exceptions import HttpError, HTTPValidationError
from svix.models import MessageStatus, PollingEndpointConsumerSeekIn

from tests.e2e.conftest import make_svix
from tests.e2e.harness import Receiver, Reply, ServerProcess, unique, wait_until


def send(svix: Svix, app_id: str, n: int, event_type: str = "order.created", **kw: object) -> str:
    return svix.message.create(app_id, MessageIn(event_type=event_type, payload={"n": n}, **kw)).id


def poll_all(
    svix: Svix, app_id: str, sink_id: str, expected: int, **options: object
) -> tuple[list[str], str]:
    """Read with iterators (pages of 2) until ``expected`` messages came;
    returns their ids and the last iterator."""
    seen: list[str] = []
    iterator: str | None = None

    def more() -> bool:
        nonlocal iterator
        page = svix.message.poller.poll(
            app_id,
            sink_id,
            MessagePollerPollOptions(iterator=iterator, limit=2, **options),  # type: ignore[arg-type]
        )
        seen.extend(m.id for m in page.data)
        iterator = page.iterator
        return len(seen) >= expected

    wait_until(more, message=lambda: f"{expected} messages (have {len(seen)})")
    assert iterator is not None
    return seen, iterator


def test_poll_in_order_with_filters_and_no_push(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path("pushed")
    svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path)))
    sink = svix_client.endpoint.create(
        app_id,
        EndpointIn(url="svix-poller://orders", uid="orders-poller", channels=["eu"]),
    )
    assert sink.url == "svix-poller://orders"
    eu = [send(svix_client, app_id, i, channels=["eu"]) for i in range(4)]
    send(svix_client, app_id, 99, channels=["us"])
    refund = send(svix_client, app_id, 5, "order.refunded", channels=["eu"])

    seen, iterator = poll_all(svix_client, app_id, "orders-poller", 5)
    assert seen == [*eu, refund]
    again = svix_client.message.poller.poll(
        app_id, sink.id, MessagePollerPollOptions(iterator=iterator)
    )
    assert (again.data, again.done) == ([], True)
    first = svix_client.message.poller.poll(app_id, sink.id, MessagePollerPollOptions(limit=1))
    assert first.data[0].payload == {"n": 0}
    assert first.data[0].event_type == "order.created"
    assert first.data[0].channels == ["eu"]

    refunds, _ = poll_all(svix_client, app_id, sink.id, 1, event_type="order.refunded")
    assert refunds == [refund]

    # The pushed endpoint got all six; the polling endpoint was never pushed to.
    receiver.wait_for(path, 6)
    for msg_id in eu:
        attempts = svix_client.message_attempt.list_by_msg(app_id, msg_id).data
        assert {a.endpoint_id for a in attempts} <= {
            ep.id for ep in svix_client.endpoint.list(app_id).data if ep.id != sink.id
        }


def test_unknown_sinks_and_bad_iterators_are_refused(svix_client: Svix, app_id: str) -> None:
    pushed = svix_client.endpoint.create(app_id, EndpointIn(url="https://example.com/hook"))
    sink = svix_client.endpoint.create(app_id, EndpointIn(url="svix-poller://x"))
    with pytest.raises(HttpError) as not_poller:
        svix_client.message.poller.poll(app_id, pushed.id)
    assert not_poller.value.status_code == 404
    with pytest.raises(HTTPValidationError) as bad:
        svix_client.message.poller.poll(
            app_id, sink.id, MessagePollerPollOptions(iterator="garbage")
        )
    assert bad.value.status_code == 422


def test_consumer_offsets_survive_a_restart(
    tmp_path: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    data_dir = tmp_path / "poller-data"
    server = server_factory(data_dir)
    svix = make_svix(server)
    app_id = svix.application.create(ApplicationIn(name="poll", uid=unique("app"))).id
    sink = svix.endpoint.create(app_id, EndpointIn(url="svix-poller://audit")).id
    sent = [send(svix, app_id, i) for i in range(5)]

    def consume(client: Svix, consumer: str, limit: int) -> list[str]:
        page = client.message.poller.consumer_poll(
            app_id, sink, consumer, MessagePollerConsumerPollOptions(limit=limit)
        )
        return [m.id for m in page.data]

    poll_all(svix, app_id, sink, 5)  # all five have settled
    assert consume(svix, "audit-1", 2) == sent[:2]
    svix._httpx_client.close()
    server.stop()

    server = server_factory(data_dir)
    svix = make_svix(server)
    assert consume(svix, "audit-1", 2) == sent[2:4]
    assert consume(svix, "audit-1", 10) == sent[4:]
    assert consume(svix, "audit-1", 10) == []
    # Another consumer starts at the beginning; a seek moves a consumer back.
    assert consume(svix, "audit-2", 10) == sent
    seek = svix.message.poller.consumer_seek(
        app_id,
        sink,
        "audit-1",
        PollingEndpointConsumerSeekIn(after=datetime.now(UTC) - timedelta(hours=1)),
    )
    assert seek.iterator
    assert consume(svix, "audit-1", 10) == sent
    svix._httpx_client.close()


def test_a_resend_or_a_url_turned_polling_sends_nothing(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    """Deliveries queued for a polling endpoint (a resend, or an endpoint
    whose URL became ``svix-poller://`` while one was pending) finish
    without a request and never count against the endpoint."""
    path = receiver.new_path("turned")
    release = threading.Event()
    # The first attempt is answered (with a 503) only once the URL changed.
    receiver.script(path, Reply(status=503, hold=release), then=503)
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path)))
    msg = send(svix_client, app_id, 1)
    receiver.wait_for(path, 1)
    svix_client.endpoint.patch(app_id, ep.id, EndpointPatch(url="svix-poller://turned"))
    release.set()
    sink = svix_client.endpoint.create(app_id, EndpointIn(url="svix-poller://direct"))
    svix_client.message_attempt.resend(app_id, msg, sink.id)

    def statuses() -> dict[str, MessageStatus] | None:
        found = {
            d.id: d.status
            for d in svix_client.message_attempt.list_attempted_destinations(app_id, msg).data
        }
        return found if set(found.values()) == {MessageStatus.SUCCESS} else None

    assert set(wait_until(statuses, timeout=30, message="both deliveries done")) == {
        ep.id,
        sink.id,
    }
    assert svix_client.message_attempt.list_by_endpoint(app_id, sink.id).data == []
    assert not svix_client.endpoint.get(app_id, ep.id).disabled
    assert len(receiver.requests(path)) == 1
