from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import pytest
import standardwebhooks.webhooks
import svix.webhooks

from hookgate.core.signing import (
    InvalidSecret,
    generate_secret,
    parse_secret,
    prepared_key,
    prepared_webhook_headers,
    sign,
    sign_prepared,
    signature_header,
    webhook_headers,
)
from hookgate.delivery.signer import Signer

Verifier = Callable[[str, bytes, dict[str, str]], None]

MSG_ID = "msg_2fX0aBcDeFgHiJkLmNoPqRsTuVw"
BODY = b'{"type":"invoice.paid","data":{"id":"in_1","amount":1200}}'


def _verify_std(secret: str, body: bytes, headers: dict[str, str]) -> None:
    standardwebhooks.webhooks.Webhook(secret).verify(body, headers)


def _verify_svix(secret: str, body: bytes, headers: dict[str, str]) -> None:
    svix.webhooks.Webhook(secret).verify(body, headers)


VERIFIERS = [
    pytest.param(_verify_std, id="standardwebhooks"),
    pytest.param(_verify_svix, id="svix"),
]
VerificationError = (
    standardwebhooks.webhooks.WebhookVerificationError,
    svix.webhooks.WebhookVerificationError,
)


def _headers(secrets: list[str], body: bytes = BODY, msg_id: str = MSG_ID) -> dict[str, str]:
    keys = [parse_secret(s) for s in secrets]
    return webhook_headers(msg_id, int(time.time()), body, keys)


def test_matches_the_published_standard_webhooks_example() -> None:
    key = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    signature = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize("verify", VERIFIERS)
def test_official_libraries_verify_our_headers(verify: Verifier) -> None:
    secret = generate_secret()
    verify(secret, BODY, _headers([secret]))


def test_headers_carry_both_naming_schemes() -> None:
    secret = generate_secret()
    headers = webhook_headers(MSG_ID, 1700000000, BODY, [parse_secret(secret)])
    assert headers["webhook-id"] == headers["svix-id"] == MSG_ID
    assert headers["webhook-timestamp"] == headers["svix-timestamp"] == "1700000000"
    assert headers["webhook-signature"] == headers["svix-signature"]
    assert headers["webhook-signature"].startswith("v1,")


def test_old_svix_receivers_verify_with_only_svix_headers() -> None:
    secret = generate_secret()
    headers = {k: v for k, v in _headers([secret]).items() if k.startswith("svix-")}
    _verify_svix(secret, BODY, headers)


@pytest.mark.parametrize("verify", VERIFIERS)
def test_during_rotation_each_key_alone_verifies(verify: Verifier) -> None:
    old, new, unrelated = generate_secret(), generate_secret(32), generate_secret(64)
    headers = _headers([old, new])
    assert len(headers["webhook-signature"].split(" ")) == 2
    verify(old, BODY, headers)
    verify(new, BODY, headers)
    with pytest.raises(VerificationError):
        verify(unrelated, BODY, headers)


@pytest.mark.parametrize("verify", VERIFIERS)
def test_any_changed_byte_fails_verification(verify: Verifier) -> None:
    secret = generate_secret()
    headers = _headers([secret])
    with pytest.raises(VerificationError):
        verify(secret, BODY.replace(b"1200", b"1201"), headers)
    with pytest.raises(VerificationError):
        verify(secret, BODY, {**headers, "webhook-id": "msg_other", "svix-id": "msg_other"})
    ts = str(int(headers["webhook-timestamp"]) - 1)
    with pytest.raises(VerificationError):
        verify(secret, BODY, {**headers, "webhook-timestamp": ts, "svix-timestamp": ts})


@pytest.mark.parametrize("verify", VERIFIERS)
def test_exact_body_bytes_are_signed(verify: Verifier) -> None:
    secret = generate_secret()
    body = '{ "name": "Zoë 東京 🎉",\n\t"note": "  trailing  " }\n'.encode()
    headers = _headers([secret], body=body)
    verify(secret, body, headers)
    reserialized = json.dumps(json.loads(body)).encode()
    with pytest.raises(VerificationError):
        verify(secret, reserialized, headers)


def test_prepared_keys_sign_exactly_like_raw_keys_and_stay_reusable() -> None:
    key = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    prepared = prepared_key(key)
    for _ in range(2):  # the prepared key is not consumed by signing
        signature = sign_prepared(
            prepared, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
        )
        assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    keys = [parse_secret(generate_secret()), parse_secret(generate_secret(64))]
    prepared_keys = [prepared_key(k) for k in keys]
    for body in (BODY, b"", b"other"):
        assert prepared_webhook_headers(MSG_ID, 1700000000, body, prepared_keys) == (
            webhook_headers(MSG_ID, 1700000000, body, keys)
        )
    with pytest.raises(ValueError, match="at least one"):
        prepared_webhook_headers(MSG_ID, 1700000000, BODY, [])


@pytest.mark.parametrize("verify", VERIFIERS)
def test_signer_headers_match_webhook_headers_and_verify(verify: Verifier) -> None:
    signer = Signer()
    old, new = generate_secret(), generate_secret(32)
    keys = [parse_secret(old), parse_secret(new)]
    ts = int(time.time())
    for body in (BODY, b'{"second": "message"}'):  # the second one uses cached keys
        headers = signer.headers(MSG_ID, ts, body, [old, new])
        assert headers == webhook_headers(MSG_ID, ts, body, keys)
        verify(old, body, headers)
        verify(new, body, headers)
    with pytest.raises(InvalidSecret):
        signer.headers(MSG_ID, ts, BODY, ["not-a-secret"])


def test_signature_header_requires_a_key() -> None:
    with pytest.raises(ValueError, match="at least one"):
        signature_header([], MSG_ID, 1700000000, BODY)


@pytest.mark.parametrize("nbytes", [24, 32, 64])
def test_generated_secrets_round_trip(nbytes: int) -> None:
    secret = generate_secret(nbytes)
    assert secret.startswith("whsec_")
    assert len(parse_secret(secret)) == nbytes
    assert generate_secret(nbytes) != secret


@pytest.mark.parametrize("nbytes", [0, 23, 65])
def test_generate_secret_refuses_sizes_parse_secret_would_reject(nbytes: int) -> None:
    with pytest.raises(ValueError, match="between 24 and 64"):
        generate_secret(nbytes)


def test_parse_secret_accepts_unpadded_base64() -> None:
    raw = bytes(range(25))
    encoded = base64.b64encode(raw).decode().rstrip("=")
    assert parse_secret("whsec_" + encoded) == raw


def _b64(n: int) -> str:
    return base64.b64encode(b"k" * n).decode()


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (_b64(24), "secret must start with 'whsec_'"),
        ("WHSEC_" + _b64(24), "secret must start with 'whsec_'"),
        ("whsec_" + "not base64!" * 4, "secret is not valid base64"),
        ("whsec_" + _b64(24).replace("a", "-"), "secret is not valid base64"),
        ("whsec_" + _b64(24) + "A", "secret is not valid base64"),
        ("whsec_" + _b64(10), "secret must decode to 24-75 bytes, got 10"),
        ("whsec_" + _b64(23), "secret must decode to 24-75 bytes, got 23"),
        ("whsec_" + _b64(76), "secret must decode to 24-75 bytes, got 76"),
        ("whsec_", "secret must decode to 24-75 bytes, got 0"),
    ],
)
def test_parse_secret_explains_what_is_wrong(secret: str, message: str) -> None:
    with pytest.raises(InvalidSecret) as info:
        parse_secret(secret)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)
