"""Providers whose requests depend on more than a header, through the real
server: Twilio signing the public URL that a proxy rewrote, and senders using
the Standard Webhooks and Svix libraries (both header families)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from svix.webhooks import Webhook as SvixWebhook
from twilio.request_validator import RequestValidator

from tests.e2e.test_inbound import assert_error, received, send
from tests.e2e.test_inbound_limits import make_source

pytestmark = pytest.mark.slow

TWILIO_TOKEN = "12345678901234567890123456789012"
PUBLIC_URL = "https://hooks.example.com/twilio/sms"
SMS = {"MessageSid": "SM123", "From": "+15005550006", "To": "+15005550001", "Body": "héllo ✓"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PAYLOAD = '{"type":"user.created","data":{"id":"u_1"}}'


def test_twilio_form_request_verifies_against_the_configured_public_url(
    api: httpx.Client,
) -> None:
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL, SMS)
    headers = {**FORM, "X-Twilio-Signature": signature, "I-Twilio-Idempotency-Token": "tw-1"}
    body = urlencode(SMS).encode()
    behind_proxy, url = make_source(
        api, {"scheme": "twilio", "secret": TWILIO_TOKEN, "publicUrl": PUBLIC_URL}
    )
    assert send(url, body, headers).status_code == 200
    row = received(api, behind_proxy)[0]
    assert (row["verified"], row["rejection"], row["eventId"]) == (True, None, "tw-1")

    # The same request judged against the URL Hookgate itself saw fails, which
    # is what publicUrl is for.
    unaware, url = make_source(api, {"scheme": "twilio", "secret": TWILIO_TOKEN})
    assert_error(send(url, body, headers), 401, "bad_signature")
    # A changed parameter is caught even behind the proxy.
    tampered = urlencode({**SMS, "Body": "hello"}).encode()
    assert_error(send(received_url(api, behind_proxy), tampered, headers), 401, "bad_signature")
    assert received(api, unaware)[0]["rejection"]


def received_url(api: httpx.Client, source_id: str) -> str:
    url: str = api.get(f"/ingest/api/v1/source/{source_id}").json()["ingestUrl"]
    return url


@pytest.mark.parametrize(
    ("source_type", "signer", "prefix"),
    [("resend", StandardWebhook, "webhook"), ("clerk", SvixWebhook, "svix")],
)
def test_standard_webhooks_and_svix_senders(
    api: httpx.Client, source_type: str, signer: type[StandardWebhook], prefix: str
) -> None:
    source_id, url = make_source(api, {"secret": WHSEC}, source_type=source_type)

    def headers(msg_id: str, at: datetime) -> dict[str, str]:
        signature = signer(WHSEC).sign(msg_id, at, PAYLOAD)
        return {
            f"{prefix}-id": msg_id,
            f"{prefix}-timestamp": str(int(at.timestamp())),
            f"{prefix}-signature": signature,
            "content-type": "application/json",
        }

    now = datetime.now(tz=UTC)
    assert send(url, PAYLOAD.encode(), headers("msg_1", now)).status_code == 200
    assert send(url, PAYLOAD.encode(), headers("msg_1", now)).status_code == 200
    stale = send(url, PAYLOAD.encode(), headers("msg_2", now - timedelta(minutes=10)))
    assert_error(stale, 401, "stale_timestamp")
    changed = send(url, PAYLOAD.replace("u_1", "u_2").encode(), headers("msg_3", now))
    assert_error(changed, 401, "bad_signature")
    missing = send(url, PAYLOAD.encode(), {"content-type": "application/json"})
    assert_error(missing, 400, "missing_header")

    rows = received(api, source_id)
    assert [r["eventId"] for r in rows[-2:]] == ["msg_1", "msg_1"]
    assert rows[-2]["rejection"] == f"duplicate of {rows[-1]['id']}"
    assert rows[-1]["eventType"] == "user.created"
