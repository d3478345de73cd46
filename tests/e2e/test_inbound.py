"""Receiving webhooks through the real server: sources managed with the
official Svix SDK (``svix.ingest.source``) and provider requests to
``/in/{source}``, checked through the request listing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import stripe
from slack_sdk.signature import SignatureVerifier
from svix.api import IngestSourceIn, IngestSourceOut, Svix
from svix.api.ingest_source import IngestSourceListOptions, IngestSourceRotateTokenOptions
from svix.exceptions import HttpError
from svix.models import GithubConfig, MetaConfig, SlackConfig, StripeConfig, ZoomConfig

from tests.e2e.harness import ServerProcess, unique

pytestmark = pytest.mark.slow

GITHUB_SECRET = "It's a Secret to Everybody"
STRIPE_SECRET = "whsec_test_0123456789abcdef"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
GITHUB_BODY = '{"action":"opened","issue":{"title":"naïve ✓"}}'.encode()
STRIPE_BODY = '{"id":"evt_1NxQ","object":"event","type":"invoice.paid"}'


def github_source(svix_client: Svix) -> IngestSourceOut:
    return svix_client.ingest.source.create(
        IngestSourceIn(
            name="GitHub",
            uid=unique("gh"),
            type="github",
            config=GithubConfig(secret=GITHUB_SECRET),
        )
    )


def github_headers(body: bytes, delivery: str | None = None) -> dict[str, str]:
    digest = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={digest}",
    }


def stripe_header(payload: str, timestamp: int) -> str:
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", STRIPE_SECRET)
    return f"t={timestamp},v1={signature}"


def send(url: str, body: Any, headers: dict[str, str], method: str = "POST") -> httpx.Response:
    return httpx.request(method, url, content=body, headers=headers, timeout=15.0)


def received(api: httpx.Client, source_id: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(f"/ingest/api/v1/source/{source_id}/request", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]
    return items


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    document = response.json()
    assert document["code"] == code
    detail: str = document["detail"]
    return detail


def test_sdk_manages_github_and_stripe_sources(server: ServerProcess, svix_client: Svix) -> None:
    gh = github_source(svix_client)
    assert gh.id.startswith("src_")
    assert gh.type == "github"
    assert gh.ingest_url is not None
    assert re.fullmatch(rf"{re.escape(server.url)}/in/[\w-]{{32}}", gh.ingest_url)
    st = svix_client.ingest.source.create(
        IngestSourceIn(
            name="Stripe",
            type="stripe",
            metadata={"team": "billing"},
            config=StripeConfig(secret=STRIPE_SECRET),
        )
    )
    assert (st.type, st.metadata) == ("stripe", {"team": "billing"})
    assert svix_client.ingest.source.get(gh.id) == gh
    assert gh.uid is not None
    assert svix_client.ingest.source.get(gh.uid) == gh

    seen: set[str] = set()
    iterator: str | None = None
    for _ in range(1000):
        page = svix_client.ingest.source.list(IngestSourceListOptions(limit=2, iterator=iterator))
        seen.update(source.id for source in page.data)
        if page.done:
            break
        iterator = page.iterator
    assert {gh.id, st.id} <= seen

    renamed = svix_client.ingest.source.upsert(
        gh.id,
        IngestSourceIn(name="GitHub 2", uid=gh.uid, type="github", config=GithubConfig(secret="x")),
    )
    assert (renamed.id, renamed.name) == (gh.id, "GitHub 2")

    svix_client.ingest.source.delete(st.id)
    with pytest.raises(HttpError) as caught:
        svix_client.ingest.source.get(st.id)
    assert caught.value.status_code == 404


def test_config_never_shows_secrets_and_is_validated(api: httpx.Client) -> None:
    body = {"name": "t", "type": "generic-webhook", "config": {"scheme": "gitlab", "secret": "tok"}}
    created = api.post("/ingest/api/v1/source", json=body)
    assert created.status_code == 201, created.text
    assert "tok" not in created.text
    assert created.json()["config"]["scheme"] == "gitlab"
    missing = api.post("/ingest/api/v1/source", json={"name": "t", "type": "stripe", "config": {}})
    assert missing.status_code == 422
    unknown = {"name": "t", "type": "generic-webhook", "config": {"scheme": "nope"}}
    assert api.post("/ingest/api/v1/source", json=unknown).status_code == 422


def test_genuine_github_request_is_accepted_and_stored_byte_for_byte(
    svix_client: Svix, api: httpx.Client
) -> None:
    source = github_source(svix_client)
    assert source.ingest_url is not None
    headers = github_headers(GITHUB_BODY, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    response = send(source.ingest_url, GITHUB_BODY, headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True}

    [stored] = received(api, source.id)
    assert base64.b64decode(stored["body"]) == GITHUB_BODY
    assert stored["verified"] is True
    assert stored["rejection"] is None
    assert stored["eventId"] == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert stored["eventType"] == "issues"
    assert stored["method"] == "POST"
    names = [name for name, _ in stored["headers"]]
    assert names.index("x-github-event") < names.index("x-hub-signature-256")
    assert ["x-hub-signature-256", headers["X-Hub-Signature-256"]] in stored["headers"]


def test_changed_byte_and_missing_header_are_refused_and_stored(
    svix_client: Svix, api: httpx.Client
) -> None:
    source = github_source(svix_client)
    assert source.ingest_url is not None
    headers = github_headers(GITHUB_BODY)
    altered = GITHUB_BODY.replace(b"opened", b"openeD")
    detail = assert_error(send(source.ingest_url, altered, headers), 401, "bad_signature")
    assert "X-Hub-Signature-256" in detail
    del headers["X-Hub-Signature-256"]
    assert_error(send(source.ingest_url, GITHUB_BODY, headers), 400, "missing_header")

    missing, bad = received(api, source.id)
    assert bad["verified"] is False
    assert bad["rejection"].startswith(f"{detail}; no secret of this source produces")
    assert base64.b64decode(bad["body"]) == altered
    assert missing["rejection"].startswith("missing header X-Hub-Signature-256")
    assert received(api, source.id, verified="true") == []


def test_same_github_delivery_twice_is_a_duplicate(svix_client: Svix, api: httpx.Client) -> None:
    source = github_source(svix_client)
    assert source.ingest_url is not None
    headers = github_headers(GITHUB_BODY)
    assert send(source.ingest_url, GITHUB_BODY, headers).status_code == 200
    again = send(source.ingest_url, GITHUB_BODY, headers)
    assert again.status_code == 200, again.text

    duplicate, first = received(api, source.id)
    assert first["rejection"] is None
    assert duplicate["rejection"] == f"duplicate of {first['id']}"
    assert duplicate["eventId"] == first["eventId"] == headers["X-GitHub-Delivery"]


def test_stripe_requests_signed_by_the_stripe_library(svix_client: Svix, api: httpx.Client) -> None:
    source = svix_client.ingest.source.create(
        IngestSourceIn(name="Stripe", type="stripe", config=StripeConfig(secret=STRIPE_SECRET))
    )
    assert source.ingest_url is not None
    now = int(time.time())
    good = {"Stripe-Signature": stripe_header(STRIPE_BODY, now)}
    response = send(source.ingest_url, STRIPE_BODY.encode(), good)
    assert response.status_code == 200, response.text

    stale = {"Stripe-Signature": stripe_header(STRIPE_BODY, now - 400)}
    detail = assert_error(
        send(source.ingest_url, STRIPE_BODY.encode(), stale), 401, "stale_timestamp"
    )
    assert "tolerance" in detail

    refused, accepted = received(api, source.id)
    assert (accepted["eventId"], accepted["eventType"]) == ("evt_1NxQ", "invoice.paid")
    assert base64.b64decode(accepted["body"]) == STRIPE_BODY.encode()
    assert refused["rejection"].startswith(f"{detail}; a replayed or long-delayed request")


def test_slack_url_verification_is_answered(svix_client: Svix, api: httpx.Client) -> None:
    source = svix_client.ingest.source.create(
        IngestSourceIn(name="Slack", type="slack", config=SlackConfig(secret=SLACK_SECRET))
    )
    assert source.ingest_url is not None
    body = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV", "type": "url_verification"}
    )
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": str(signature),
    }
    response = send(source.ingest_url, body.encode(), headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}
    [stored] = received(api, source.id)
    assert stored["verified"] is True


def test_zoom_url_validation_is_answered_with_the_encrypted_token(
    svix_client: Svix, api: httpx.Client
) -> None:
    secret = "zoom-secret-token"
    source = svix_client.ingest.source.create(
        IngestSourceIn(name="Zoom", type="zoom", config=ZoomConfig(secret=secret))
    )
    assert source.ingest_url is not None
    body = json.dumps(
        {"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event": "endpoint.url_validation"}
    ).encode()
    timestamp = str(int(time.time()))
    message = f"v0:{timestamp}:".encode() + body
    headers = {
        "Content-Type": "application/json",
        "x-zm-request-timestamp": timestamp,
        "x-zm-signature": "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest(),
    }
    response = send(source.ingest_url, body, headers)
    assert response.status_code == 200, response.text
    encrypted = hmac.new(secret.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert response.json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": encrypted}
    [stored] = received(api, source.id)
    assert (stored["verified"], stored["eventType"]) == (True, "endpoint.url_validation")


def test_meta_subscription_check_is_answered_with_the_challenge(
    svix_client: Svix, api: httpx.Client
) -> None:
    source = svix_client.ingest.source.create(
        IngestSourceIn(
            name="Meta", type="meta", config=MetaConfig(secret="app-secret", verify_token="vt-42")
        )
    )
    assert source.ingest_url is not None
    check = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "vt-42"}
    answer = httpx.get(source.ingest_url, params=check)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    assert answer.headers["content-type"].startswith("text/plain")
    wrong = httpx.get(source.ingest_url, params={**check, "hub.verify_token": "guess"})
    assert_error(wrong, 403, "wrong_credentials")
    # Not a subscription check: a meta source takes POSTed events only.
    assert_error(httpx.get(source.ingest_url), 405, "method_not_allowed")

    not_allowed, refused, accepted = received(api, source.id)
    assert not_allowed["rejection"].startswith("GET not allowed")
    assert (accepted["verified"], accepted["status"]) == (True, "accepted")
    assert "hub.verify_token does not match" in refused["rejection"]
    shown = api.get(f"/ingest/api/v1/source/{source.id}").json()["config"]
    assert "vt-42" not in json.dumps(shown)
    assert all("verify" not in key.lower() for key in shown)


def test_size_method_and_unknown_source(server: ServerProcess, api: httpx.Client) -> None:
    config = {"maxBodyBytes": 1024, "response": {"status": 202, "body": "thanks", "headers": {}}}
    created = api.post(
        "/ingest/api/v1/source",
        json={"name": "open", "type": "generic-webhook", "config": config},
    )
    assert created.status_code == 201, created.text
    source_id, url = created.json()["id"], created.json()["ingestUrl"]

    ok = send(url, b"x" * 1024, {})
    assert (ok.status_code, ok.content) == (202, b"thanks")
    assert_error(send(url, b"x" * 1025, {}), 413, "payload_too_large")
    chunked = send(url, iter([b"x" * 600, b"x" * 600]), {})
    assert_error(chunked, 413, "payload_too_large")
    assert_error(send(url, None, {}, method="GET"), 405, "method_not_allowed")

    rows = received(api, source_id)
    assert [r["rejection"] is None for r in rows] == [False, False, False, True]
    assert rows[-1]["verified"] is False  # a source without a scheme verifies nothing
    assert_error(send(f"{server.url}/in/src_nope", b"{}", {}), 404, "not_found")
    assert api.get("/ingest/api/v1/source/src_nope/request").status_code == 404


def _ip_source(api: httpx.Client, config: dict[str, Any]) -> tuple[str, str]:
    created = api.post(
        "/ingest/api/v1/source", json={"name": "ip", "type": "generic-webhook", "config": config}
    )
    assert created.status_code == 201, created.text
    return created.json()["ingestUrl"], created.json()["id"]


def test_client_address_allowlist_behind_a_trusted_proxy(api: httpx.Client) -> None:
    # The test client connects from 127.0.0.1: it is the proxy here. Only a
    # source that names it in trustedProxies believes its X-Forwarded-For,
    # walking left past every trusted hop.
    chain = {"X-Forwarded-For": "10.1.2.3, 192.0.2.7"}
    direct, direct_id = _ip_source(api, {"allowedCidrs": ["10.0.0.0/8"]})
    assert_error(send(direct, b"{}", chain), 403, "ip_not_allowed")
    assert_error(send(direct, b"{}", {}), 403, "ip_not_allowed")
    assert [r["sourceIp"] for r in received(api, direct_id)] == ["127.0.0.1", "127.0.0.1"]
    proxied, source_id = _ip_source(
        api, {"allowedCidrs": ["10.0.0.0/8"], "trustedProxies": ["127.0.0.1", "192.0.2.0/24"]}
    )
    assert send(proxied, b"{}", chain).status_code == 200
    spoofed = {"X-Forwarded-For": "10.1.2.3, 198.51.100.1"}
    assert_error(send(proxied, b"{}", spoofed), 403, "ip_not_allowed")
    assert [r["sourceIp"] for r in received(api, source_id)] == ["198.51.100.1", "10.1.2.3"]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("server_wide", [None, "127.0.0.1", "*"])
def test_a_forged_forwarded_for_never_passes_a_source_without_trusted_proxies(
    server_factory: Callable[..., ServerProcess], server_wide: str | None
) -> None:
    """Whatever HOOKGATE_FORWARDED_ALLOW_IPS says (it is for the API routes),
    ``/in`` starts from the socket peer."""
    server = server_factory(env={"HOOKGATE_FORWARDED_ALLOW_IPS": server_wide})
    with server.http() as api:
        url, source_id = _ip_source(api, {"allowedCidrs": ["10.0.0.0/8"]})
        assert_error(send(url, b"{}", {"X-Forwarded-For": "10.1.2.3"}), 403, "ip_not_allowed")
        assert [r["sourceIp"] for r in received(api, source_id)] == ["127.0.0.1"]


def test_rotating_the_token_changes_the_url_and_keeps_the_old_one_for_a_while(
    server: ServerProcess, svix_client: Svix, api: httpx.Client
) -> None:
    """Expiry after the 24-hour grace is tested in the store (injected clock)."""
    source = github_source(svix_client)
    original = source.ingest_url
    assert original is not None
    rotated = svix_client.ingest.source.rotate_token(source.id)
    assert rotated.ingest_url != original
    assert re.fullmatch(rf"{re.escape(server.url)}/in/[\w-]{{32}}", rotated.ingest_url)
    assert svix_client.ingest.source.get(source.id).ingest_url == rotated.ingest_url

    # Distinct events (GitHub sources deduplicate on the body).
    bodies = iter(json.dumps({"action": "opened", "n": n}).encode() for n in range(5))
    for url in (rotated.ingest_url, original):
        body = next(bodies)
        response = send(url, body, github_headers(body))
        assert response.status_code == 200, response.text
    assert [r["rejection"] for r in received(api, source.id)] == [None, None]

    # Rotating again retires the original token at once: only one previous is kept.
    again = svix_client.ingest.source.rotate_token(source.id)
    assert again.ingest_url not in (original, rotated.ingest_url)
    body = next(bodies)
    assert_error(send(original, body, github_headers(body)), 404, "not_found")
    for url in (again.ingest_url, rotated.ingest_url):
        body = next(bodies)
        assert send(url, body, github_headers(body)).status_code == 200
    assert [r["status"] for r in received(api, source.id)] == ["accepted"] * 4


def test_token_rotation_honours_idempotency_keys(svix_client: Svix, api: httpx.Client) -> None:
    source = github_source(svix_client)
    options = IngestSourceRotateTokenOptions(idempotency_key=unique("rotate"))
    first = svix_client.ingest.source.rotate_token(source.id, options)
    replayed = svix_client.ingest.source.rotate_token(source.id, options)
    assert replayed.ingest_url == first.ingest_url
    # The replay did not rotate: the original URL is still the previous one.
    assert source.ingest_url is not None
    assert send(source.ingest_url, GITHUB_BODY, github_headers(GITHUB_BODY)).status_code == 200

    with pytest.raises(HttpError) as caught:
        svix_client.ingest.source.rotate_token("src_nope")
    assert caught.value.status_code == 404
    assert_error(api.post("/ingest/api/v1/source/nope/token/rotate"), 404, "not_found")
