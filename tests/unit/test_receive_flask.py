"""The Flask adapter against a real Flask app and its test client."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from hookgate.receive import Event, Receiver, Router
from hookgate.receive.adapters.flask import flask_view
from tests.unit.receive_requests import (
    BODY,
    FORM,
    SECRET,
    TWILIO_TOKEN,
    github_headers,
    recording_router,
)


def _client(router: Router) -> FlaskClient:
    app = Flask(__name__)
    app.add_url_rule(
        "/hooks/github", view_func=flask_view(Receiver("github", SECRET, router)), methods=["POST"]
    )
    app.add_url_rule(
        "/hooks/twilio",
        view_func=flask_view(Receiver("twilio", TWILIO_TOKEN, router)),
        methods=["POST"],
    )
    return app.test_client()


def test_genuine_github_request_reaches_handler_byte_exact_once() -> None:
    router, got = recording_router()
    client = _client(router)
    assert json.dumps(json.loads(BODY)).encode() != BODY

    response = client.post(
        "/hooks/github", data=BODY, content_type="application/json", headers=github_headers(BODY)
    )

    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert response.content_type == "application/json"
    assert [e.body for e in got] == [BODY]
    assert got[0].payload == {"action": "opened", "n": 1.0}
    assert (got[0].type, got[0].id) == ("issues", "d-1")

    replay = client.post(
        "/hooks/github", data=BODY, content_type="application/json", headers=github_headers(BODY)
    )
    assert (replay.status_code, replay.get_json()) == (200, {"status": "duplicate"})
    assert len(got) == 1


def test_rejections_are_json_errors() -> None:
    router, got = recording_router()
    client = _client(router)

    missing = client.post("/hooks/github", data=BODY, content_type="application/json")
    assert missing.status_code == 400
    assert missing.get_json() == {
        "code": "missing_header",
        "detail": "missing header X-Hub-Signature-256 or X-Hub-Signature",
        "error": "MissingHeader",
    }

    changed = BODY.replace(b"1.0", b"1.5")
    bad = client.post(
        "/hooks/github",
        data=changed,
        content_type="application/json",
        headers=github_headers(BODY),
    )
    assert bad.status_code == 401
    assert bad.get_json()["error"] == "BadSignature"
    assert got == []


def test_handler_failure_is_500_without_exception_text_and_retry_runs_again() -> None:
    router = Router()
    calls: list[str] = []

    @router.on("issues")
    def flaky(event: Event) -> None:
        calls.append(event.body.decode())
        if len(calls) == 1:
            raise RuntimeError("secret internals")

    client = _client(router)
    failed = client.post("/hooks/github", data=BODY, headers=github_headers(BODY))
    assert failed.status_code == 500
    assert failed.get_json()["error"] == "handler_failed"
    assert "secret internals" not in failed.get_data(as_text=True)

    retry = client.post("/hooks/github", data=BODY, headers=github_headers(BODY))
    assert (retry.status_code, retry.get_json()) == (200, {"status": "ok"})
    assert len(calls) == 2


def test_github_form_mode_body_is_verified_as_sent_not_re_encoded() -> None:
    router, got = recording_router()
    # quote() leaves "/" and spaces as %20; a form re-encoder would emit "+" instead.
    body = ("payload=" + quote(BODY.decode())).encode()
    assert b"%20" in body

    response = _client(router).post(
        "/hooks/github", data=body, content_type=FORM, headers=github_headers(body)
    )

    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert got[0].body == body
    assert got[0].payload == {"action": "opened", "n": 1.0}


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?foo=1&bar=2",
        # Werkzeug's request.url would present these as "café" and "~".
        "?tenant=caf%C3%A9&note=a%20b&x=%7E",
    ],
)
def test_twilio_form_request_is_verified_against_the_url_it_was_sent_to(query: str) -> None:
    router, got = recording_router()
    url = "http://localhost/hooks/twilio" + query
    params = {"From": "+12349013030", "Body": "Hello world!", "Digits": "1234"}
    body = b"From=%2B12349013030&Body=Hello%20world%21&Digits=1234"  # not urlencode()'s bytes
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)

    response = _client(router).post(
        "/hooks/twilio" + query,
        data=body,
        content_type=FORM,
        headers={"X-Twilio-Signature": signature},
    )

    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert got[0].body == body
    assert got[0].payload == params


def test_tampered_twilio_form_is_rejected() -> None:
    url = "http://localhost/hooks/twilio"
    params = {"From": "+12349013030", "Digits": "1234"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)

    response = _client(Router()).post(
        "/hooks/twilio",
        data=b"From=%2B12349013030&Digits=1235",
        content_type=FORM,
        headers={"X-Twilio-Signature": signature},
    )

    assert (response.status_code, response.get_json()["error"]) == (401, "BadSignature")


def test_view_can_be_mounted_under_a_route_with_url_variables() -> None:
    router, got = recording_router()
    app = Flask(__name__)
    app.add_url_rule(
        "/<tenant>/hooks/github",
        view_func=flask_view(Receiver("github", SECRET, router)),
        methods=["POST"],
    )

    response = app.test_client().post("/acme/hooks/github", data=BODY, headers=github_headers(BODY))

    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert [e.body for e in got] == [BODY]
