"""``hookgate trigger`` samples verified by each provider's own library
(stripe, slack_sdk, twilio, standardwebhooks, svix, @octokit/webhooks-methods);
Shopify, Paddle and GitLab have no verifying library here and are checked by
their published algorithm (their published vectors are in tests/unit/test_sign.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
from urllib.parse import parse_qsl

import pytest
import standardwebhooks
import stripe
import svix.webhooks
from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

from hookgate.core.samples import PROVIDERS, Request, build_request
from tests.providers.test_github_octokit import NODE_DIR, PACKAGE

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
URL = "https://hooks.example.com/in/src_1"


def _headers(request: Request) -> dict[str, str]:
    return dict(request.headers)


def _events(provider: str) -> list[str]:
    return list(PROVIDERS[provider].events)


@pytest.mark.parametrize("event", _events("stripe"))
def test_stripe_construct_event_accepts_the_trigger(event: str) -> None:
    secret = "whsec_test_stripe_secret"
    request = build_request("stripe", event, to=URL, secret=secret)
    parsed = stripe.Webhook.construct_event(
        request.body.decode(), _headers(request)["Stripe-Signature"], secret
    )
    assert parsed["type"] == event
    assert parsed["object"] == "event"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            request.body.decode(), _headers(request)["Stripe-Signature"], secret + "x"
        )


@pytest.mark.parametrize("event", _events("slack"))
def test_slack_signature_verifier_accepts_the_trigger(event: str) -> None:
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    request = build_request("slack", event, to=URL, secret=secret)
    headers = _headers(request)
    assert SignatureVerifier(secret).is_valid_request(request.body, headers)
    assert not SignatureVerifier("other").is_valid_request(request.body, headers)
    assert json.loads(request.body)["type"] == event


@pytest.mark.parametrize("event", _events("twilio"))
def test_twilio_request_validator_accepts_the_form_trigger(event: str) -> None:
    token = "12345678901234567890123456789012"
    request = build_request("twilio", event, to=URL, secret=token)
    params = dict(parse_qsl(request.body.decode()))
    signature = _headers(request)["X-Twilio-Signature"]
    assert params["MessageSid"].startswith("SM")
    assert RequestValidator(token).validate(URL, params, signature)
    assert not RequestValidator(token).validate(URL + "x", params, signature)


def test_twilio_request_validator_accepts_a_json_trigger_behind_a_proxy() -> None:
    token = "12345678901234567890123456789012"
    public = "https://public.example.com/twilio"
    body = b'{"MessageStatus":"delivered"}'
    request = build_request(
        "twilio", "sms-status", to=URL, secret=token, data=body, public_url=public
    )
    assert request.signed_url is not None
    signature = _headers(request)["X-Twilio-Signature"]
    assert RequestValidator(token).validate(request.signed_url, body.decode(), signature)


@pytest.mark.parametrize("event", _events("standard-webhooks"))
def test_standardwebhooks_verifies_the_trigger(event: str) -> None:
    request = build_request("standard-webhooks", event, to=URL, secret=WHSEC)
    payload = standardwebhooks.Webhook(WHSEC).verify(request.body, _headers(request))
    assert payload["type"] == event


@pytest.mark.parametrize("event", _events("svix"))
def test_svix_verifies_the_trigger(event: str) -> None:
    request = build_request("svix", event, to=URL, secret=WHSEC)
    headers = _headers(request)
    assert {"svix-id", "svix-timestamp", "svix-signature"} <= set(headers)
    svix.webhooks.Webhook(WHSEC).verify(request.body, headers)  # raises if not verified
    assert json.loads(request.body)["type"] == event
    other = "whsec_" + base64.b64encode(b"another secret key").decode()
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(other).verify(request.body, headers)


VERIFY_SCRIPT = """
import { verify } from "@octokit/webhooks-methods";
const cases = JSON.parse(process.env.CASES);
const out = [];
for (const [secret, body, signature] of cases) out.push(await verify(secret, body, signature));
console.log(JSON.stringify(out));
"""


def test_octokit_verifies_every_github_trigger() -> None:
    node = shutil.which("node")
    if node is None or not PACKAGE.is_dir():
        pytest.fail("node and @octokit/webhooks-methods are required (run scripts/test.sh)")
    secret = "It's a Secret to Everybody"
    cases = []
    for event in _events("github"):
        request = build_request("github", event, to=URL, secret=secret)
        headers = _headers(request)
        assert headers["X-GitHub-Event"] == event
        cases.append([secret, request.body.decode(), headers["X-Hub-Signature-256"]])
    cases.append([secret + "!", cases[0][1], cases[0][2]])
    done = subprocess.run(
        [node, "--input-type=module", "-e", VERIFY_SCRIPT],
        cwd=NODE_DIR,
        env={**os.environ, "CASES": json.dumps(cases)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [True, True, True, False]


def test_shopify_trigger_follows_the_published_algorithm() -> None:
    # base64(HMAC-SHA256(app secret, raw body)) in X-Shopify-Hmac-Sha256.
    request = build_request("shopify", "orders/create", to=URL, secret="shpss_secret")
    headers = _headers(request)
    expected = base64.b64encode(
        hmac.new(b"shpss_secret", request.body, hashlib.sha256).digest()
    ).decode()
    assert headers["X-Shopify-Hmac-Sha256"] == expected
    assert headers["X-Shopify-Topic"] == "orders/create"
    assert json.loads(request.body)["line_items"]


@pytest.mark.parametrize("event", _events("paddle"))
def test_paddle_trigger_follows_the_published_algorithm(event: str) -> None:
    # Paddle-Signature: ts=<unix>;h1=hex(HMAC-SHA256(secret, "<ts>:<raw body>")).
    secret = "pdl_ntfset_01hs0t3tw21j988db1pam5xg8m_secret"
    request = build_request("paddle", event, to=URL, secret=secret)
    parts = dict(p.split("=", 1) for p in _headers(request)["Paddle-Signature"].split(";"))
    assert abs(int(parts["ts"]) - time.time()) < 5
    signed = parts["ts"].encode() + b":" + request.body
    assert parts["h1"] == hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert json.loads(request.body)["event_type"] == event


@pytest.mark.parametrize(
    ("event", "header"), [("push", "Push Hook"), ("merge_request", "Merge Request Hook")]
)
def test_gitlab_trigger_carries_the_secret_token(event: str, header: str) -> None:
    # GitLab sends the configured secret token verbatim in X-Gitlab-Token.
    request = build_request("gitlab", event, to=URL, secret="glpat-token")
    headers = _headers(request)
    assert headers["X-Gitlab-Token"] == "glpat-token"
    assert headers["X-Gitlab-Event"] == header
    assert json.loads(request.body)["object_kind"] == event
