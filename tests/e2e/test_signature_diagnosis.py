"""Why a signature failed, through the real server: requests signed by the
providers' own libraries, then altered the way relays and proxies alter them;
the stored reason (API request detail and the dashboard's request page) says
which change explains the failure, and the sender's answer stays short."""

from __future__ import annotations

import html
import json
import time
from urllib.parse import urlencode

import httpx
import pytest
import stripe
from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

from tests.e2e.dashboard import operator_client
from tests.e2e.harness import ServerProcess
from tests.e2e.test_inbound import assert_error, github_headers, send
from tests.e2e.test_inbound_limits import make_source

pytestmark = pytest.mark.slow

GITHUB_SECRET = "It's a Secret to Everybody"
STRIPE_SECRET = "whsec_test_0123456789abcdef"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TWILIO_TOKEN = "12345678901234567890123456789012"
PRETTY = json.dumps({"id": "evt_1", "type": "invoice.paid", "data": {"n": "é"}}, indent=2)


def _only_request(api: httpx.Client, source_id: str) -> dict[str, object]:
    """The one stored request of the source, by the API's request detail."""
    listed = api.get(f"/ingest/api/v1/source/{source_id}/request").json()["data"]
    assert len(listed) == 1
    detail = api.get(f"/ingest/api/v1/source/{source_id}/request/{listed[0]['id']}")
    assert detail.status_code == 200, detail.text
    document: dict[str, object] = detail.json()
    return document


def _stripe_header(payload: str, timestamp: int) -> str:
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", STRIPE_SECRET)
    return f"t={timestamp},v1={signature}"


def test_stripe_body_re_serialised_by_a_relay_is_named(
    api: httpx.Client, server: ServerProcess
) -> None:
    source_id, url = make_source(api, {"scheme": "stripe", "secret": STRIPE_SECRET})
    header = _stripe_header(PRETTY, int(time.time()))
    # The genuine request verifies with Stripe's own library...
    stripe.Webhook.construct_event(PRETTY, header, STRIPE_SECRET)
    # ...then a relay parses and re-encodes the JSON (as smee does).
    relayed = json.dumps(json.loads(PRETTY), separators=(",", ":")).encode()
    detail = assert_error(send(url, relayed, {"Stripe-Signature": header}), 401, "bad_signature")
    assert "re-serialised" not in detail  # the sender's answer stays short

    stored = _only_request(api, source_id)
    reason = str(stored["rejection"])
    assert reason.startswith(detail + "; ")
    assert (
        "the signature matches the body re-serialised as JSON indented by 2 spaces with \\u"
        " escapes: the JSON was"
        " re-serialised between the provider and Hookgate"
    ) in reason
    assert STRIPE_SECRET not in reason

    # The dashboard's request page shows the same explanation.
    with operator_client(server) as browser:
        page = browser.get(f"/sources/{source_id}/requests/{stored['id']}")
    assert page.status_code == 200
    assert reason in html.unescape(page.text)


def test_github_trailing_newline_and_wrong_secret_are_told_apart(api: httpx.Client) -> None:
    body = b'{"zen":"Keep it logically awesome.","hook_id":1}'
    source_id, url = make_source(api, {"scheme": "github", "secret": GITHUB_SECRET})
    headers = github_headers(body)
    assert_error(send(url, body + b"\n", headers), 401, "bad_signature")
    reason = str(_only_request(api, source_id)["rejection"])
    assert (
        "the signature matches the body with its trailing newline removed: something between"
        " the provider and Hookgate added one"
    ) in reason

    other_id, other_url = make_source(api, {"scheme": "github", "secret": "not the secret"})
    assert_error(send(other_url, body, headers), 401, "bad_signature")
    wrong = str(_only_request(api, other_id)["rejection"])
    assert (
        "no secret of this source produces this signature: the secret is wrong or the body was"
        " changed before it arrived"
    ) in wrong
    signature = headers["X-Hub-Signature-256"].removeprefix("sha256=")
    assert f"received {signature[:7]}..." in wrong
    assert signature[:8] not in wrong


def test_slack_stale_timestamp_says_by_how_much(api: httpx.Client) -> None:
    body = '{"type":"event_callback","event_id":"Ev1"}'
    source_id, url = make_source(api, {"scheme": "slack", "secret": SLACK_SECRET})
    signed_at = int(time.time()) - 3600
    signature = SignatureVerifier(SLACK_SECRET).generate_signature(
        timestamp=str(signed_at), body=body
    )
    headers = {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": str(signed_at)}
    detail = assert_error(send(url, body.encode(), headers), 401, "stale_timestamp")
    assert "s ago, tolerance 300 s" in detail
    age = int(detail.split("signed ", 1)[1].split(" s ago", 1)[0])
    assert 3600 <= age < 3900
    reason = str(_only_request(api, source_id)["rejection"])
    assert "a replayed or long-delayed request" in reason


def test_missing_header_names_it(api: httpx.Client) -> None:
    source_id, url = make_source(api, {"scheme": "github", "secret": GITHUB_SECRET})
    headers = {"Content-Type": "application/json", "X-Gitlab-Token": "t"}
    assert_error(send(url, b"{}", headers), 400, "missing_header")
    reason = str(_only_request(api, source_id)["rejection"])
    assert reason.startswith("missing header X-Hub-Signature-256 or X-Hub-Signature; ")
    assert "x-gitlab-token" in reason


def test_twilio_signing_the_https_url_behind_a_tls_proxy(api: httpx.Client) -> None:
    source_id, url = make_source(api, {"scheme": "twilio", "secret": TWILIO_TOKEN})
    assert url.startswith("http://")
    # The provider called the https address a TLS-terminating proxy exposes.
    public = "https://" + url.removeprefix("http://")
    sms = {"MessageSid": "SM1", "From": "+15005550006", "Body": "hi ✓"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(public, sms)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    assert_error(send(url, urlencode(sms).encode(), headers), 401, "bad_signature")
    reason = str(_only_request(api, source_id)["rejection"])
    assert f"the signature matches the URL {public} (we used {url})" in reason
    assert "the provider signs a different URL" in reason
    assert "publicUrl" in reason
