"""Every Svix Ingest source type the official SDK knows: verified with its
provider's documented scheme through the receive core, or refused naming it.

Each signer below follows the provider's published algorithm independently
of ``core.verify`` (Standard Webhooks types use the ``standardwebhooks``
library); a request it signs is accepted, the same request with one body
byte changed is refused.
"""

from __future__ import annotations

import base64
import hmac
import typing
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import standardwebhooks
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from svix.models.ingest_source_in import IngestSourceIn

from hookgate.core.verify import PRESETS, Accepted, Decision, Refused, decide
from hookgate.inbound import config as source_config
from hookgate.inbound import source_types

NOW = 1_767_225_600
BODY = b'{"id": "evt_1", "type": "thing.happened",  "data": {"id": "d_1", "x": "\\u00e9"}}\n'
URL = "https://hooks.example.com/in/src_1"
WHSEC = "whsec_" + base64.b64encode(b"k" * 32).decode()
PLAIN = "shh-a-shared-secret"
ADOBE_ID = "CBJCHBCAABAA"
_TELNYX_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
TELNYX_PUBLIC = base64.b64encode(
    _TELNYX_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
).decode()

Signer = Callable[[bytes], dict[str, str]]


def _mac(key: str, message: bytes, digest: str = "sha256") -> bytes:
    return hmac.new(key.encode(), message, digest).digest()


def _hex(key: str, message: bytes, digest: str = "sha256") -> str:
    return _mac(key, message, digest).hex()


def _b64(key: str, message: bytes) -> str:
    return base64.b64encode(_mac(key, message)).decode()


def _standard(body: bytes) -> dict[str, str]:
    wh = standardwebhooks.Webhook(WHSEC)
    at = datetime.fromtimestamp(NOW, UTC)
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(NOW),
        "webhook-signature": wh.sign("msg_1", at, body.decode()),
    }


def _telnyx(body: bytes) -> dict[str, str]:
    signature = _TELNYX_KEY.sign(f"{NOW}|".encode() + body)
    return {
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        "telnyx-timestamp": str(NOW),
    }


T = str(NOW)
#: type -> (config as the SDK sends it, signer following the provider's docs)
SIGNED: dict[str, tuple[dict[str, str], Signer]] = {
    "github": ({"secret": PLAIN}, lambda b: {"X-Hub-Signature-256": "sha256=" + _hex(PLAIN, b)}),
    "stripe": (
        {"secret": WHSEC},
        lambda b: {"Stripe-Signature": f"t={T},v1=" + _hex(WHSEC, f"{T}.".encode() + b)},
    ),
    "shopify": ({"secret": PLAIN}, lambda b: {"X-Shopify-Hmac-Sha256": _b64(PLAIN, b)}),
    "slack": (
        {"secret": PLAIN},
        lambda b: {
            "X-Slack-Signature": "v0=" + _hex(PLAIN, f"v0:{T}:".encode() + b),
            "X-Slack-Request-Timestamp": T,
        },
    ),
    "meta": (
        {"secret": PLAIN, "verifyToken": "vt"},
        lambda b: {"X-Hub-Signature-256": "sha256=" + _hex(PLAIN, b)},
    ),
    "zoom": (
        {"secret": PLAIN},
        lambda b: {
            "x-zm-signature": "v0=" + _hex(PLAIN, f"v0:{T}:".encode() + b),
            "x-zm-request-timestamp": T,
        },
    ),
    "segment": ({"secret": PLAIN}, lambda b: {"X-Signature": _hex(PLAIN, b, "sha1")}),
    "veriff": ({"secret": PLAIN}, lambda b: {"X-HMAC-SIGNATURE": _hex(PLAIN, b)}),
    "docusign": ({"secret": PLAIN}, lambda b: {"X-DocuSign-Signature-1": _b64(PLAIN, b)}),
    "nango": ({"secret": PLAIN}, lambda b: {"X-Nango-Hmac-Sha256": _hex(PLAIN, b)}),
    "port-io": (
        {"secret": PLAIN},
        lambda b: {
            "x-port-signature": "v1," + _b64(PLAIN, f"{T}.".encode() + b),
            "x-port-timestamp": T,
        },
    ),
    "tailscale": (
        {"secret": PLAIN},
        lambda b: {"Tailscale-Webhook-Signature": f"t={T},v1=" + _hex(PLAIN, f"{T}.".encode() + b)},
    ),
    "airwallex": (
        {"secret": PLAIN},
        lambda b: {"x-timestamp": T + "123", "x-signature": _hex(PLAIN, (T + "123").encode() + b)},
    ),
    "easypost": (
        {"secret": PLAIN},
        lambda b: {"X-Hmac-Signature": "hmac-sha256-hex=" + _hex(PLAIN, b)},
    ),
    "merge": (
        {"secret": PLAIN},
        lambda b: {
            "X-Merge-Webhook-Signature": base64.urlsafe_b64encode(_mac(PLAIN, b))
            .decode()
            .rstrip("=")
        },
    ),
    "vapi": ({"secret": PLAIN}, lambda b: {"X-Vapi-Secret": PLAIN}),
    "adobe-sign": (
        {"clientId": "CBJCHBCAABAA"},
        lambda b: {"X-AdobeSign-ClientId": "CBJCHBCAABAA"},
    ),
    "telnyx": ({"publicKey": TELNYX_PUBLIC}, _telnyx),
    "checkbook": (
        {"secret": PLAIN},
        lambda b: {"signature": "nonce=1243549809,signature=" + _hex(PLAIN, b + b"1243549809")},
    ),
    "rutter": (
        {"secret": PLAIN},
        lambda b: {"X-Rutter-Signature": "sha256=" + _b64(PLAIN, b)},
    ),
    "openclaw": ({"secret": PLAIN}, lambda b: {"Authorization": "Bearer " + PLAIN}),
}
#: Types whose signature is in the URL: type -> (config, signer returning the URL).
QUERY_SIGNED: dict[str, tuple[dict[str, str], Callable[[bytes], str]]] = {
    "panda-doc": ({"secret": PLAIN}, lambda b: f"{URL}?x=1&signature={_hex(PLAIN, b)}"),
}
STANDARD = sorted(source_types.STANDARD)
#: Types verified by a shared credential, not a signature of the body.
CREDENTIAL_ONLY = {"vapi", "adobe-sign", "openclaw"}


