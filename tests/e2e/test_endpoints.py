"""Endpoints, their custom headers and signing secrets, checked at a real receiver."""

from __future__ import annotations

import base64
import secrets

import httpx
import pytest
from svix.api import (
    EndpointHeadersIn,
    EndpointHeadersPatchIn,
    EndpointIn,
    EndpointListOptions,
    EndpointPatch,
    EndpointSecretRotateIn,
    EndpointUpsertIn,
    MessageIn,
    Svix,
)
from svix.exceptions import HttpError

from tests.e2e.harness import Receiver, signatures, unique, verify_both

# Every test here drives real server processes over HTTP.
pytestmark = pytest.mark.slow


def _secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def test_create_with_every_field_then_get_and_list(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path()
    uid = unique("ep")
    secret = _secret()
    created = svix_client.endpoint.create(
        app_id,
        EndpointIn(
            url=receiver.url(path),
            uid=uid,
            description="billing hooks",
            event_types=["invoice.paid", "invoice.failed"],
            channels=["project_1"],
            metadata={"owner": "billing"},
            secret=secret,
        ),
    )
    assert created.id.startswith("ep_")
    assert created.uid == uid
    assert created.url == receiver.url(path)
    assert created.description == "billing hooks"
    assert sorted(created.event_types or []) == ["invoice.failed", "invoice.paid"]
    assert created.channels == ["project_1"]
    assert created.metadata == {"owner": "billing"}
    assert not created.disabled

    assert svix_client.endpoint.get(app_id, created.id) == created
    assert svix_client.endpoint.get(app_id, uid) == created
    listed = svix_client.endpoint.list(app_id).data
    assert [ep.id for ep in listed] == [created.id]
    assert svix_client.endpoint.get_secret(app_id, uid).key == secret


def test_list_paginates(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    made = {
        svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(f"/p{i}"))).id
        for i in range(5)
    }
    seen: list[str] = []
    iterator: str | None = None
    for _ in range(20):
        page = svix_client.endpoint.list(app_id, EndpointListOptions(limit=2, iterator=iterator))
        seen.extend(ep.id for ep in page.data)
        if page.done:
            break
        iterator = page.iterator
    assert sorted(seen) == sorted(made)


def test_generated_secret_has_whsec_prefix(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url("/gen")))
    key = svix_client.endpoint.get_secret(app_id, ep.id).key
    assert key.startswith("whsec_")
    assert 24 <= len(base64.b64decode(key.removeprefix("whsec_"))) <= 64


def test_update_patch_delete(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    ep = svix_client.endpoint.create(
        app_id,
        EndpointIn(url=receiver.url("/a"), description="first", event_types=["a.b"]),
    )
    patched = svix_client.endpoint.patch(app_id, ep.id, EndpointPatch(description="patched"))
    assert patched.description == "patched"
    assert patched.event_types == ["a.b"]
    assert patched.url == receiver.url("/a")

    updated = svix_client.endpoint.upsert(
        app_id, ep.id, EndpointUpsertIn(url=receiver.url("/b"), channels=["c1"])
    )
    assert updated.id == ep.id
    assert updated.url == receiver.url("/b")
    assert updated.channels == ["c1"]
    assert updated.event_types is None  # PUT replaces: the filter is gone
    assert updated.description == ""
    assert svix_client.endpoint.get(app_id, ep.id) == updated

    svix_client.endpoint.delete(app_id, ep.id)
    with pytest.raises(HttpError) as exc:
        svix_client.endpoint.get(app_id, ep.id)
    assert exc.value.status_code == 404


def test_put_creates_endpoint_under_uid(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    uid = unique("put-ep")
    made = svix_client.endpoint.upsert(app_id, uid, EndpointUpsertIn(url=receiver.url("/put")))
    assert made.uid == uid
    assert svix_client.endpoint.get(app_id, uid).id == made.id


def test_duplicate_uid_is_409(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    uid = unique("same")
    svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url("/1"), uid=uid))
    with pytest.raises(HttpError) as exc:
        svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url("/2"), uid=uid))
    assert exc.value.status_code == 409


