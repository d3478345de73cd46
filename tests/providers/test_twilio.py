"""Twilio: signatures from ``twilio.request_validator.RequestValidator``
(form parameters, and JSON bodies bound by ``bodySHA256``)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from hookgate.receive import BadSignature, MissingHeader, verify

TOKEN = "12345678901234567890123456789012"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _form_request(token: str = TOKEN) -> tuple[bytes, dict[str, str]]:
    signature = RequestValidator(token).compute_signature(URL, PARAMS)
    return urlencode(PARAMS).encode(), {**FORM, "X-Twilio-Signature": signature}


def test_form_request_signed_by_twilio_is_accepted() -> None:
    body, headers = _form_request()
    assert RequestValidator(TOKEN).validate(URL, PARAMS, headers["X-Twilio-Signature"])
    event = verify("twilio", body, headers, TOKEN, url=URL)
    assert event.payload["Digits"] == "1234"


def test_url_with_default_port_is_accepted_like_twilio() -> None:
    body, headers = _form_request()
    port_url = URL.replace("mycompany.com", "mycompany.com:443")
    assert RequestValidator(TOKEN).validate(port_url, PARAMS, headers["X-Twilio-Signature"])
    verify("twilio", body, headers, TOKEN, url=port_url)


def test_form_request_rejections() -> None:
    body, headers = _form_request()
    with pytest.raises(BadSignature):
        verify("twilio", body.replace(b"1234", b"1235"), headers, TOKEN, url=URL)
    with pytest.raises(BadSignature):
        verify("twilio", body, headers, TOKEN, url=URL.replace("foo=1", "foo=2"))
    with pytest.raises(BadSignature):
        verify("twilio", *_form_request("another-token-xxxxxxxxxxxxxxxxx"), TOKEN, url=URL)
    with pytest.raises(MissingHeader, match="X-Twilio-Signature"):
        verify("twilio", body, FORM, TOKEN, url=URL)


def test_json_body_with_body_sha256() -> None:
    validator = RequestValidator(TOKEN)
    body_text = '{"property": "value", "boolean": true}'
    url = f"https://mycompany.com/myapp.php?bodySHA256={validator.compute_hash(body_text)}"
    signature = validator.compute_signature(url, {})
    assert validator.validate(url, body_text, signature)
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": signature}
    event = verify("twilio", body_text.encode(), headers, TOKEN, url=url)
    assert event.payload == {"property": "value", "boolean": True}
    with pytest.raises(BadSignature, match="bodySHA256"):
        verify("twilio", body_text.encode().replace(b"true", b"false"), headers, TOKEN, url=url)
    with pytest.raises(BadSignature):
        verify("twilio", body_text.encode(), headers, "wrong-token", url=url)