def _sdk_types() -> list[str]:
    annotation = IngestSourceIn.model_fields["type"].annotation
    return [typing.get_args(arm)[0] for arm in typing.get_args(annotation)]


def _decide(
    source_type: str,
    config: dict[str, str],
    body: bytes,
    headers: dict[str, str],
    url: str = URL,
) -> Decision:
    scheme, stored = source_config.parse(source_type, config)
    assert scheme in PRESETS
    return decide(PRESETS[scheme], stored["secrets"], body=body, headers=headers, url=url, now=NOW)


def test_every_sdk_type_is_verified_or_refused() -> None:
    known = {*SIGNED, *QUERY_SIGNED, *STANDARD, *source_config.REFUSED, source_config.GENERIC}
    assert set(_sdk_types()) - known == set()
    for name in _sdk_types():
        assert (name in source_config.REFUSED) != (source_config.scheme_of(name) is not None)


@pytest.mark.parametrize("source_type", sorted(SIGNED))
def test_signed_request_is_accepted_and_tampered_refused(source_type: str) -> None:
    config, sign = SIGNED[source_type]
    headers = sign(BODY)
    accepted = _decide(source_type, config, BODY, headers)
    assert isinstance(accepted, Accepted)
    assert accepted.verified is not None
    tampered = BODY.replace(b"d_1", b"d_2")
    refused = _decide(source_type, config, tampered, headers)
    if source_type in CREDENTIAL_ONLY:
        # A shared credential proves the sender, not the body: a wrong one is refused.
        refused = _decide(source_type, config, BODY, {k: v + "x" for k, v in headers.items()})
    assert isinstance(refused, Refused)
    assert refused.status == 401


@pytest.mark.parametrize("source_type", STANDARD)
def test_standard_webhooks_types(source_type: str) -> None:
    headers = _standard(BODY)
    accepted = _decide(source_type, {"secret": WHSEC}, BODY, headers)
    assert isinstance(accepted, Accepted)
    assert accepted.event_id == "msg_1"
    refused = _decide(source_type, {"secret": WHSEC}, BODY + b" ", headers)
    assert isinstance(refused, Refused)
    assert refused.code == "bad_signature"