def test_custom_headers_are_sent_and_sensitive_ones_hidden(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path("headers")
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path)))
    svix_client.endpoint.set_headers(
        app_id,
        ep.id,
        EndpointHeadersIn(headers={"X-Custom": "one", "Authorization": "Bearer s3cret"}),
    )
    shown = svix_client.endpoint.get_headers(app_id, ep.id)
    assert shown.headers == {"X-Custom": "one"}
    assert shown.sensitive == ["Authorization"]
    assert "s3cret" not in str(shown.model_dump())

    svix_client.message.create(app_id, MessageIn(event_type="h.one", payload={"n": 1}))
    first = receiver.wait_for(path, 1)[0]
    assert first.headers["x-custom"] == "one"
    assert first.headers["authorization"] == "Bearer s3cret"

    svix_client.endpoint.patch_headers(
        app_id,
        ep.id,
        EndpointHeadersPatchIn(headers={"X-Other": "two"}, delete_headers=["X-Custom"]),
    )
    shown = svix_client.endpoint.get_headers(app_id, ep.id)
    assert shown.headers == {"X-Other": "two"}
    assert shown.sensitive == ["Authorization"]

    svix_client.message.create(app_id, MessageIn(event_type="h.two", payload={"n": 2}))
    second = receiver.wait_for(path, 2)[1]
    assert second.headers["x-other"] == "two"
    assert "x-custom" not in second.headers
    assert second.headers["authorization"] == "Bearer s3cret"


def test_headers_given_at_creation_are_sent(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path("create-headers")
    svix_client.endpoint.create(
        app_id, EndpointIn(url=receiver.url(path), headers={"X-Tenant": "t-42"})
    )
    svix_client.message.create(app_id, MessageIn(event_type="h.created", payload={}))
    assert receiver.wait_for(path, 1)[0].headers["x-tenant"] == "t-42"


def test_explicit_secret_signs_deliveries(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path("explicit")
    secret = _secret()
    svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path), secret=secret))
    svix_client.message.create(app_id, MessageIn(event_type="s.one", payload={"k": "v"}))
    verify_both(secret, receiver.wait_for(path, 1)[0])


def _rotate(api: httpx.Client, app_id: str, endpoint_id: str, body: dict[str, object]) -> None:
    response = api.post(f"/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate", json=body)
    assert response.status_code in (200, 204), response.text


def test_rotated_secret_old_and_new_both_verify(
    svix_client: Svix, api: httpx.Client, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path("rotate")
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path)))
    old = svix_client.endpoint.get_secret(app_id, ep.id).key

    new = _secret()
    _rotate(api, app_id, ep.id, {"key": new})
    assert svix_client.endpoint.get_secret(app_id, ep.id).key == new

    svix_client.message.create(app_id, MessageIn(event_type="rot.ate", payload={"r": 1}))
    delivery = receiver.wait_for(path, 1)[0]
    assert len(signatures(delivery)) == 2
    assert delivery.headers["svix-signature"] == delivery.headers["webhook-signature"]
    verify_both(old, delivery)
    verify_both(new, delivery)


def test_rotation_without_grace_period_drops_the_old_secret(
    svix_client: Svix, api: httpx.Client, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path("rotate-now")
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path)))
    old = svix_client.endpoint.get_secret(app_id, ep.id).key
    _rotate(api, app_id, ep.id, {"gracePeriodSeconds": 0})
    new = svix_client.endpoint.get_secret(app_id, ep.id).key
    assert new != old

    svix_client.message.create(app_id, MessageIn(event_type="rot.now", payload={}))
    delivery = receiver.wait_for(path, 1)[0]
    assert len(signatures(delivery)) == 1
    verify_both(new, delivery)


def test_sdk_rotate_secret(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url("/sdk-rotate")))
    new = _secret()
    svix_client.endpoint.rotate_secret(app_id, ep.id, EndpointSecretRotateIn(key=new))
    assert svix_client.endpoint.get_secret(app_id, ep.id).key == new


def test_secret_without_prefix_is_accepted(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path("raw-secret")
    raw = base64.b64encode(secrets.token_bytes(32)).decode()
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path), secret=raw))
    assert svix_client.endpoint.get_secret(app_id, ep.id).key == "whsec_" + raw
    svix_client.message.create(app_id, MessageIn(event_type="raw.secret", payload={}))
    verify_both("whsec_" + raw, receiver.wait_for(path, 1)[0])


def test_patch_with_null_clears_the_event_type_filter(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path("clear-filter")
    ep = svix_client.endpoint.create(
        app_id, EndpointIn(url=receiver.url(path), event_types=["only.this"])
    )
    svix_client.message.create(app_id, MessageIn(event_type="not.this", payload={}))
    receiver.assert_quiet(path, 0, settle=0.3)

    cleared = svix_client.endpoint.patch(app_id, ep.id, EndpointPatch(event_types=None))
    assert cleared.event_types is None
    msg = svix_client.message.create(app_id, MessageIn(event_type="not.this", payload={}))
    assert receiver.wait_for(path, 1)[0].msg_id == msg.id
