"""Forwarding through the real server: requests a source accepts reach its
destinations (``svix.ingest.endpoint``) byte for byte with their original
headers, signed with Standard Webhooks, through the ordinary delivery engine
(retries and the attempt log included)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import httpx
import pytest
from standardwebhooks import Webhook
from svix.api import IngestEndpointIn, IngestEndpointUpsertIn, IngestSourceIn, IngestSourceOut, Svix
from svix.models import GithubConfig, SvixConfig

from tests.e2e.harness import Receiver, ServerProcess, unique, wait_until

pytestmark = pytest.mark.slow

GITHUB_SECRET = "forwarding secret"
DEST_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = '{"action":"opened","issue":{"title":"naïve ✓"},  "n": 1.50}'.encode()


def github_source(svix_client: Svix) -> IngestSourceOut:
    return svix_client.ingest.source.create(
        IngestSourceIn(
            name="GitHub",
            uid=unique("gh"),
            type="github",
            config=GithubConfig(secret=GITHUB_SECRET),
        )
    )


def github_headers(body: bytes, signature: str | None = None) -> dict[str, str]:
    digest = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": signature or f"sha256={digest}",
        "X-Hookgate-Verified": "spoofed",
    }


def destination(svix_client: Svix, source_id: str, url: str, **fields: object) -> str:
    out = svix_client.ingest.endpoint.create(
        source_id,
        IngestEndpointIn(url=url, secret=DEST_SECRET, **fields),  # type: ignore[arg-type]
    )
    return out.id


def filtered_destination(api: httpx.Client, source_id: str, url: str, event_type: str) -> str:
    """A destination with an ``eventTypes`` filter (not in ``IngestEndpointIn``)."""
    body = {"url": url, "secret": DEST_SECRET, "eventTypes": [event_type]}
    created = api.post(f"/ingest/api/v1/source/{source_id}/endpoint", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["eventTypes"] == [event_type]
    endpoint_id: str = created.json()["id"]
    return endpoint_id


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, content=body, headers=headers, timeout=15.0)


def test_verified_request_is_forwarded_byte_for_byte(
    server: ServerProcess, svix_client: Svix, receiver: Receiver
) -> None:
    source = github_source(svix_client)
    path = receiver.new_path("fwd")
    endpoint_id = destination(
        svix_client, source.id, receiver.url(path), headers={"X-Custom": "dest"}
    )
    assert [e.id for e in svix_client.ingest.endpoint.list(source.id).data] == [endpoint_id]
    assert svix_client.ingest.endpoint.get(source.id, endpoint_id).url == receiver.url(path)
    assert svix_client.ingest.endpoint.get_secret(source.id, endpoint_id).key == DEST_SECRET

    headers = github_headers(BODY)
    assert post(source.ingest_url, BODY, headers).status_code == 200

    (got,) = receiver.wait_for(path, 1)
    assert got.body == BODY
    assert got.headers["content-type"] == "application/json; charset=utf-8"
    assert got.headers["x-github-event"] == "issues"
    assert got.headers["x-github-delivery"] == headers["X-GitHub-Delivery"]
    assert got.headers["x-hub-signature-256"] == headers["X-Hub-Signature-256"]
    assert got.headers["x-custom"] == "dest"
    assert got.headers["x-hookgate-verified"] == "github"
    Webhook(DEST_SECRET).verify(got.body, got.headers)


def test_failed_forward_is_retried_and_logged(
    server: ServerProcess, svix_client: Svix, receiver: Receiver, api: httpx.Client
) -> None:
    source = github_source(svix_client)
    path = receiver.new_path("fwd-retry")
    receiver.script(path, 500, then=200)
    destination(svix_client, source.id, receiver.url(path))
    assert post(source.ingest_url, BODY, github_headers(BODY)).status_code == 200

    first, second = receiver.wait_for(path, 2)
    assert first.body == second.body == BODY
    assert first.msg_id == second.msg_id
    internal = api.get(f"/ingest/api/v1/source/{source.id}").json()["appId"]

    def both_attempts_logged() -> list[int] | None:
        # The receiver sees the second request before its attempt is written.
        attempts = svix_client.message_attempt.list_by_msg(internal, first.msg_id).data
        codes = sorted(a.response_status_code for a in attempts)
        return codes if len(codes) >= 2 else None

    assert wait_until(both_attempts_logged, message="both attempts in the log") == [200, 500]
    message = svix_client.message.get(internal, first.msg_id)
    assert message.event_type == "issues"


def test_rejected_request_is_not_forwarded(
    server: ServerProcess, svix_client: Svix, receiver: Receiver
) -> None:
    source = github_source(svix_client)
    path = receiver.new_path("fwd-bad")
    destination(svix_client, source.id, receiver.url(path))
    bad = github_headers(BODY, signature="sha256=" + "0" * 64)
    assert post(source.ingest_url, BODY, bad).status_code == 401
    # A good one afterwards is forwarded, and it is the only one.
    assert post(source.ingest_url, BODY, github_headers(BODY)).status_code == 200
    receiver.wait_for(path, 1)
    receiver.assert_quiet(path, expected=1)


def test_hookgate_to_hookgate_chain_keeps_the_body(
    server: ServerProcess, svix_client: Svix, receiver: Receiver
) -> None:
    first = github_source(svix_client)
    second = svix_client.ingest.source.create(
        IngestSourceIn(
            name="From Hookgate",
            uid=unique("hg"),
            type="svix",
            config=SvixConfig(secret=DEST_SECRET),
        )
    )
    path = receiver.new_path("chain")
    destination(svix_client, first.id, second.ingest_url)
    destination(svix_client, second.id, receiver.url(path))

    assert post(first.ingest_url, BODY, github_headers(BODY)).status_code == 200

    (got,) = receiver.wait_for(path, 1)
    assert got.body == BODY
    assert got.headers["x-github-event"] == "issues"
    assert got.headers["x-hookgate-verified"] == "standard_webhooks"
    Webhook(DEST_SECRET).verify(got.body, got.headers)


def test_destinations_are_managed_and_filtered(
    server: ServerProcess, svix_client: Svix, receiver: Receiver, api: httpx.Client
) -> None:
    source = github_source(svix_client)
    assert svix_client.ingest.endpoint.list(source.id).data == []
    assert api.get(f"/ingest/api/v1/source/{source.id}/endpoint/ep_nope").status_code == 404
    pushes, issues, off = (receiver.new_path(n) for n in ("push", "issues", "off"))
    filtered_destination(api, source.id, receiver.url(pushes), "push")
    issues_id = filtered_destination(api, source.id, receiver.url(issues), "issues")
    off_id = destination(svix_client, source.id, receiver.url(off))
    patched = api.patch(
        f"/ingest/api/v1/source/{source.id}/endpoint/{off_id}", json={"disabled": True}
    )
    assert patched.status_code == 200, patched.text
    assert svix_client.ingest.endpoint.get(source.id, off_id).disabled is True
    upserted = svix_client.ingest.endpoint.upsert(
        source.id,
        off_id,
        IngestEndpointUpsertIn(url=receiver.url(off), description="off", disabled=True),
    )
    assert (upserted.id, upserted.description, upserted.disabled) == (off_id, "off", True)
    svix_client.ingest.endpoint.delete(source.id, issues_id)
    kept = filtered_destination(api, source.id, receiver.url(issues), "issues")
    assert len(svix_client.ingest.endpoint.list(source.id).data) == 3

    assert post(source.ingest_url, BODY, github_headers(BODY)).status_code == 200
    (got,) = receiver.wait_for(issues, 1)
    assert got.body == BODY
    receiver.assert_quiet(pushes)
    receiver.assert_quiet(off)
    assert kept


def test_unverified_generic_source_is_forwarded_marked_false(
    server: ServerProcess, svix_client: Svix, receiver: Receiver
) -> None:
    source = svix_client.ingest.source.create(
        IngestSourceIn(name="Anything", uid=unique("gen"), type="generic-webhook")
    )
    path = receiver.new_path("generic")
    destination(svix_client, source.id, receiver.url(path))
    body = b"a=1&b=%E2%9C%93"
    sent = {"Content-Type": "application/x-www-form-urlencoded", "X-Hookgate-Verified": "yes"}
    assert post(source.ingest_url, body, sent).status_code == 200
    (got,) = receiver.wait_for(path, 1)
    assert got.body == body
    assert got.headers["content-type"] == "application/x-www-form-urlencoded"
    assert got.headers["x-hookgate-verified"] == "false"
    # ``Webhook.verify`` insists on a JSON body; check the signature by hand.
    key = base64.b64decode(DEST_SECRET.removeprefix("whsec_"))
    signed = b"%s.%s.%s" % (
        got.headers["webhook-id"].encode(),
        got.headers["webhook-timestamp"].encode(),
        got.body,
    )
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in got.headers["webhook-signature"].split()


def test_deleting_a_source_deletes_its_destinations(
    server: ServerProcess, svix_client: Svix, receiver: Receiver, api: httpx.Client
) -> None:
    source = github_source(svix_client)
    destination(svix_client, source.id, receiver.url(receiver.new_path("gone")))
    internal = api.get(f"/ingest/api/v1/source/{source.id}").json()["appId"]
    assert api.get(f"/api/v1/app/{internal}").status_code == 200
    svix_client.ingest.source.delete(source.id)
    assert api.get(f"/api/v1/app/{internal}").status_code == 404
