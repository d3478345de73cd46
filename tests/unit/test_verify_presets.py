"""Every preset against requests signed here with the stdlib (independently of
the engine): accepts the genuine request, and rejects a changed byte, a wrong
secret, a stale timestamp and a missing header with the precise exception."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import pytest

from hookgate.core.verify import (
    PRESETS,
    BadSignature,
    MissingHeader,
    StaleTimestamp,
    VerificationError,
    Verified,
    WrongCredentials,
    verify,
)

NOW = 1_700_000_000
BODY = b'{"id":"evt_1","event_id":"ev_9","type":"invoice.paid","event_type":"x.y"}'
FORM_BODY = b"AccountSid=AC1&Body=hello+there&From=%2B15550001&To=%2B15550002"
URL = "https://hooks.example.com/in/src?x=1"
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
WHSEC_OTHER = "whsec_" + base64.b64encode(b"another secret of 24 bytes!").decode()

Headers = dict[str, str]


def _mac(key: bytes, msg: bytes, algo: str = "sha256") -> bytes:
    return hmac.new(key, msg, algo).digest()


def _hex(key: str, msg: bytes, algo: str = "sha256") -> str:
    return _mac(key.encode(), msg, algo).hex()


def _b64(key: bytes, msg: bytes, algo: str = "sha256") -> str:
    return base64.b64encode(_mac(key, msg, algo)).decode()


def _std_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def _github(secret: str, ts: int, body: bytes) -> Headers:
    return {"X-Hub-Signature-256": "sha256=" + _hex(secret, body), "X-GitHub-Delivery": "d-1"}


def _github_sha1(secret: str, ts: int, body: bytes) -> Headers:
    return {"X-Hub-Signature": "sha1=" + _hex(secret, body, "sha1"), "X-GitHub-Delivery": "d-1"}


def _stripe(secret: str, ts: int, body: bytes) -> Headers:
    return {"Stripe-Signature": f"t={ts},v1={_hex(secret, f'{ts}.'.encode() + body)}"}


def _shopify(secret: str, ts: int, body: bytes) -> Headers:
    return {"X-Shopify-Hmac-Sha256": _b64(secret.encode(), body), "X-Shopify-Webhook-Id": "w-1"}


def _slack(secret: str, ts: int, body: bytes) -> Headers:
    sig = "v0=" + _hex(secret, f"v0:{ts}:".encode() + body)
    return {"X-Slack-Signature": sig, "X-Slack-Request-Timestamp": str(ts)}


def _standard(prefix: str) -> Callable[[str, int, bytes], Headers]:
    def sign(secret: str, ts: int, body: bytes) -> Headers:
        sig = "v1," + _b64(_std_key(secret), f"msg_1.{ts}.".encode() + body)
        return {f"{prefix}-id": "msg_1", f"{prefix}-timestamp": str(ts), f"{prefix}-signature": sig}

    return sign


def _twilio(secret: str, ts: int, body: bytes) -> Headers:
    form = parse_qs(body.decode())
    content = URL + "".join(k + v for k in sorted(form) for v in sorted(form[k]))
    return {"X-Twilio-Signature": _b64(secret.encode(), content.encode(), "sha1")}


def _paddle(secret: str, ts: int, body: bytes) -> Headers:
    return {"Paddle-Signature": f"ts={ts};h1={_hex(secret, f'{ts}:'.encode() + body)}"}


def _gitlab(secret: str, ts: int, body: bytes) -> Headers:
    return {"X-Gitlab-Token": secret, "X-Gitlab-Event-UUID": "g-1"}


def _square(secret: str, ts: int, body: bytes) -> Headers:
    return {"x-square-hmacsha256-signature": _b64(secret.encode(), URL.encode() + body)}


def _generic(secret: str, ts: int, body: bytes) -> Headers:
    return {"X-Signature": _hex(secret, body)}


def _basic(secret: str, ts: int, body: bytes) -> Headers:
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}


def _token(secret: str, ts: int, body: bytes) -> Headers:
    return {"Authorization": "Bearer " + secret}


@dataclass(frozen=True)
class Case:
    preset: str
    sign: Callable[[str, int, bytes], Headers]
    missing: str
    secret: str = "s3cret-value"
    other_secret: str = "not-the-secret"
    body: bytes = BODY
    url: str | None = None
    form: bool = False
    stale: bool = False
    wrong: type[VerificationError] = BadSignature
    event_id: str | None = None
    extra: Headers = field(default_factory=dict)


CASES = [
    Case("github", _github, "X-Hub-Signature-256", event_id="d-1"),
    Case("github", _github_sha1, "X-Hub-Signature", event_id="d-1"),
    Case("stripe", _stripe, "Stripe-Signature", secret="whsec_abc", stale=True, event_id="evt_1"),
    Case("shopify", _shopify, "X-Shopify-Hmac-Sha256", event_id="w-1"),
    Case("slack", _slack, "X-Slack-Request-Timestamp", stale=True),
    Case("standard_webhooks", _standard("webhook"), "webhook-id", WHSEC, WHSEC_OTHER, stale=True),
    Case("standard_webhooks", _standard("svix"), "svix-timestamp", WHSEC, WHSEC_OTHER, stale=True),
    Case("svix", _standard("svix"), "svix-id", WHSEC, WHSEC_OTHER, stale=True, event_id="msg_1"),
    Case("twilio", _twilio, "X-Twilio-Signature", body=FORM_BODY, url=URL, form=True),
    Case("paddle", _paddle, "Paddle-Signature", stale=True, event_id="ev_9"),
    Case("gitlab", _gitlab, "X-Gitlab-Token", wrong=WrongCredentials, event_id="g-1"),
    Case("square", _square, "x-square-hmacsha256-signature", url=URL, event_id="ev_9"),
    Case("generic_hmac", _generic, "X-Signature"),
    Case("basic", _basic, "Authorization", "user:pw", "user:nope", wrong=WrongCredentials),
    Case("token", _token, "Authorization", wrong=WrongCredentials),
]
IDS = [f"{c.preset}-{c.missing}" for c in CASES]


def _run(case: Case, headers: Headers, body: bytes, secrets: list[str]) -> Verified:
    form = parse_qs(body.decode()) if case.form else None
    return verify(
        PRESETS[case.preset],
        body=body,
        headers=headers,
        secrets=secrets,
        now=NOW,
        url=case.url,
        form=form,
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_accepts_the_genuine_request(case: Case) -> None:
    headers = case.sign(case.secret, NOW - 2, case.body)
    verified = _run(case, headers, case.body, [case.secret])
    assert verified.secret_index == 0
    if case.event_id is not None:
        assert verified.event_id == case.event_id


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_header_names_are_case_insensitive(case: Case) -> None:
    headers = {k.upper(): v for k, v in case.sign(case.secret, NOW, case.body).items()}
    _run(case, headers, case.body, [case.secret])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_any_of_several_secrets_verifies(case: Case) -> None:
    headers = case.sign(case.secret, NOW, case.body)
    verified = _run(case, headers, case.body, [case.other_secret, case.secret])
    assert verified.secret_index == 1


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.wrong is BadSignature], ids=lambda c: f"{c.preset}-{c.missing}"
)
def test_rejects_a_changed_byte(case: Case) -> None:
    headers = case.sign(case.secret, NOW, case.body)
    tampered = case.body.replace(b"e", b"E", 1)
    with pytest.raises(BadSignature, match="matches the"):
        _run(case, headers, tampered, [case.secret])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rejects_a_wrong_secret(case: Case) -> None:
    headers = case.sign(case.other_secret, NOW, case.body)
    with pytest.raises(case.wrong) as info:
        _run(case, headers, case.body, [case.secret])
    assert case.secret not in str(info.value)
    assert case.other_secret not in str(info.value)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.stale], ids=lambda c: f"{c.preset}-{c.missing}"
)
def test_rejects_a_stale_timestamp(case: Case) -> None:
    tolerance = PRESETS[case.preset].tolerance
    assert tolerance is not None
    headers = case.sign(case.secret, NOW - int(tolerance) - 1, case.body)
    with pytest.raises(StaleTimestamp) as info:
        _run(case, headers, case.body, [case.secret])
    assert info.value.age == tolerance + 1
    assert info.value.tolerance == tolerance


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rejects_a_missing_header(case: Case) -> None:
    headers = case.sign(case.secret, NOW, case.body)
    headers = {k: v for k, v in headers.items() if k.lower() != case.missing.lower()}
    with pytest.raises(MissingHeader) as info:
        _run(case, headers, case.body, [case.secret])
    assert info.value.name.lower() == case.missing.lower() or case.preset in {
        "github",
        "standard_webhooks",
    }


def test_github_missing_both_headers_names_both() -> None:
    with pytest.raises(MissingHeader, match=r"X-Hub-Signature-256 or X-Hub-Signature$"):
        verify(PRESETS["github"], body=BODY, headers={}, secrets=["s"], now=NOW)


def test_github_published_example() -> None:
    body = b"Hello, World!"
    sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    verified = verify(
        PRESETS["github"],
        body=body,
        headers={"X-Hub-Signature-256": sig},
        secrets=["It's a Secret to Everybody"],
        now=NOW,
    )
    assert verified.scheme == "github"


def test_standard_webhooks_spec_example() -> None:
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    verified = verify(
        PRESETS["standard_webhooks"],
        body=b'{"test": 2432232314}',
        headers=headers,
        secrets=[WHSEC],
        now=1614265330,
    )
    assert verified.event_id == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    assert verified.timestamp == 1614265330


def test_standard_webhooks_rejects_future_timestamps_but_stripe_does_not() -> None:
    future = NOW + 1000
    std = _standard("webhook")(WHSEC, future, BODY)
    with pytest.raises(StaleTimestamp, match="1000 s in the future"):
        verify(PRESETS["standard_webhooks"], body=BODY, headers=std, secrets=[WHSEC], now=NOW)
    stripe = _stripe("whsec_x", future, BODY)
    verify(PRESETS["stripe"], body=BODY, headers=stripe, secrets=["whsec_x"], now=NOW)