def test_telnyx_rejects_another_key_and_stale_timestamps() -> None:
    other = base64.b64encode(
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode()
    refused = _decide("telnyx", {"publicKey": other}, BODY, _telnyx(BODY))
    assert isinstance(refused, Refused)
    assert refused.code == "bad_signature"
    scheme, stored = source_config.parse("telnyx", {"public_key": TELNYX_PUBLIC})
    late = decide(
        PRESETS[scheme], stored["secrets"], body=BODY, headers=_telnyx(BODY), now=NOW + 301
    )
    assert isinstance(late, Refused)
    assert late.code == "stale_timestamp"


def test_telnyx_public_key_must_be_an_ed25519_key() -> None:
    with pytest.raises(source_config.ConfigError, match="32 bytes"):
        source_config.parse("telnyx", {"publicKey": base64.b64encode(b"short").decode()})
    with pytest.raises(source_config.ConfigError, match="telnyx source needs"):
        source_config.parse("telnyx", {})


def test_adobe_sign_answers_with_its_client_id_and_accepts_the_get_check() -> None:
    _, stored = source_config.parse("adobe-sign", {"clientId": "CBJCHBCAABAA"})
    assert stored["response"]["headers"]["X-AdobeSign-ClientId"] == "CBJCHBCAABAA"
    assert stored["allowed_methods"] == ["GET", "POST"]


@pytest.mark.parametrize("source_type", sorted(source_config.REFUSED))
def test_refused_types_name_themselves(source_type: str) -> None:
    with pytest.raises(source_config.ConfigError, match=f"source type '{source_type}'"):
        source_config.parse(source_type, {"secret": PLAIN})


def test_unknown_type_is_refused_even_with_a_whsec_secret() -> None:
    with pytest.raises(source_config.ConfigError, match="'acme-hooks' is not a known"):
        source_config.parse("acme-hooks", {"secret": WHSEC})


def test_tailscale_grace_period_is_refused_not_ignored() -> None:
    with pytest.raises(source_config.ConfigError, match="timestampGraceSeconds"):
        source_config.parse("tailscale", {"secret": PLAIN, "timestampGraceSeconds": 60})


def test_merge_signature_with_padding_is_accepted() -> None:
    padded = base64.urlsafe_b64encode(_mac(PLAIN, BODY)).decode()
    assert padded.endswith("=")
    accepted = _decide("merge", {"secret": PLAIN}, BODY, {"X-Merge-Webhook-Signature": padded})
    assert isinstance(accepted, Accepted)


def test_telnyx_public_key_is_shown_but_secrets_are_not() -> None:
    _, stored = source_config.parse("telnyx", {"publicKey": TELNYX_PUBLIC})
    assert source_config.public_config(stored)["publicKey"] == TELNYX_PUBLIC
    _, stored = source_config.parse("nango", {"secret": PLAIN})
    assert PLAIN not in str(source_config.public_config(stored))


def test_checkbook_published_example_verifies() -> None:
    # The example in Checkbook's webhook documentation (docs.checkbook.io).
    body = b'{"status": "PAID", "id": "ed0af5fb335c47dd8eb53199ba50f5c4", "type": "CHECK"}'
    signature = "4ee9758fc0bceb3ca1a2fe397fbd125364cfffdb04296fa118dab9778a4b3ce3"
    headers = {"Signature": f"nonce=1243549809,signature={signature}"}
    config = {"secret": "335b5728e25b47e88995fce207bff380"}
    accepted = _decide("checkbook", config, body, headers)
    assert isinstance(accepted, Accepted)
    assert (accepted.event_id, accepted.event_type) == ("ed0af5fb335c47dd8eb53199ba50f5c4", "CHECK")
    refused = _decide("checkbook", config, body.replace(b"PAID", b"VOID"), headers)
    assert isinstance(refused, Refused)


def test_openclaw_token_may_come_in_its_own_header() -> None:
    accepted = _decide("openclaw", {"secret": PLAIN}, BODY, {"x-openclaw-token": PLAIN})
    assert isinstance(accepted, Accepted)
    refused = _decide("openclaw", {"secret": PLAIN}, BODY, {"x-openclaw-token": "nope"})
    assert isinstance(refused, Refused)
    assert refused.code == "wrong_credentials"


@pytest.mark.parametrize("source_type", sorted(QUERY_SIGNED))
def test_signature_in_the_url_is_accepted_and_tampered_refused(source_type: str) -> None:
    config, sign = QUERY_SIGNED[source_type]
    url = sign(BODY)
    assert isinstance(_decide(source_type, config, BODY, {}, url), Accepted)
    refused = _decide(source_type, config, BODY.replace(b"d_1", b"d_2"), {}, url)
    assert isinstance(refused, Refused)
    assert refused.code == "bad_signature"
    unsigned = _decide(source_type, config, BODY, {}, URL)
    assert isinstance(unsigned, Refused)
    assert "no signature query parameter" in unsigned.detail


def test_docusign_accepts_the_signature_of_any_active_key() -> None:
    headers = {
        "X-DocuSign-Signature-1": _b64("another-connect-key", BODY),
        "X-DocuSign-Signature-2": _b64(PLAIN, BODY),
    }
    assert isinstance(_decide("docusign", {"secret": PLAIN}, BODY, headers), Accepted)
    refused = _decide("docusign", {"secret": "a-third-key"}, BODY, headers)
    assert isinstance(refused, Refused)
    assert refused.code == "bad_signature"


def test_signature_in_the_url_needs_the_url() -> None:
    scheme, stored = source_config.parse("panda-doc", {"secret": PLAIN})
    refused = decide(PRESETS[scheme], stored["secrets"], body=BODY, headers={}, now=NOW)
    assert isinstance(refused, Refused)
    assert refused.status == 500
    assert "needs the URL the provider called" in refused.detail
