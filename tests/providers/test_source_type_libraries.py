"""Source types whose senders have a library installed here: requests signed
by the ``svix`` library (``svix-*`` headers, every Standard Webhooks type),
``stripe`` and ``slack_sdk`` are accepted by a source of that type through the
receive core, and refused once the body changes."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import stripe
import svix.webhooks
from slack_sdk.signature import SignatureVerifier

from hookgate.core.verify import PRESETS, Accepted, Decision, Refused, decide
from hookgate.inbound import config as source_config
from hookgate.inbound import source_types

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLACK_SECRET = "slack-signing-secret"
BODY = '{"type":"thing.happened","id":"evt_1","data":{"note":"ü"}}'


def _decide(source_type: str, secret: str, body: str, headers: dict[str, str]) -> Decision:
    scheme, stored = source_config.parse(source_type, {"secret": secret})
    return decide(
        PRESETS[scheme], stored["secrets"], body=body.encode(), headers=headers, now=time.time()
    )


def _verdicts(source_type: str, secret: str, headers: dict[str, str]) -> tuple[Decision, Decision]:
    return (
        _decide(source_type, secret, BODY, headers),
        _decide(source_type, secret, BODY.replace("evt_1", "evt_2"), headers),
    )


@pytest.mark.parametrize("source_type", sorted(source_types.STANDARD))
def test_svix_library_signs_for_every_standard_webhooks_type(source_type: str) -> None:
    at = datetime.now(tz=UTC)
    headers = {
        "svix-id": "msg_lib_1",
        "svix-timestamp": str(int(at.timestamp())),
        "svix-signature": svix.webhooks.Webhook(WHSEC).sign("msg_lib_1", at, BODY),
    }
    accepted, tampered = _verdicts(source_type, WHSEC, headers)
    assert isinstance(accepted, Accepted)
    assert accepted.event_id == "msg_lib_1"
    assert isinstance(tampered, Refused)


def test_stripe_library_signs_for_the_stripe_type() -> None:
    header = stripe.WebhookSignature.generate_signature_header(BODY, WHSEC, int(time.time()))  # type: ignore[attr-defined]
    accepted, tampered = _verdicts("stripe", WHSEC, {"Stripe-Signature": str(header)})
    assert isinstance(accepted, Accepted)
    assert accepted.event_id == "evt_1"
    assert isinstance(tampered, Refused)


def test_slack_sdk_signs_for_the_slack_type() -> None:
    ts = str(int(time.time()))
    signature = SignatureVerifier("slack-signing-secret").generate_signature(
        timestamp=ts, body=BODY
    )
    headers = {"X-Slack-Signature": str(signature), "X-Slack-Request-Timestamp": ts}
    accepted, tampered = _verdicts("slack", "slack-signing-secret", headers)
    assert isinstance(accepted, Accepted)
    assert isinstance(tampered, Refused)
