"""Messages: what arrives at the receiver, routing filters, idempotency, listing."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from svix.api import (
    ApplicationIn,
    MessageCreateOptions,
    MessageGetOptions,
    MessageIn,
    MessageListOptions,
    MessageOut,
    Svix,
)
from svix.exceptions import HttpError

from tests.e2e.harness import Receiver, endpoint_on, unique, verify_both

# Every test here drives real server processes over HTTP.
pytestmark = pytest.mark.slow

WITH_CONTENT = MessageCreateOptions(with_content=True)


def _endpoint(
    svix_client: Svix, app_id: str, receiver: Receiver, name: str, **fields: object
) -> tuple[str, str, str]:
    """(endpoint id, secret, receiver path) of a new endpoint."""
    ep, secret, path = endpoint_on(svix_client, app_id, receiver, name, **fields)
    return ep.id, secret, path


def _destinations(svix_client: Svix, app_id: str, msg_id: str) -> set[str]:
    return {
        d.id for d in svix_client.message_attempt.list_attempted_destinations(app_id, msg_id).data
    }


def test_delivery_is_signed_over_the_exact_bytes(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    _, secret, path = _endpoint(svix_client, app_id, receiver, "signed")
    payload = {
        "id": "inv_1",
        "amount": 12.5,
        "unicode": "déjà vu ✓",
        "nested": {"list": [1, 2, {"deep": None}], "flag": True},
    }
    msg = svix_client.message.create(
        app_id, MessageIn(event_type="invoice.paid", payload=payload), WITH_CONTENT
    )
    assert msg.id.startswith("msg_")
    assert msg.payload == payload

    delivery = receiver.wait_for(path, 1)[0]
    verify_both(secret, delivery)
    assert json.loads(delivery.body) == payload
    assert delivery.headers["content-type"].startswith("application/json")
    assert delivery.headers["webhook-id"] == msg.id
    assert delivery.headers["svix-id"] == msg.id
    assert delivery.headers["svix-timestamp"] == delivery.headers["webhook-timestamp"]
    assert abs(int(delivery.headers["webhook-timestamp"]) - time.time()) < 300


def test_tampered_body_does_not_verify(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    _, secret, path = _endpoint(svix_client, app_id, receiver, "tamper")
    svix_client.message.create(app_id, MessageIn(event_type="t.t", payload={"a": 1}))
    delivery = receiver.wait_for(path, 1)[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(delivery.body.replace(b"1", b"2"), delivery.headers)


def test_every_matching_endpoint_gets_its_own_signature(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    endpoints = [_endpoint(svix_client, app_id, receiver, f"fan{i}") for i in range(3)]
    msg = svix_client.message.create(app_id, MessageIn(event_type="fan.out", payload={"n": 3}))
    for _, secret, path in endpoints:
        delivery = receiver.wait_for(path, 1)[0]
        assert delivery.msg_id == msg.id
        verify_both(secret, delivery)
    assert _destinations(svix_client, app_id, msg.id) == {ep_id for ep_id, _, _ in endpoints}


def test_event_type_filter(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    wanted_id, secret, wanted = _endpoint(
        svix_client, app_id, receiver, "wanted", event_types=["order.created", "order.paid"]
    )
    _, _, other = _endpoint(svix_client, app_id, receiver, "other", event_types=["user.signup"])

    msg = svix_client.message.create(app_id, MessageIn(event_type="order.created", payload={}))
    verify_both(secret, receiver.wait_for(wanted, 1)[0])
    assert _destinations(svix_client, app_id, msg.id) == {wanted_id}
    receiver.assert_quiet(other, 0)


def test_channel_filter(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    ch1_id, _, ch1 = _endpoint(svix_client, app_id, receiver, "ch1", channels=["ch1"])
    ch2_id, _, ch2 = _endpoint(svix_client, app_id, receiver, "ch2", channels=["ch2"])
    any_id, _, anyc = _endpoint(svix_client, app_id, receiver, "any")

    on_ch1 = svix_client.message.create(
        app_id, MessageIn(event_type="c.c", payload={"on": "ch1"}, channels=["ch1", "ch9"])
    )
    no_channel = svix_client.message.create(app_id, MessageIn(event_type="c.c", payload={}))

    assert _destinations(svix_client, app_id, on_ch1.id) == {ch1_id, any_id}
    assert _destinations(svix_client, app_id, no_channel.id) == {any_id}
    assert [r.msg_id for r in receiver.wait_for(ch1, 1)] == [on_ch1.id]
    assert {r.msg_id for r in receiver.wait_for(anyc, 2)} == {on_ch1.id, no_channel.id}
    receiver.assert_quiet(ch2, 0)
    receiver.assert_quiet(ch1, 1, settle=0)
    assert ch2_id not in _destinations(svix_client, app_id, on_ch1.id)


def test_disabled_endpoint_gets_nothing(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    _, _, off = _endpoint(svix_client, app_id, receiver, "off", disabled=True)
    on_id, _, on = _endpoint(svix_client, app_id, receiver, "on")
    msg = svix_client.message.create(app_id, MessageIn(event_type="d.d", payload={}))
    receiver.wait_for(on, 1)
    assert _destinations(svix_client, app_id, msg.id) == {on_id}
    receiver.assert_quiet(off, 0)


def test_duplicate_event_id_is_409(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    _, _, path = _endpoint(svix_client, app_id, receiver, "eventid")
    event_id = unique("evt")
    first = svix_client.message.create(
        app_id, MessageIn(event_type="e.e", payload={"n": 1}, event_id=event_id)
    )
    assert first.event_id == event_id
    with pytest.raises(HttpError) as exc:
        svix_client.message.create(
            app_id, MessageIn(event_type="e.e", payload={"n": 2}, event_id=event_id)
        )
    assert exc.value.status_code == 409
    # The message can be read back by its eventId.
    assert svix_client.message.get(app_id, event_id).id == first.id
    receiver.wait_for(path, 1)
    receiver.assert_quiet(path, 1)


def test_idempotency_key_replays_the_same_message(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    _, _, path = _endpoint(svix_client, app_id, receiver, "idem")
    key = unique("idem-key")
    options = MessageCreateOptions(idempotency_key=key, with_content=True)
    first = svix_client.message.create(
        app_id, MessageIn(event_type="i.i", payload={"n": 1}), options
    )
    second = svix_client.message.create(
        app_id, MessageIn(event_type="i.i", payload={"n": 1}), options
    )
    assert second.id == first.id
    assert second.payload == {"n": 1}
    receiver.wait_for(path, 1)
    receiver.assert_quiet(path, 1)
    listed = svix_client.message.list(app_id).data
    assert [m.id for m in listed] == [first.id]


def test_get_message_by_id(svix_client: Svix, app_id: str) -> None:
    msg = svix_client.message.create(
        app_id,
        MessageIn(event_type="g.g", payload={"k": [1, 2]}, channels=["x"], tags=["t1"]),
    )
    got = svix_client.message.get(app_id, msg.id, MessageGetOptions(with_content=True))
    assert got.id == msg.id
    assert got.event_type == "g.g"
    assert got.payload == {"k": [1, 2]}
    assert got.channels == ["x"]
    with pytest.raises(HttpError) as exc:
        svix_client.message.get(app_id, "msg_doesnotexist")
    assert exc.value.status_code == 404


def _create_spaced(svix_client: Svix, app_id: str, messages: list[MessageIn]) -> list[MessageOut]:
    out = []
    for message in messages:
        out.append(svix_client.message.create(app_id, message))
        time.sleep(0.01)  # distinct creation timestamps (ms resolution), not a timing assertion
    return out


def _ids(svix_client: Svix, app_id: str, options: MessageListOptions) -> list[str]:
    return [m.id for m in svix_client.message.list(app_id, options).data]


def test_list_with_filters(svix_client: Svix, app_id: str) -> None:
    a, b, c = _create_spaced(
        svix_client,
        app_id,
        [
            MessageIn(event_type="list.a", payload={"i": 0}, channels=["red"]),
            MessageIn(event_type="list.b", payload={"i": 1}, channels=["blue"]),
            MessageIn(event_type="list.a", payload={"i": 2}, channels=["red", "blue"]),
        ],
    )
    # Newest first.
    assert _ids(svix_client, app_id, MessageListOptions()) == [c.id, b.id, a.id]
    assert _ids(svix_client, app_id, MessageListOptions(event_types=["list.a"])) == [c.id, a.id]
    assert _ids(svix_client, app_id, MessageListOptions(event_types=["list.a", "list.b"])) == [
        c.id,
        b.id,
        a.id,
    ]
    assert _ids(svix_client, app_id, MessageListOptions(channel="blue")) == [c.id, b.id]
    assert _ids(svix_client, app_id, MessageListOptions(before=b.timestamp)) == [a.id]
    assert _ids(svix_client, app_id, MessageListOptions(after=b.timestamp)) == [c.id]
    assert _ids(
        svix_client,
        app_id,
        MessageListOptions(after=a.timestamp, before=c.timestamp + timedelta(seconds=1)),
    ) == [c.id, b.id]

    page = svix_client.message.list(app_id, MessageListOptions(limit=2, with_content=True))
    assert [m.id for m in page.data] == [c.id, b.id]
    assert page.data[0].payload == {"i": 2}
    assert not page.done
    rest = svix_client.message.list(app_id, MessageListOptions(limit=2, iterator=page.iterator))
    assert [m.id for m in rest.data] == [a.id]
    assert rest.done


def test_expunge_content(svix_client: Svix, app_id: str) -> None:
    msg = svix_client.message.create(
        app_id, MessageIn(event_type="secret.leak", payload={"card": "4111"})
    )
    assert svix_client.message.get(
        app_id, msg.id, MessageGetOptions(with_content=True)
    ).payload == {"card": "4111"}
    svix_client.message.expunge_content(app_id, msg.id)
    after = svix_client.message.get(app_id, msg.id, MessageGetOptions(with_content=True))
    assert after.payload == {}
    assert after.event_type == "secret.leak"


def test_message_to_unknown_application_is_404(svix_client: Svix) -> None:
    with pytest.raises(HttpError) as exc:
        svix_client.message.create(unique("no-such-app"), MessageIn(event_type="x.y", payload={}))
    assert exc.value.status_code == 404


def test_message_can_create_its_application(svix_client: Svix, receiver: Receiver) -> None:
    uid = unique("lazy-app")
    msg = svix_client.message.create(
        uid,
        MessageIn(event_type="x.y", payload={}, application=ApplicationIn(name="Lazy", uid=uid)),
    )
    app = svix_client.application.get(uid)
    assert app.name == "Lazy"
    assert svix_client.message.get(uid, msg.id).id == msg.id


def test_event_id_is_unique_per_application_only(svix_client: Svix) -> None:
    event_id = unique("shared-evt")
    first_app = svix_client.application.create(ApplicationIn(name="A", uid=unique("a"))).id
    second_app = svix_client.application.create(ApplicationIn(name="B", uid=unique("b"))).id
    svix_client.message.create(
        first_app, MessageIn(event_type="e.e", payload={}, event_id=event_id)
    )
    # Another application's eventId must not collide with this one's.
    msg = svix_client.message.create(
        second_app, MessageIn(event_type="e.e", payload={}, event_id=event_id)
    )
    assert svix_client.message.get(second_app, event_id).id == msg.id


def test_with_content_chooses_whether_the_answer_carries_the_payload(
    api: httpx.Client, app_id: str
) -> None:
    body = {"eventType": "invoice.paid", "payload": {"id": "inv_9"}}
    url = f"/api/v1/app/{app_id}/msg"
    plain = api.post(url, json=body)  # no query string: the default, true
    without = api.post(url, params={"with_content": "false"}, json=body)
    explicit = api.post(url, params={"with_content": "true"}, json=body)

    assert [r.status_code for r in (plain, without, explicit)] == [202, 202, 202]
    assert plain.json()["payload"] == explicit.json()["payload"] == {"id": "inv_9"}
    assert without.json()["payload"] == {}
