"""The reason stored for a refused request says what went wrong and, for a bad
signature, which change to the body or URL explains it (requests signed here
with the stdlib, then altered the way relays and proxies alter them)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import json
import types
from urllib.parse import urlencode

import pytest

from hookgate.core.verify import PRESETS, Refused, decide
from hookgate.core.verify.diagnose import MAX_SECRETS

NOW = 1_700_000_000
SECRET = "It's a Secret to Everybody"
BODY = b'{"action": "opened", "number": 7, "title": "caf\xc3\xa9"}'
PRETTY = json.dumps({"id": "evt_1", "type": "invoice.paid", "n": [1, 2]}, indent=2).encode()


def _github(body: bytes, secret: str = SECRET) -> dict[str, str]:
    sig = hmac.new(secret.encode(), body, "sha256").hexdigest()
    return {"X-Hub-Signature-256": f"sha256={sig}", "Content-Type": "application/json"}


def _stripe(body: bytes, ts: int = NOW, secret: str = "whsec_test") -> dict[str, str]:
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, "sha256").hexdigest()
    return {"Stripe-Signature": f"t={ts},v1={sig}"}


def _refused(provider: str, body: bytes, headers: dict[str, str], **kw: object) -> Refused:
    secrets = kw.pop("secrets", [SECRET])
    decision = decide(PRESETS[provider], secrets, body=body, headers=headers, now=NOW, **kw)  # type: ignore[arg-type]
    assert isinstance(decision, Refused), decision
    return decision


def test_missing_header_names_it_and_lists_what_came() -> None:
    refused = _refused("github", BODY, {"X-Gitlab-Token": "t", "Content-Type": "text/plain"})
    assert refused.detail == "missing header X-Hub-Signature-256 or X-Hub-Signature"
    assert "content-type, x-gitlab-token" in refused.diagnosis
    assert refused.reason.startswith(refused.detail + "; ")


def test_malformed_header_says_how_and_shows_the_start() -> None:
    refused = _refused("github", BODY, {"X-Hub-Signature-256": "md5=abcdef0123456789"})
    assert "expected the value to start with 'sha256='" in refused.detail
    assert "'md5=abcdef01'" in refused.diagnosis


@pytest.mark.parametrize(
    ("ts", "text", "cause"),
    [
        (NOW - 412, "signed 412 s ago, tolerance 300 s", "replayed"),
        (NOW + 90 + 300, "signed 390 s in the future, tolerance 300 s", "clock"),
    ],
)
def test_stale_timestamp_says_by_how_much_and_which_way(ts: int, text: str, cause: str) -> None:
    body = b'{"type":"x"}'
    refused = _refused("slack", body, _slack(body, ts))
    assert refused.code == "stale_timestamp"
    assert text in refused.detail
    assert cause in refused.diagnosis


def _slack(body: bytes, ts: int) -> dict[str, str]:
    sig = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, "sha256").hexdigest()
    return {"X-Slack-Signature": f"v0={sig}", "X-Slack-Request-Timestamp": str(ts)}


def test_wrong_secret_is_told_apart_and_shows_only_prefixes() -> None:
    refused = _refused("github", BODY, _github(BODY, "another secret"))
    assert refused.code == "bad_signature"
    assert "no secret of this source produces this signature" in refused.diagnosis
    assert "the secret is wrong or the body was changed" in refused.diagnosis
    received = _github(BODY, "another secret")["X-Hub-Signature-256"][7:]
    expected = _github(BODY)["X-Hub-Signature-256"][7:]
    assert f"received {received[:7]}..." in refused.diagnosis
    assert f"secret #1 gives {expected[:7]}..." in refused.diagnosis
    assert received[:8] not in refused.reason
    assert expected[:8] not in refused.reason
    assert SECRET not in refused.reason


@pytest.mark.parametrize(
    ("signed", "received", "explanation"),
    [
        (
            BODY,
            BODY + b"\n",
            "the body with its trailing newline removed: something between"
            " the provider and Hookgate added one",
        ),
        (
            BODY + b"\n",
            BODY,
            "the body with a trailing newline added: something between"
            " the provider and Hookgate removed it",
        ),
        (PRETTY, PRETTY.replace(b"\n", b"\r\n"), "the body with LF line endings"),
        (PRETTY.replace(b"\n", b"\r\n"), PRETTY, "the body with CRLF line endings"),
        (
            PRETTY,
            json.dumps(json.loads(PRETTY)).encode(),
            "the body re-serialised as JSON indented by 2 spaces: the JSON was re-serialised",
        ),
        (
            BODY,
            json.dumps(json.loads(BODY), separators=(",", ":")).encode(),
            "the body re-serialised as JSON with a space after each , and :",
        ),
        (
            b'{"a":2,"b":1}',
            b'{"b": 1, "a": 2}',
            "the body re-serialised as compact JSON with sorted keys",
        ),
        (b'{"t":"caf\\u00e9"}', '{"t":"café"}'.encode(), "compact JSON with \\u escapes"),
    ],
)
def test_changed_body_is_named(signed: bytes, received: bytes, explanation: str) -> None:
    refused = _refused("github", received, _github(signed))
    assert refused.diagnosis.startswith("the signature matches ")
    assert explanation in refused.diagnosis


def test_changed_body_under_a_timestamped_scheme() -> None:
    body = b'{"id":"evt_1","object":"event"}'
    refused = _refused("stripe", body + b"\n", _stripe(body), secrets=["whsec_test"])
    assert "trailing newline removed" in refused.diagnosis


def test_second_secret_is_named_when_several() -> None:
    refused = _refused("github", BODY + b"\n", _github(BODY), secrets=["old", SECRET])
    assert "under secret #2" in refused.diagnosis


def test_only_the_first_secrets_are_tried() -> None:
    secrets = [f"s{i}" for i in range(MAX_SECRETS)] + [SECRET]
    refused = _refused("github", BODY + b"\n", _github(BODY), secrets=secrets)
    assert f"the first {MAX_SECRETS} tried" in refused.diagnosis


def _twilio(url: str, params: dict[str, str], secret: str = SECRET) -> dict[str, str]:
    signed = url + "".join(k + params[k] for k in sorted(params))
    sig = base64.b64encode(hmac.new(secret.encode(), signed.encode(), "sha1").digest())
    return {
        "X-Twilio-Signature": sig.decode(),
        "Content-Type": "application/x-www-form-urlencoded",
    }


PARAMS = {"AccountSid": "AC1", "Body": "hello", "From": "+15550001"}


@pytest.mark.parametrize(
    ("signed_url", "used_url"),
    [
        ("https://hooks.example.com/in/tw", "http://hooks.example.com/in/tw"),
        ("https://hooks.example.com/in/tw/", "https://hooks.example.com/in/tw"),
        ("http://hooks.example.com:8080/in/tw", "https://hooks.example.com:8080/in/tw"),
    ],
)
def test_twilio_different_url_is_shown(signed_url: str, used_url: str) -> None:
    body = urlencode(PARAMS).encode()
    refused = _refused("twilio", body, _twilio(signed_url, PARAMS), url=used_url)
    assert f"the signature matches the URL {signed_url} (we used {used_url})" in refused.reason
    assert "the provider signs a different URL" in refused.reason


def test_twilio_no_variant_names_the_url_used() -> None:
    body = urlencode(PARAMS).encode()
    used = "https://hooks.example.com/in/tw"
    refused = _refused("twilio", body, _twilio("https://elsewhere.example/x", PARAMS), url=used)
    assert f"for the URL we used ({used})" in refused.diagnosis
    assert "the provider signs a different URL" in refused.diagnosis


def test_twilio_json_body_changed_after_hashing() -> None:
    body = b'{"a": 1}'
    url = "https://h.example/in/tw?bodySHA256=" + hashlib.sha256(body).hexdigest()
    headers = _twilio(url, {}) | {"Content-Type": "application/json"}
    refused = _refused("twilio", body + b"\n", headers, url=url)
    assert "the URL's bodySHA256 is the SHA-256 of the body with its trailing newline" in (
        refused.diagnosis
    )


def test_accepted_requests_are_not_diagnosed(monkeypatch: pytest.MonkeyPatch) -> None:
    decide_module = importlib.import_module("hookgate.core.verify.decide")

    def boom(*args: object, **kwargs: object) -> str:
        raise AssertionError("diagnosed an accepted request")

    monkeypatch.setattr(decide_module, "diagnose", boom)
    decision = decide(PRESETS["github"], [SECRET], body=BODY, headers=_github(BODY), now=NOW)
    assert not isinstance(decision, Refused)


def test_token_schemes_get_no_signature_diagnosis() -> None:
    refused = _refused("gitlab", BODY, {"X-Gitlab-Token": "nope"})
    assert refused.code == "wrong_credentials"
    assert refused.diagnosis == ""
    assert "nope" not in refused.reason


def test_missing_header_names_the_provider_whose_header_came() -> None:
    refused = _refused("stripe", BODY, {"X-Gitlab-Token": "t"}, secrets=["whsec_x"])
    assert "the request carries the signature header of gitlab (X-Gitlab-Token)" in (
        refused.diagnosis
    )
    assert "is this source's provider set right?" in refused.diagnosis


def test_millisecond_timestamps_are_recognised() -> None:
    body = b'{"type":"x"}'
    refused = _refused("slack", body, _slack(body, NOW * 1000))
    assert refused.code == "stale_timestamp"
    assert "the timestamp looks like milliseconds" in refused.diagnosis


def test_standard_webhooks_secret_used_as_text_by_the_sender() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"type":"user.created"}'
    signed = b"msg_1." + str(NOW).encode() + b"." + body
    sig = base64.b64encode(hmac.new(secret.encode(), signed, "sha256").digest()).decode()
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(NOW),
        "webhook-signature": f"v1,{sig}",
    }
    refused = _refused("standard_webhooks", body, headers, secrets=[secret])
    assert "the signature matches with the text of secret as the HMAC key" in refused.diagnosis
    assert "does not base64-decode the secret" in refused.diagnosis


def test_telnyx_ed25519_body_changed_is_named() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    body = b'{"data":{"id":"e1","event_type":"call.initiated"}}'
    sig = base64.b64encode(private.sign(str(NOW).encode() + b"|" + body)).decode()
    headers = {"telnyx-signature-ed25519": sig, "telnyx-timestamp": str(NOW)}
    key = base64.b64encode(public).decode()
    refused = _refused("telnyx", body + b"\n", headers, secrets=[key])
    assert "the signature matches the body with its trailing newline removed" in (refused.diagnosis)
    other = base64.b64encode(
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode()
    wrong = _refused("telnyx", body, headers, secrets=[other])
    assert "no configured public key verifies this signature: the key is wrong" in (wrong.diagnosis)


def test_signature_in_the_query_string_pandadoc() -> None:
    body = b'[{"event":"document_state_changed"}]'
    sig = hmac.new(SECRET.encode(), body, "sha256").hexdigest()
    url = f"https://hooks.example.com/in/pd?signature={sig}"
    refused = _refused("panda-doc", body + b"\n", {}, url=url)
    assert "the signature matches the body with its trailing newline removed" in (refused.diagnosis)


def test_any_of_several_signature_headers_docusign() -> None:
    body = b'{"event":"envelope-sent"}'
    sig = base64.b64encode(hmac.new(SECRET.encode(), body, "sha256").digest()).decode()
    headers = {"X-DocuSign-Signature-1": "AAAA", "X-DocuSign-Signature-2": sig}
    refused = _refused("docusign", body + b"\n", headers)
    assert "the signature matches the body with its trailing newline removed" in (refused.diagnosis)


@pytest.mark.parametrize(
    ("signed_with", "configured", "explanation"),
    [
        ("whsec_abc", "abc", "with secret with a 'whsec_' prefix"),
        ("abc", "whsec_abc", "with secret without a 'whsec_' prefix"),
        ("abc", "abc\n", "without its surrounding whitespace"),
    ],
)
def test_secret_copied_slightly_wrong(signed_with: str, configured: str, explanation: str) -> None:
    body = b'{"id":"evt_1"}'
    refused = _refused("stripe", body, _stripe(body, secret=signed_with), secrets=[configured])
    assert explanation in refused.diagnosis
    assert configured.strip() not in refused.reason


def test_diagnosis_work_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten secrets and a body over ``MAX_BODY``: a few dozen HMACs at most."""
    diagnose_module = importlib.import_module("hookgate.core.verify.diagnose")
    calls: list[int] = []
    real_new = hmac.new

    def counting(key: bytes, msg: bytes, digestmod: str) -> hmac.HMAC:
        calls.append(len(msg))
        return real_new(key, msg, digestmod)

    only_here = types.SimpleNamespace(new=counting, compare_digest=hmac.compare_digest)
    monkeypatch.setattr(diagnose_module, "hmac", only_here)
    big = b'{"pad":"' + b"x" * diagnose_module.MAX_BODY + b'"}'
    secrets = [f"secret-{n}" for n in range(10)]
    refused = _refused("github", big, _github(big, "unknown"), secrets=secrets)
    assert "no secret of this source produces this signature" in refused.diagnosis
    assert len(calls) <= 4 * MAX_SECRETS
    small = _refused("github", BODY, _github(BODY, "unknown"), secrets=secrets)
    assert "no secret" in small.diagnosis
    assert len(calls) <= 4 * MAX_SECRETS + 16 * MAX_SECRETS
