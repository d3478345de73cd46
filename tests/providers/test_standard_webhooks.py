"""Standard Webhooks / Svix: signatures from the ``standardwebhooks`` and
``svix`` libraries, on both header families, with rotation."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import standardwebhooks.webhooks
import svix.webhooks

from hookgate.core.signing import generate_secret
from hookgate.receive import BadSignature, MissingHeader, StaleTimestamp, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = '{"type":"invoice.paid","data":{"amount":1200,"note":"ü"}}'
MSG_ID = "msg_2fX0aBcDeFgHiJkLmNoPqRsTuVw"

Signer = Callable[[str, str, datetime, str], str]


def _std(secret: str, msg_id: str, ts: datetime, body: str) -> str:
    return standardwebhooks.webhooks.Webhook(secret).sign(msg_id, ts, body)


def _svix(secret: str, msg_id: str, ts: datetime, body: str) -> str:
    return svix.webhooks.Webhook(secret).sign(msg_id, ts, body)


SIGNERS = [pytest.param(_std, id="standardwebhooks"), pytest.param(_svix, id="svix")]
FAMILIES = ["webhook", "svix"]
PRESETS = ["standard_webhooks", "svix"]


def _headers(sign: Signer, family: str, secret: str, age: float = 0) -> dict[str, str]:
    ts = datetime.fromtimestamp(int(time.time() - age), tz=UTC)
    return {
        f"{family}-id": MSG_ID,
        f"{family}-timestamp": str(int(ts.timestamp())),
        f"{family}-signature": sign(secret, MSG_ID, ts, BODY),
    }


@pytest.mark.parametrize("sign", SIGNERS)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("preset", PRESETS)
def test_accepts_library_signatures(sign: Signer, family: str, preset: str) -> None:
    event = verify(preset, BODY.encode(), _headers(sign, family, SECRET), SECRET)
    assert (event.id, event.type) == (MSG_ID, "invoice.paid")


@pytest.mark.parametrize("sign", SIGNERS)
def test_rejections(sign: Signer) -> None:
    body = BODY.encode()
    headers = _headers(sign, "webhook", SECRET)
    with pytest.raises(BadSignature):
        verify("standard_webhooks", body.replace(b"1200", b"1201"), headers, SECRET)
    other = generate_secret()
    with pytest.raises(BadSignature):
        verify("standard_webhooks", body, _headers(sign, "webhook", other), SECRET)
    with pytest.raises(StaleTimestamp):
        verify("standard_webhooks", body, _headers(sign, "webhook", SECRET, age=301), SECRET)
    with pytest.raises(StaleTimestamp):
        verify("standard_webhooks", body, _headers(sign, "webhook", SECRET, age=-301), SECRET)
    without_id = {k: v for k, v in headers.items() if k != "webhook-id"}
    with pytest.raises(MissingHeader, match="webhook-id"):
        verify("standard_webhooks", body, without_id, SECRET)


@pytest.mark.parametrize("sign", SIGNERS)
def test_rotation_signature_lists_and_secret_lists(sign: Signer) -> None:
    new = generate_secret()
    headers = _headers(sign, "webhook", SECRET)
    extra = _headers(sign, "webhook", new)["webhook-signature"]
    headers["webhook-signature"] = f"{extra} v1a,ignored {headers['webhook-signature']}"
    assert verify("standard_webhooks", BODY.encode(), headers, SECRET).verified.secret_index == 0
    event = verify(
        "standard_webhooks", BODY.encode(), _headers(sign, "webhook", new), [SECRET, new]
    )
    assert event.verified.secret_index == 1


def test_what_hookgate_sends_verifies_with_both_libraries_and_with_us() -> None:
    """Our outbound signer and inbound verifier agree with the references."""
    from hookgate.core.signing import parse_secret, webhook_headers

    headers = webhook_headers(MSG_ID, int(time.time()), BODY.encode(), [parse_secret(SECRET)])
    standardwebhooks.webhooks.Webhook(SECRET).verify(BODY, headers)
    svix.webhooks.Webhook(SECRET).verify(BODY, headers)
    verify("svix", BODY.encode(), headers, SECRET)
