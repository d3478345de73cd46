"""The receive core (``core.verify.decide``) that the toolkit and ``/in``
share: one status per failure, one form rule, one event-type fallback, one
Slack challenge rule; and the toolkit ``Receiver`` answering with it."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest

from hookgate.core.verify import (
    PRESETS,
    Accepted,
    BadSignature,
    Challenge,
    FromHeader,
    MalformedBody,
    MalformedHeader,
    MissingHeader,
    Refused,
    StaleTimestamp,
    VerificationError,
    WrongCredentials,
    decide,
    generic_hmac,
    refusal,
)
from hookgate.core.verify.decide import challenge_reply
from hookgate.receive import Receiver, Router

NOW = 1_700_000_000.0
SECRET = "s3cret"
GENERIC = generic_hmac("X-Signature")


def _sig(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def _slack(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    ts = str(int(NOW))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (MissingHeader("X-Signature"), 400, "missing_header"),
        (MalformedHeader("X-Signature", "not hex"), 400, "malformed_header"),
        (MalformedBody("JSON nested deeper than 128 levels"), 400, "malformed_body"),
        (BadSignature("no match"), 401, "bad_signature"),
        (StaleTimestamp(600, 300), 401, "stale_timestamp"),
        (WrongCredentials("no match"), 401, "wrong_credentials"),
    ],
)
def test_each_failure_has_one_status_and_code(
    error: VerificationError, status: int, code: str
) -> None:
    assert refusal(error) == Refused(status, code, str(error))


def test_a_secret_the_scheme_cannot_use_is_a_500_that_names_no_secret() -> None:
    body = b"{}"
    decision = decide(
        PRESETS["standard_webhooks"],
        ["whsec_!!not base64!!"],
        body=body,
        headers={
            "webhook-id": "msg_1",
            "webhook-timestamp": str(int(NOW)),
            "webhook-signature": "v1,AAAA",
        },
        now=NOW,
    )
    assert isinstance(decision, Refused)
    assert (decision.status, decision.code) == (500, "source_misconfigured")
    assert "!!not base64!!" not in decision.detail


def test_the_first_of_repeated_headers_is_the_one_verified() -> None:
    body = b'{"type": "a"}'
    good, bad = _sig(body)["X-Signature"], _sig(body, "other")["X-Signature"]
    first_good = decide(
        GENERIC, [SECRET], body=body, headers=[("X-Signature", good), ("x-signature", bad)], now=NOW
    )
    first_bad = decide(
        GENERIC, [SECRET], body=body, headers=[("X-Signature", bad), ("x-signature", good)], now=NOW
    )
    assert isinstance(first_good, Accepted)
    assert isinstance(first_bad, Refused)
    assert first_bad.code == "bad_signature"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-Urlencoded; charset=utf-8",
        " application/x-www-form-urlencoded ;charset=UTF-8",
    ],
)
def test_form_bodies_are_recognised_whatever_the_parameters_and_case(content_type: str) -> None:
    body = urlencode({"type": "order.paid", "id": "7"}).encode()
    decision = decide(
        GENERIC, [SECRET], body=body, headers={**_sig(body), "Content-Type": content_type}, now=NOW
    )
    assert isinstance(decision, Accepted)
    assert decision.payload == {"type": "order.paid", "id": "7"}
    assert decision.event_type == "order.paid"


def test_event_type_falls_back_to_the_payload_type_only_when_none_is_located() -> None:
    body = json.dumps({"type": "invoice.paid", "kind": "other"}).encode()
    topic = FromHeader("X-Topic")
    fallback = decide(GENERIC, [SECRET], body=body, headers=_sig(body), now=NOW)
    assert isinstance(fallback, Accepted)
    assert fallback.event_type == "invoice.paid"
    located = decide(None, [], body=body, headers={"X-Topic": "t.1"}, now=NOW, event_type_at=topic)
    assert isinstance(located, Accepted)
    assert located.event_type == "t.1"
    absent = decide(None, [], body=body, headers={}, now=NOW, event_type_at=topic)
    assert isinstance(absent, Accepted)
    assert absent.event_type == "invoice.paid"


def test_a_body_too_deep_for_the_fallback_is_accepted_without_a_type() -> None:
    body = b"[" * 300 + b"]" * 300
    decision = decide(GENERIC, [SECRET], body=body, headers=_sig(body), now=NOW)
    assert isinstance(decision, Accepted)
    assert (decision.event_type, decision.payload) == (None, None)


def test_only_a_verified_slack_url_verification_is_a_challenge() -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc"}).encode()
    slack = decide(PRESETS["slack"], [SECRET], body=body, headers=_slack(body), now=NOW)
    assert isinstance(slack, Challenge)
    assert slack.challenge == "abc"
    generic = decide(GENERIC, [SECRET], body=body, headers=_sig(body), now=NOW)
    assert isinstance(generic, Accepted)
    assert not isinstance(generic, Challenge)
    unverified = decide(None, [], body=body, headers={}, now=NOW)
    assert not isinstance(unverified, Challenge)


async def test_receiver_answers_a_misconfigured_secret_with_500_instead_of_raising() -> None:
    receiver = Receiver("standard_webhooks", "whsec_!!not base64!!", Router())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(NOW)),
        "webhook-signature": "v1,AAAA",
    }
    reply = await receiver.handle(b"{}", headers, "http://test/hooks")
    assert reply.status == 500
    assert json.loads(reply.body)["code"] == "source_misconfigured"


def _zoom(body: bytes, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(NOW))
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-zm-signature": f"v0={digest}", "x-zm-request-timestamp": ts}


def test_a_verified_zoom_url_validation_is_answered_with_the_encrypted_token() -> None:
    # Zoom's documented answer: HMAC-SHA256 of plainToken keyed by the secret token, hex.
    body = json.dumps(
        {"event": "endpoint.url_validation", "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}}
    ).encode()
    other = "older-secret-token"
    zoom = decide(PRESETS["zoom"], [other, SECRET], body=body, headers=_zoom(body), now=NOW)
    assert isinstance(zoom, Challenge)
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert zoom.document == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}
    assert zoom.challenge is None
    reply = challenge_reply(zoom)
    assert (reply.status, json.loads(reply.body)["encryptedToken"]) == (200, expected)
    # An ordinary Zoom event is not a handshake; an unsigned validation is refused.
    event = json.dumps({"event": "meeting.started", "payload": {}}).encode()
    plain = decide(PRESETS["zoom"], [SECRET], body=event, headers=_zoom(event), now=NOW)
    assert isinstance(plain, Accepted)
    assert not isinstance(plain, Challenge)
    assert plain.event_type == "meeting.started"
    forged = decide(PRESETS["zoom"], [SECRET], body=body, headers=_zoom(body, "x"), now=NOW)
    assert isinstance(forged, Refused)
