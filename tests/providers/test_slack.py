"""Slack: signatures from ``slack_sdk.signature.SignatureVerifier``; our
acceptance must equal its ``is_valid_request``."""

from __future__ import annotations

import time

import pytest
from slack_sdk.signature import Clock, SignatureVerifier

from hookgate.receive import BadSignature, MissingHeader, StaleTimestamp, VerificationError, verify

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = b'{"token":"t","type":"event_callback","event_id":"Ev08","event":{"type":"app_mention"}}'


class FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self.fixed = now

    def now(self) -> float:
        return self.fixed


def _headers(secret: str, ts: int, body: bytes = BODY) -> dict[str, str]:
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=body)
    assert signature is not None
    return {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": str(ts)}


def _variants(now: int) -> list[tuple[str, bytes, dict[str, str]]]:
    good = _headers(SECRET, now)
    return [
        ("genuine", BODY, good),
        ("changed byte", BODY.replace(b"Ev08", b"Ev09"), good),
        ("wrong secret", BODY, _headers("other-secret", now)),
        ("stale", BODY, _headers(SECRET, now - 301)),
        ("future", BODY, _headers(SECRET, now + 301)),
        ("edge of tolerance", BODY, _headers(SECRET, now - 300)),
        ("missing timestamp", BODY, {"X-Slack-Signature": good["X-Slack-Signature"]}),
    ]


@pytest.mark.parametrize("index", range(7))
def test_acceptance_equals_slack_sdk(index: int) -> None:
    now = int(time.time())
    label, body, headers = _variants(now)[index]
    theirs = SignatureVerifier(SECRET, FixedClock(now)).is_valid_request(body, headers)
    try:
        verify("slack", body, headers, SECRET, now=now)
        ours = True
    except VerificationError:
        ours = False
    assert ours == theirs, label


def test_genuine_event_and_precise_exceptions() -> None:
    now = int(time.time())
    event = verify("slack", BODY, _headers(SECRET, now), SECRET, now=now)
    assert (event.id, event.type) == ("Ev08", "app_mention")
    with pytest.raises(BadSignature):
        verify("slack", BODY + b"x", _headers(SECRET, now), SECRET, now=now)
    with pytest.raises(BadSignature):
        verify("slack", BODY, _headers("nope", now), SECRET, now=now)
    with pytest.raises(StaleTimestamp):
        verify("slack", BODY, _headers(SECRET, now - 600), SECRET, now=now)
    with pytest.raises(MissingHeader, match="X-Slack-Signature"):
        verify("slack", BODY, {"X-Slack-Request-Timestamp": str(now)}, SECRET, now=now)
