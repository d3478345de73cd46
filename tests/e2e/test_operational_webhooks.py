"""Operational webhooks: the operator's endpoints, managed with the official
SDK's ``operational_webhook.endpoint`` API, receive Svix-shaped events about
customers' endpoints and deliveries, signed with their own secret."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
import svix.webhooks
from svix.api import (
    ApplicationIn,
    EndpointIn,
    EndpointPatch,
    MessageIn,
    OperationalWebhookEndpointHeadersIn,
    OperationalWebhookEndpointIn,
    OperationalWebhookEndpointSecretIn,
    OperationalWebhookEndpointUpsertIn,
    Svix,
)
from svix.exceptions import HttpError, HTTPValidationError

from tests.e2e.conftest import make_svix
from tests.e2e.harness import Receiver, Reply, ServerProcess, unique, wait_until

pytestmark = pytest.mark.slow

#: Five attempts in all: ``message.attempt.failing`` comes with the fourth
#: failure, ``message.attempt.exhausted`` with the fifth.
RETRIES = {"HOOKGATE_RETRY_SCHEDULE": "0.1,0.1,0.1,0.1", "HOOKGATE_RETRY_JITTER": "0"}


@pytest.fixture
def client(server_factory: Callable[..., ServerProcess]) -> Iterator[Svix]:
    """A server of the test's own: its operational endpoints hear about
    nothing but this test."""
    svix_client = make_svix(server_factory(env=RETRIES))
    try:
        yield svix_client
    finally:
        svix_client._httpx_client.close()


def _events(receiver: Receiver, path: str, secret: str) -> list[dict[str, Any]]:
    """Every event received on ``path``, each verified with ``secret``."""
    wh = svix.webhooks.Webhook(secret)
    events: list[dict[str, Any]] = []
    for got in receiver.requests(path):
        wh.verify(got.body, got.headers)
        events.append(json.loads(got.body))
    return events


def _types(receiver: Receiver, path: str, secret: str) -> list[str]:
    return [event["type"] for event in _events(receiver, path, secret)]


def _wait_for_event(
    receiver: Receiver, path: str, secret: str, kind: str, **data: Any
) -> dict[str, Any]:
    """The first verified event of type ``kind`` whose data includes ``data``."""

    def found() -> dict[str, Any] | None:
        for event in _events(receiver, path, secret):
            if event["type"] == kind and data.items() <= event["data"].items():
                return event
        return None

    return wait_until(
        found,
        timeout=20,
        message=lambda: f"{kind} {data}; got {_types(receiver, path, secret)}",
    )


def test_manage_operational_endpoints_with_the_sdk(client: Svix, receiver: Receiver) -> None:
    ops = client.operational_webhook.endpoint
    secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
    created = ops.create(
        OperationalWebhookEndpointIn(
            url=receiver.url("/ops"),
            uid=unique("ops"),
            description="pager",
            event_types=["endpoint.disabled", "message.attempt.exhausted"],
            metadata={"team": "sre"},
            secret=secret,
            headers={"X-Team": "sre"},
        )
    )
    assert created.id.startswith("ep_")
    assert created.description == "pager"
    assert sorted(created.event_types or []) == ["endpoint.disabled", "message.attempt.exhausted"]
    assert created.metadata == {"team": "sre"}
    assert ops.get(created.id) == created
    assert ops.get(created.uid or "") == created
    assert [ep.id for ep in ops.list().data] == [created.id]
    assert ops.get_secret(created.id).key == secret
    assert ops.get_headers(created.id).headers == {"X-Team": "sre"}

    ops.set_headers(created.id, OperationalWebhookEndpointHeadersIn(headers={"X-On-Call": "1"}))
    assert ops.get_headers(created.id).headers == {"X-On-Call": "1"}
    ops.rotate_secret(created.id, OperationalWebhookEndpointSecretIn(grace_period_seconds=0))
    rotated = ops.get_secret(created.id).key
    assert rotated.startswith("whsec_")
    assert rotated != secret

    updated = ops.upsert(
        created.id, OperationalWebhookEndpointUpsertIn(url=receiver.url("/ops2"), disabled=True)
    )
    assert (updated.url, updated.disabled, updated.event_types) == (
        receiver.url("/ops2"),
        True,
        None,
    )
    made_by_put = ops.upsert("pager-2", OperationalWebhookEndpointUpsertIn(url=receiver.url("/p")))
    assert made_by_put.uid == "pager-2"
    assert {ep.id for ep in ops.list().data} == {created.id, made_by_put.id}

    ops.delete(created.id)
    with pytest.raises(HttpError) as missing:
        ops.get(created.id)
    assert missing.value.status_code == 404


def test_operational_endpoints_are_not_applications(client: Svix, receiver: Receiver) -> None:
    """The internal application holding them is invisible to ``/api/v1/app``,
    and no customer message can be sent to it."""
    ops = client.operational_webhook.endpoint
    ep = ops.create(OperationalWebhookEndpointIn(url=receiver.url("/hidden")))
    assert client.application.list().data == []
    with pytest.raises(HttpError) as missing:
        client.endpoint.get("app_hookgate_operational", ep.id)
    assert missing.value.status_code == 404
    with pytest.raises(HttpError) as refused:
        client.message.create("app_hookgate_operational", MessageIn(event_type="x", payload={}))
    assert refused.value.status_code == 404


def test_unknown_event_types_and_missing_endpoints_are_4xx(client: Svix) -> None:
    ops = client.operational_webhook.endpoint
    with pytest.raises(HTTPValidationError) as bad:
        ops.create(
            OperationalWebhookEndpointIn(url="https://ops.example.com/", event_types=["user.x"])
        )
    assert bad.value.detail[0].loc == ["body", "eventTypes"]
    assert "user.x" in bad.value.detail[0].msg
    for call in (lambda: ops.get("ep_missing"), lambda: ops.get_secret("nope")):
        with pytest.raises(HttpError) as missing:
            call()
        assert missing.value.status_code == 404


def test_failing_exhausted_disabled_recovered_and_endpoint_changes_arrive_signed(
    client: Svix, receiver: Receiver
) -> None:
    ops_path = receiver.new_path("ops")
    ops = client.operational_webhook.endpoint.create(
        OperationalWebhookEndpointIn(url=receiver.url(ops_path))
    )
    secret = client.operational_webhook.endpoint.get_secret(ops.id).key
    app = client.application.create(ApplicationIn(name="shop", uid=unique("shop")))

    failing_path, gone_path, flaky_path = (receiver.new_path(n) for n in ("fail", "gone", "flaky"))
    receiver.script(failing_path, then=Reply(500))
    receiver.script(gone_path, then=Reply(410))
    receiver.script(flaky_path, 500, 503, then=200)
    failing = client.endpoint.create(app.id, EndpointIn(url=receiver.url(failing_path), uid="f"))
    gone = client.endpoint.create(app.id, EndpointIn(url=receiver.url(gone_path)))
    flaky = client.endpoint.create(app.id, EndpointIn(url=receiver.url(flaky_path)))
    msg = client.message.create(
        app.id, MessageIn(event_type="order.paid", payload={}, event_id="o1")
    )

    attempt_data = {"appId": app.id, "appUid": app.uid, "msgId": msg.id, "msgEventId": "o1"}
    for kind in ("message.attempt.failing", "message.attempt.exhausted"):
        event = _wait_for_event(
            receiver, ops_path, secret, kind, endpointId=failing.id, **attempt_data
        )
        assert event["data"]["lastAttempt"]["responseStatusCode"] == 500
        assert set(event["data"]["lastAttempt"]) == {"id", "responseStatusCode", "timestamp"}
    recovered = _wait_for_event(
        receiver, ops_path, secret, "message.attempt.recovered", endpointId=flaky.id
    )
    assert recovered["data"]["lastAttempt"]["responseStatusCode"] == 200
    disabled = _wait_for_event(
        receiver, ops_path, secret, "endpoint.disabled", endpointId=gone.id, appId=app.id
    )
    assert disabled["data"]["failSince"].endswith("Z")
    assert client.endpoint.get(app.id, gone.id).disabled

    client.endpoint.patch(app.id, failing.id, EndpointPatch(description="paused"))
    client.endpoint.delete(app.id, failing.id)
    endpoint_data = {"appId": app.id, "appUid": app.uid, "endpointId": failing.id}
    for kind in ("endpoint.created", "endpoint.updated", "endpoint.deleted"):
        event = _wait_for_event(receiver, ops_path, secret, kind, endpointUid="f", **endpoint_data)
        assert set(event) == {"type", "data"}

    # Exactly one exhausted event for the one message, and none about the
    # operational endpoint itself.
    events = _events(receiver, ops_path, secret)
    assert [e["type"] for e in events].count("message.attempt.exhausted") == 1
    assert all(e["data"]["endpointId"] != ops.id for e in events)


def test_an_operational_endpoint_that_fails_never_slows_customers_or_loops(
    client: Svix, receiver: Receiver
) -> None:
    ops_path = receiver.new_path("ops-down")
    receiver.script(ops_path, then=Reply(500))
    client.operational_webhook.endpoint.create(
        OperationalWebhookEndpointIn(url=receiver.url(ops_path))
    )
    app = client.application.create(ApplicationIn(name="shop", uid=unique("shop")))
    ok_path = receiver.new_path("ok")
    client.endpoint.create(app.id, EndpointIn(url=receiver.url(ok_path)))
    for n in range(5):
        client.message.create(app.id, MessageIn(event_type="order.paid", payload={"n": n}))
    assert len(receiver.wait_for(ok_path, 5)) == 5
    # The endpoint.created event is tried five times, then given up on with
    # no event about it (which would be tried again, and so on).
    receiver.wait_for(ops_path, 5)
    receiver.assert_quiet(ops_path, expected=5, settle=1.0)


def test_auto_disable_sends_endpoint_disabled_with_fail_since(
    server_factory: Callable[..., ServerProcess], receiver: Receiver
) -> None:
    env = {
        # 4.3 seconds: a streak is forgiven after two periods without an
        # attempt, so the period must stay well above the longest gap between
        # attempts on a loaded machine, or failSince restarts later.
        "HOOKGATE_DISABLE_AFTER_DAYS": "0.00005",
        "HOOKGATE_RETRY_SCHEDULE": ",".join(["0.3"] * 40),
        "HOOKGATE_RETRY_JITTER": "0",
    }
    client = make_svix(server_factory(env=env))
    try:
        ops_path = receiver.new_path("ops")
        ops = client.operational_webhook.endpoint.create(
            OperationalWebhookEndpointIn(
                url=receiver.url(ops_path), event_types=["endpoint.disabled"]
            )
        )
        secret = client.operational_webhook.endpoint.get_secret(ops.id).key
        app = client.application.create(ApplicationIn(name="shop", uid=unique("shop")))
        path = receiver.new_path("down")
        receiver.script(path, then=Reply(500))
        down = client.endpoint.create(app.id, EndpointIn(url=receiver.url(path), uid="down"))
        sent_at = time.time()
        client.message.create(app.id, MessageIn(event_type="order.paid", payload={}))

        event = _wait_for_event(
            receiver, ops_path, secret, "endpoint.disabled", endpointId=down.id, endpointUid="down"
        )
        first_failure = receiver.requests(path)[0].at
        fail_since = datetime.fromisoformat(event["data"]["failSince"]).timestamp()
        # The first failed attempt started after the send and before it arrived
        # (failSince has millisecond precision).
        assert sent_at - 0.001 <= fail_since <= first_failure
        assert client.endpoint.get(app.id, down.id).disabled
        # Only the subscribed type arrives.
        assert _types(receiver, ops_path, secret) == ["endpoint.disabled"]
    finally:
        client._httpx_client.close()
