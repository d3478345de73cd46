"""Signing as providers sign: published vectors, and every preset's signature
accepted by the one verification engine."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from urllib.parse import parse_qsl

import pytest

from hookgate.core.samples import PROVIDERS, UnknownSample, build_request
from hookgate.core.sign import sign_headers
from hookgate.core.verify.engine import verify
from hookgate.core.verify.presets import GITHUB, GITLAB, PADDLE, PRESETS, SHOPIFY, generic_hmac
from hookgate.core.verify.scheme import Encoding, KeyFormat, Method, Scheme

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
URL = "https://hooks.example.com/in/abc?x=1"


def test_github_published_example() -> None:
    # docs.github.com "Validating webhook deliveries": secret and payload below.
    headers = sign_headers(GITHUB, body=b"Hello, World!", secret="It's a Secret to Everybody")
    assert headers == {
        "X-Hub-Signature-256": (
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        )
    }


def test_paddle_vector_from_paddles_node_sdk_tests() -> None:
    # PaddleHQ/paddle-node-sdk src/__tests__/notifications/webhooks-validator.test.ts
    headers = sign_headers(
        PADDLE, body=b'{"data": ["1", "2"]}', secret="VALID_SECRET", timestamp=1698796800
    )
    assert headers == {
        "Paddle-Signature": (
            "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9"
        )
    }


def test_shopify_published_vector() -> None:
    # The base64 HMAC-SHA256 of this body under this secret, as published in
    # SQLPage's Shopify webhook example (hex 40dc8e6d...).
    body = b'{"id":1234567890,"email":"customer@example.com","total_price":"123.45"}'
    headers = sign_headers(SHOPIFY, body=body, secret="test-webhook-secret")
    assert headers == {"X-Shopify-Hmac-Sha256": "QNyObTlKbMx2qDlPF/ZOZcBqg5OgPg+2oky3zldc0Gw="}


def test_gitlab_sends_the_token_itself() -> None:
    assert sign_headers(GITLAB, body=b"{}", secret="s3cr3t") == {"X-Gitlab-Token": "s3cr3t"}


#: The presets ``hookgate trigger`` signs with, and the generic ones.
SIGNED = (
    "github",
    "stripe",
    "shopify",
    "slack",
    "standard_webhooks",
    "svix",
    "twilio",
    "paddle",
    "gitlab",
    "square",
    "generic_hmac",
    "basic",
    "token",
)


@pytest.mark.parametrize("name", SIGNED)
def test_presets_verify_what_they_sign(name: str) -> None:
    scheme = PRESETS[name]
    secret = "user:pass" if scheme.method is Method.BASIC else WHSEC
    body = b'{"type":"x.y","id":"evt_1"}'
    now = int(time.time())
    form = {"B": "2", "A": "1"} if "form" in scheme.placeholders else None
    headers = sign_headers(
        scheme, body=body, secret=secret, timestamp=now, msg_id="msg_1", url=URL, form=form
    )
    verified = verify(
        scheme, body=body, headers=headers, secrets=[secret], now=now, url=URL, form=form
    )
    assert verified.scheme == scheme.name
    changed = body.replace(b"x.y", b"x.z")
    if scheme.method is Method.HMAC and "body" in scheme.placeholders and form is None:
        with pytest.raises(Exception, match="signature"):
            verify(scheme, body=changed, headers=headers, secrets=[secret], now=now, url=URL)


def test_base64url_signatures() -> None:
    scheme = generic_hmac("X-Sig", encoding=Encoding.BASE64URL)
    body = b"\xfb\xff" * 40
    headers = sign_headers(scheme, body=body, secret="k")
    assert "+" not in headers["X-Sig"]
    assert "/" not in headers["X-Sig"]
    verify(scheme, body=body, headers=headers, secrets=["k"], now=0)


@pytest.mark.parametrize(
    "scheme",
    [
        replace(PRESETS["github"], signature_in_query=True, fallback=None),
        replace(PRESETS["github"], method=Method.ED25519, key_format=KeyFormat.ED25519_PUBLIC),
    ],
)
def test_schemes_without_a_shared_secret_header_are_refused(scheme: Scheme) -> None:
    with pytest.raises(ValueError, match="not supported"):
        sign_headers(scheme, body=b"{}", secret="s")


def test_a_scheme_signing_a_timestamp_needs_one() -> None:
    with pytest.raises(ValueError, match="timestamp"):
        sign_headers(PADDLE, body=b"{}", secret="s")


@pytest.mark.parametrize(
    ("provider", "event"), [(p.name, e) for p in PROVIDERS.values() for e in p.events]
)
def test_every_sample_is_accepted_by_its_providers_scheme(provider: str, event: str) -> None:
    secret = WHSEC
    request = build_request(provider, event, to=URL, secret=secret)
    headers = dict(request.headers)
    prov = PROVIDERS[provider]
    form = dict(parse_qsl(request.body.decode())) if prov.form else None
    if not prov.form:
        json.loads(request.body)
    for scheme in prov.schemes:
        verify(
            scheme,
            body=request.body,
            headers=headers,
            secrets=[secret],
            now=time.time(),
            url=URL,
            form=form,
        )


def test_each_send_has_fresh_ids() -> None:
    first, second = (build_request("github", "push", to=URL, secret="s") for _ in range(2))
    assert dict(first.headers)["X-GitHub-Delivery"] != dict(second.headers)["X-GitHub-Delivery"]
    assert first.body != second.body


def test_twilio_json_data_is_bound_by_body_sha256_in_the_url() -> None:
    body = b'{"status":"delivered"}'
    request = build_request(
        "twilio", "sms-status", to=URL, secret="tok", data=body, public_url="https://pub.example/t"
    )
    assert "bodySHA256=" in request.url
    assert request.signed_url is not None
    assert request.signed_url.startswith("https://pub.example/t?bodySHA256=")
    headers = dict(request.headers)
    assert headers["Content-Type"] == "application/json"
    verify(
        PRESETS["twilio"],
        body=body,
        headers=headers,
        secrets=["tok"],
        now=time.time(),
        url=request.signed_url,
    )


def test_unknown_providers_and_events_list_what_exists() -> None:
    with pytest.raises(UnknownSample, match="known: github, stripe"):
        build_request("nope", "x", to=URL, secret="s")
    with pytest.raises(UnknownSample, match="known: ping, push, pull_request"):
        build_request("GitHub", "issues", to=URL, secret="s")
    assert build_request("standard_webhooks", "user.created", to=URL, secret=WHSEC).body
