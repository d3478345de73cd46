"""Delivery attempts: retries, failure, 410, resend, recover, stats, examples."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from svix.api import (
    EndpointPatch,
    EventExampleIn,
    EventTypeIn,
    MessageAttemptListAttemptedMessagesOptions,
    MessageAttemptListByEndpointOptions,
    MessageAttemptListByMsgOptions,
    MessageAttemptOut,
    MessageIn,
    RecoverIn,
    Svix,
)
from svix.models import MessageAttemptTriggerType, MessageStatus, StatusCodeClass

from tests.e2e.harness import Receiver, Reply, endpoint_on, unique, verify_both, wait_until

# Every test here drives real server processes over HTTP.
pytestmark = pytest.mark.slow

#: Long enough for 4 attempts with a 0.2 s (+/-20 %) schedule and a 0.1 s poll.
SETTLE = 15.0


def _attempts(
    svix_client: Svix, app_id: str, msg_id: str, **options: object
) -> list[MessageAttemptOut]:
    return svix_client.message_attempt.list_by_msg(
        app_id,
        msg_id,
        MessageAttemptListByMsgOptions(**options),  # type: ignore[arg-type]
    ).data


def _wait_attempts(
    svix_client: Svix, app_id: str, msg_id: str, count: int
) -> list[MessageAttemptOut]:
    return wait_until(
        lambda: a if len(a := _attempts(svix_client, app_id, msg_id)) >= count else None,
        timeout=SETTLE,
        message=lambda: f"{count} attempts of {msg_id}",
    )


def _status(svix_client: Svix, app_id: str, msg_id: str, endpoint_id: str) -> MessageStatus:
    (dest,) = [
        d
        for d in svix_client.message_attempt.list_attempted_destinations(app_id, msg_id).data
        if d.id == endpoint_id
    ]
    return dest.status


def _wait_status(
    svix_client: Svix, app_id: str, msg_id: str, endpoint_id: str, status: MessageStatus
) -> None:
    wait_until(
        lambda: _status(svix_client, app_id, msg_id, endpoint_id) == status,
        timeout=SETTLE,
        message=lambda: (
            f"{msg_id} to reach {status.name} (now "
            f"{_status(svix_client, app_id, msg_id, endpoint_id).name})"
        ),
    )


def _resend_raw(api: httpx.Client, app_id: str, msg_id: str, endpoint_id: str) -> None:
    response = api.post(f"/api/v1/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend")
    assert response.status_code == 202, response.text


def test_success_is_recorded_with_status_and_response(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    ep, _, path = endpoint_on(svix_client, app_id, receiver, "ok")
    receiver.script(path, then=Reply(status=201, body=b'{"thanks":1}'))
    msg = svix_client.message.create(app_id, MessageIn(event_type="a.ok", payload={"n": 1}))

    (attempt,) = _wait_attempts(svix_client, app_id, msg.id, 1)
    assert attempt.msg_id == msg.id
    assert attempt.endpoint_id == ep.id
    assert attempt.url == receiver.url(path)
    assert attempt.response_status_code == 201
    assert attempt.response == '{"thanks":1}'
    assert attempt.status == MessageStatus.SUCCESS
    assert attempt.trigger_type == MessageAttemptTriggerType.SCHEDULED
    assert attempt.response_duration_ms >= 0

    assert svix_client.message_attempt.get(app_id, msg.id, attempt.id) == attempt
    by_endpoint = svix_client.message_attempt.list_by_endpoint(app_id, ep.id).data
    assert [a.id for a in by_endpoint] == [attempt.id]
    _wait_status(svix_client, app_id, msg.id, ep.id, MessageStatus.SUCCESS)


def test_retries_until_success(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    ep, secret, path = endpoint_on(svix_client, app_id, receiver, "flaky")
    receiver.script(path, Reply(500, b"boom-1"), Reply(500, b"boom-2"), then=200)
    msg = svix_client.message.create(app_id, MessageIn(event_type="a.flaky", payload={"x": 1}))

    deliveries = receiver.wait_for(path, 3, timeout=SETTLE)
    assert {d.msg_id for d in deliveries} == {msg.id}  # same webhook-id on every retry
    for delivery in deliveries:
        verify_both(secret, delivery)
    _wait_status(svix_client, app_id, msg.id, ep.id, MessageStatus.SUCCESS)
    receiver.assert_quiet(path, 3)

    attempts = _wait_attempts(svix_client, app_id, msg.id, 3)
    assert len(attempts) == 3
    newest_first = [(a.response_status_code, a.status) for a in attempts]
    assert newest_first == [
        (200, MessageStatus.SUCCESS),
        (500, MessageStatus.FAIL),
        (500, MessageStatus.FAIL),
    ]
    assert {a.response for a in attempts[1:]} == {"boom-1", "boom-2"}

    failed = _attempts(svix_client, app_id, msg.id, status=MessageStatus.FAIL)
    assert len(failed) == 2
    five_xx = svix_client.message_attempt.list_by_endpoint(
        app_id,
        ep.id,
        MessageAttemptListByEndpointOptions(status_code_class=StatusCodeClass.CODE5XX),
    ).data
    assert len(five_xx) == 2


def test_gives_up_after_the_schedule(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    ep, _, path = endpoint_on(svix_client, app_id, receiver, "down")
    receiver.script(path, then=500)
    msg = svix_client.message.create(app_id, MessageIn(event_type="a.down", payload={}))

    _wait_status(svix_client, app_id, msg.id, ep.id, MessageStatus.FAIL)
    attempts = _wait_attempts(svix_client, app_id, msg.id, 4)
    assert len(attempts) == 4
    assert all(a.status == MessageStatus.FAIL for a in attempts)
    assert all(a.response_status_code == 500 for a in attempts)
    receiver.assert_quiet(path, 4)
    (dest,) = svix_client.message_attempt.list_attempted_destinations(app_id, msg.id).data
    assert dest.next_attempt is None


def test_gone_disables_theendpoint_on(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    ep, _, path = endpoint_on(svix_client, app_id, receiver, "gone")
    receiver.script(path, then=410)
    msg = svix_client.message.create(app_id, MessageIn(event_type="a.gone", payload={}))

    wait_until(
        lambda: svix_client.endpoint.get(app_id, ep.id).disabled,
        timeout=SETTLE,
        message="the endpoint to be disabled",
    )
    _wait_status(svix_client, app_id, msg.id, ep.id, MessageStatus.FAIL)
    (attempt,) = _attempts(svix_client, app_id, msg.id)
    assert attempt.response_status_code == 410

    later = svix_client.message.create(app_id, MessageIn(event_type="a.gone", payload={}))
    assert svix_client.message_attempt.list_attempted_destinations(app_id, later.id).data == []
    receiver.assert_quiet(path, 1)

    # The operator fixes the receiver, re-enables the endpoint and recovers.
    receiver.script(path, then=200)
    svix_client.endpoint.patch(app_id, ep.id, EndpointPatch(disabled=False))
    svix_client.endpoint.recover(app_id, ep.id, RecoverIn(since=msg.timestamp))
    _wait_status(svix_client, app_id, msg.id, ep.id, MessageStatus.SUCCESS)
    fresh = svix_client.message.create(app_id, MessageIn(event_type="a.gone", payload={}))
    assert {d.msg_id for d in receiver.wait_for(path, 3)} == {msg.id, fresh.id}


def test_retry_after_is_honoured(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    ep, _, path = endpoint_on(svix_client, app_id, receiver, "slowdown")
    receiver.script(path, Reply(429, b"slow down", headers={"Retry-After": "1"}), then=200)
    msg = svix_client.message.create(app_id, MessageIn(event_type="a.429", payload={}))

    first, second = receiver.wait_for(path, 2, timeout=SETTLE)
    # Not a timing bound on Hookgate's speed: it must wait at least what was asked.
    assert second.at - first.at >= 0.9
    _wait_status(svix_client, app_id, msg.id, ep.id, MessageStatus.SUCCESS)


def _fail_one(
    svix_client: Svix, app_id: str, receiver: Receiver, ep_id: str, path: str, event: str
) -> str:
    receiver.script(path, then=500)
    msg = svix_client.message.create(app_id, MessageIn(event_type=event, payload={"e": event}))
    _wait_status(svix_client, app_id, msg.id, ep_id, MessageStatus.FAIL)
    return msg.id


def test_resend_after_failure_is_a_manual_attempt(
    svix_client: Svix, api: httpx.Client, app_id: str, receiver: Receiver
) -> None:
    ep, secret, path = endpoint_on(svix_client, app_id, receiver, "resend")
    msg_id = _fail_one(svix_client, app_id, receiver, ep.id, path, "a.resend")
    receiver.wait_for(path, 4)

    receiver.script(path, then=200)
    _resend_raw(api, app_id, msg_id, ep.id)
    deliveries = receiver.wait_for(path, 5, timeout=SETTLE)
    assert deliveries[-1].msg_id == msg_id
    verify_both(secret, deliveries[-1])
    _wait_status(svix_client, app_id, msg_id, ep.id, MessageStatus.SUCCESS)

    newest = _wait_attempts(svix_client, app_id, msg_id, 5)[0]
    assert newest.status == MessageStatus.SUCCESS
    assert newest.trigger_type == MessageAttemptTriggerType.MANUAL
    assert newest.response_status_code == 200


def test_sdk_resend(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    ep, _, path = endpoint_on(svix_client, app_id, receiver, "sdk-resend")
    msg = svix_client.message.create(app_id, MessageIn(event_type="a.sdk", payload={}))
    receiver.wait_for(path, 1)
    svix_client.message_attempt.resend(app_id, msg.id, ep.id)
    receiver.wait_for(path, 2, timeout=SETTLE)


def test_recover_resends_failed_messages(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    ep, _, path = endpoint_on(svix_client, app_id, receiver, "recover")
    failed = [
        _fail_one(svix_client, app_id, receiver, ep.id, path, f"a.recover{i}") for i in range(2)
    ]
    receiver.wait_for(path, 8)

    receiver.script(path, then=200)
    out = svix_client.endpoint.recover(app_id, ep.id, RecoverIn(since=since))
    assert out.id
    for msg_id in failed:
        _wait_status(svix_client, app_id, msg_id, ep.id, MessageStatus.SUCCESS)
    received_after = {d.msg_id for d in receiver.requests(path)[8:]}
    assert received_after == set(failed)


def test_recover_ignores_messages_before_since(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    ep, _, path = endpoint_on(svix_client, app_id, receiver, "recover-window")
    old = _fail_one(svix_client, app_id, receiver, ep.id, path, "a.old")
    receiver.wait_for(path, 4)
    since = datetime.now(UTC) + timedelta(seconds=1)
    receiver.script(path, then=200)
    svix_client.endpoint.recover(app_id, ep.id, RecoverIn(since=since))
    receiver.assert_quiet(path, 4)
    assert _status(svix_client, app_id, old, ep.id) == MessageStatus.FAIL


def test_stats_count_success_and_failure(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    ep, _, path = endpoint_on(svix_client, app_id, receiver, "stats")
    ok = svix_client.message.create(app_id, MessageIn(event_type="s.ok", payload={}))
    _wait_status(svix_client, app_id, ok.id, ep.id, MessageStatus.SUCCESS)
    _fail_one(svix_client, app_id, receiver, ep.id, path, "s.fail")

    stats = svix_client.endpoint.get_stats(app_id, ep.id)
    assert (stats.success, stats.fail, stats.pending, stats.sending) == (1, 1, 0, 0)


def test_send_example_goes_to_that_endpoint_only(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    event = unique("example.event")
    example = {"id": "cus_1", "email": "a@example.com"}
    svix_client.event_type.create(
        EventTypeIn(
            name=event,
            description="has an example",
            schemas={"1": {"type": "object", "examples": [example]}},
        )
    )
    target, secret, target_path = endpoint_on(svix_client, app_id, receiver, "example")
    _, _, bystander = endpoint_on(svix_client, app_id, receiver, "bystander")

    msg = svix_client.endpoint.send_example(app_id, target.id, EventExampleIn(event_type=event))
    assert msg.event_type == event
    delivery = receiver.wait_for(target_path, 1)[0]
    assert delivery.msg_id == msg.id
    verify_both(secret, delivery)
    assert json.loads(delivery.body) == example
    assert {
        d.id for d in svix_client.message_attempt.list_attempted_destinations(app_id, msg.id).data
    } == {target.id}
    receiver.assert_quiet(bystander, 0)


def test_attempted_messages_and_destinations(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    good, _, good_path = endpoint_on(svix_client, app_id, receiver, "good")
    bad, _, bad_path = endpoint_on(svix_client, app_id, receiver, "bad")
    receiver.script(bad_path, then=500)
    msg = svix_client.message.create(app_id, MessageIn(event_type="d.d", payload={"d": 1}))
    _wait_status(svix_client, app_id, msg.id, good.id, MessageStatus.SUCCESS)
    _wait_status(svix_client, app_id, msg.id, bad.id, MessageStatus.FAIL)

    dests = {
        d.id: d
        for d in svix_client.message_attempt.list_attempted_destinations(app_id, msg.id).data
    }
    assert dests[good.id].status == MessageStatus.SUCCESS
    assert dests[good.id].url == receiver.url(good_path)
    assert dests[bad.id].status == MessageStatus.FAIL

    for ep, status in ((good, MessageStatus.SUCCESS), (bad, MessageStatus.FAIL)):
        (entry,) = svix_client.message_attempt.list_attempted_messages(app_id, ep.id).data
        assert entry.id == msg.id
        assert entry.event_type == "d.d"
        assert entry.status == status

    # A second, successful message to the bad endpoint: the status filter tells them apart.
    receiver.script(bad_path, then=200)
    ok = svix_client.message.create(app_id, MessageIn(event_type="d.ok", payload={}))
    _wait_status(svix_client, app_id, ok.id, bad.id, MessageStatus.SUCCESS)
    failed = svix_client.message_attempt.list_attempted_messages(
        app_id, bad.id, MessageAttemptListAttemptedMessagesOptions(status=MessageStatus.FAIL)
    ).data
    assert [m.id for m in failed] == [msg.id]
    both = svix_client.message_attempt.list_attempted_messages(app_id, bad.id).data
    assert [m.id for m in both] == [ok.id, msg.id]
    receiver.wait_for(good_path, 1)
