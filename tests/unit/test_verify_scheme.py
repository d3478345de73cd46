"""The scheme data model and the engine's edge cases: malformed headers,
caller mistakes, Twilio's JSON bodies and ports, event id/type location."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from hookgate.core.verify import (
    PRESETS,
    Algorithm,
    BadSignature,
    Encoding,
    FromHeader,
    FromJson,
    MalformedHeader,
    Method,
    Scheme,
    SignatureFormat,
    generic_hmac,
    locate,
    token_scheme,
    verify,
)

NOW = 1_700_000_000


def _hex(secret: str, msg: bytes) -> str:
    return hmac.new(secret.encode(), msg, "sha256").hexdigest()


@pytest.mark.parametrize(
    ("preset", "headers", "name", "why"),
    [
        ("github", {"X-Hub-Signature-256": "abc"}, "X-Hub-Signature-256", "start with 'sha256='"),
        ("github", {"X-Hub-Signature-256": "sha256=zz"}, "X-Hub-Signature-256", "not valid hex"),
        ("stripe", {"Stripe-Signature": "v1=abcd"}, "Stripe-Signature", "no t=<timestamp>"),
        ("stripe", {"Stripe-Signature": "t=1,v0=ab"}, "Stripe-Signature", "no v1=<signature>"),
        ("stripe", {"Stripe-Signature": "t=x,v1=ab"}, "Stripe-Signature", "not an integer"),
        ("paddle", {"Paddle-Signature": "ts=1;h1=q"}, "Paddle-Signature", "no h1 signature is"),
        (
            "slack",
            {"X-Slack-Signature": "v0=ab", "X-Slack-Request-Timestamp": "soon"},
            "X-Slack-Request-Timestamp",
            "not an integer",
        ),
        ("token", {"Authorization": "Basic abc"}, "Authorization", "start with 'Bearer '"),
        ("basic", {"Authorization": "Basic !!"}, "Authorization", "not valid base64"),
        ("basic", {"Authorization": "Basic dXNlcg=="}, "Authorization", "lack the ':'"),
    ],
)
def test_malformed_headers_name_the_header_and_the_problem(
    preset: str, headers: dict[str, str], name: str, why: str
) -> None:
    with pytest.raises(MalformedHeader) as info:
        verify(PRESETS[preset], body=b"{}", headers=headers, secrets=["s"], now=NOW)
    assert info.value.name == name
    assert why in info.value.why
    assert str(info.value).startswith(f"malformed header {name}: ")


def test_stripe_ignores_other_schemes_and_accepts_any_v1() -> None:
    body = b'{"id":"evt_1"}'
    good = _hex("whsec_k", f"{NOW}.".encode() + body)
    header = f"t={NOW},v0=00,v1={'ab' * 32},v1={good}"
    verified = verify(
        PRESETS["stripe"],
        body=body,
        headers={"Stripe-Signature": header},
        secrets=["whsec_k"],
        now=NOW,
    )
    assert (verified.event_id, verified.timestamp) == ("evt_1", NOW)


def test_caller_mistakes_are_value_errors() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        verify(PRESETS["github"], body=b"", headers={}, secrets=[], now=NOW)
    with pytest.raises(TypeError, match="not one string"):
        verify(PRESETS["github"], body=b"", headers={}, secrets="s", now=NOW)
    square = {"x-square-hmacsha256-signature": "AAAA"}
    with pytest.raises(ValueError, match="pass url="):
        verify(PRESETS["square"], body=b"", headers=square, secrets=["s"], now=NOW)
    std = {"webhook-id": "m", "webhook-timestamp": str(NOW), "webhook-signature": "v1,AAAA"}
    with pytest.raises(ValueError, match=r"secret #1 is not base64") as info:
        verify(
            PRESETS["standard_webhooks"],
            body=b"",
            headers=std,
            secrets=["whsec_AAAA", "whsec_!!"],
            now=NOW,
        )
    assert "whsec_" in str(info.value)  # the prefix is named, never the secret


def test_scheme_validation() -> None:
    with pytest.raises(ValueError, match="unknown placeholder"):
        Scheme(name="x", signature_header="h", content="{nope}{body}")
    with pytest.raises(ValueError, match="no timestamp source"):
        Scheme(name="x", signature_header="h", content="{ts}.{body}")
    with pytest.raises(ValueError, match="no id_header"):
        Scheme(name="x", signature_header="h", content="{id}{body}", timestamp_header="t")
    with pytest.raises(ValueError, match="tolerance needs"):
        Scheme(name="x", signature_header="h", tolerance=5)
    with pytest.raises(ValueError, match="do not sign content"):
        Scheme(name="x", signature_header="h", method=Method.TOKEN, content="{url}")
    with pytest.raises(ValueError, match="version key"):
        SignatureFormat(separator=",")


TWILIO_URL = "https://example.com/sms"


def _twilio_sig(token: str, content: str) -> str:
    return base64.b64encode(hmac.new(token.encode(), content.encode(), "sha1").digest()).decode()


def test_twilio_json_body_is_bound_by_body_sha256() -> None:
    body = b'{"a":1}'
    url = f"{TWILIO_URL}?bodySHA256={hashlib.sha256(body).hexdigest()}"
    headers = {"X-Twilio-Signature": _twilio_sig("tok", url)}
    verify(PRESETS["twilio"], body=body, headers=headers, secrets=["tok"], now=NOW, url=url)
    with pytest.raises(BadSignature, match="does not match the bodySHA256"):
        verify(PRESETS["twilio"], body=b'{"a":2}', headers=headers, secrets=["tok"], now=0, url=url)


def test_twilio_accepts_the_url_with_or_without_the_default_port() -> None:
    form = {"B": ["2", "1", "2"], "A": "x"}
    headers = {"X-Twilio-Signature": _twilio_sig("tok", "https://example.com:443/sms" + "AxB1B2")}
    verify(
        PRESETS["twilio"],
        body=b"",
        headers=headers,
        secrets=["tok"],
        now=0,
        url=TWILIO_URL,
        form=form,
    )
    headers = {"X-Twilio-Signature": _twilio_sig("tok", TWILIO_URL + "AxB1B2")}
    port_url = "https://example.com:443/sms"
    verify(
        PRESETS["twilio"],
        body=b"",
        headers=headers,
        secrets=["tok"],
        now=0,
        url=port_url,
        form=form,
    )


def test_generic_hmac_and_token_factories() -> None:
    scheme = generic_hmac(
        "X-Sig",
        algorithm=Algorithm.SHA512,
        encoding=Encoding.BASE64,
        prefix="sha512=",
        content="{ts}.{body}",
        timestamp_header="X-Ts",
        tolerance=60,
        id_header="X-Id",
    )
    body = b"payload"
    sig = base64.b64encode(hmac.new(b"k", f"{NOW}.".encode() + body, "sha512").digest()).decode()
    headers = {"X-Sig": "sha512=" + sig, "X-Ts": str(NOW), "X-Id": "e1"}
    verified = verify(scheme, body=body, headers=headers, secrets=["k"], now=NOW + 59)
    assert verified.event_id == "e1"
    api_key = token_scheme("X-API-Key", prefix="")
    verify(api_key, body=b"", headers={"x-api-key": "key-1"}, secrets=["key-1"], now=0)


def test_bearer_prefix_is_case_insensitive() -> None:
    headers = {"Authorization": "bearer tok"}
    verify(PRESETS["token"], body=b"", headers=headers, secrets=["tok"], now=0)


def test_locate_headers_then_json_paths() -> None:
    lower = {"x-id": "h-1"}
    body = b'{"event": {"type": "message", "n": 7}, "type": "event_callback"}'
    assert locate([FromHeader("X-Id"), FromJson(("id",))], lower, body) == "h-1"
    assert locate([FromHeader("X-Nope"), FromJson(("event", "type"))], lower, body) == "message"
    assert locate([FromJson(("event", "n"))], lower, body) == "7"
    assert locate([FromJson(("missing",)), FromJson(("type",))], lower, body) == "event_callback"
    assert locate([FromJson(("event",))], lower, b"not json") is None


def test_slack_event_type_prefers_the_inner_event() -> None:
    body = b'{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention"}}'
    sig = "v0=" + _hex("sec", f"v0:{NOW}:".encode() + body)
    headers = {"X-Slack-Signature": sig, "X-Slack-Request-Timestamp": str(NOW)}
    verified = verify(PRESETS["slack"], body=body, headers=headers, secrets=["sec"], now=NOW)
    assert (verified.event_id, verified.event_type) == ("Ev1", "app_mention")
