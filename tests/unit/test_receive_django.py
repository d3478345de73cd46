"""The Django adapter against real Django: WSGI ``Client``, ASGI ``AsyncClient``,
with ``CsrfViewMiddleware`` enforcing CSRF as in a default project."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from urllib.parse import quote

import django
import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client
from django.test.utils import override_settings
from django.urls import URLPattern, clear_url_caches, path
from twilio.request_validator import RequestValidator

from hookgate.receive import Event, Receiver, Router
from hookgate.receive.adapters.django import django_view
from tests.unit.receive_requests import (
    BODY,
    FORM,
    SECRET,
    TWILIO_TOKEN,
    github_headers,
    recording_router,
)

SETTINGS = {
    "DEBUG": False,
    "ALLOWED_HOSTS": ["testserver"],
    "ROOT_URLCONF": __name__,
    "MIDDLEWARE": ["django.middleware.csrf.CsrfViewMiddleware"],
}

Mount = Callable[[Router], None]

#: This module is the urlconf; the ``mount`` fixture fills it for each test.
urlpatterns: list[URLPattern] = []


def _plain_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("plain")


@pytest.fixture(scope="module", autouse=True)
def _django() -> Iterator[None]:
    # Settings are process-global: configure once, then override what these tests need
    # in case another module configured Django first.
    if not settings.configured:
        settings.configure(SECRET_KEY="test-only", INSTALLED_APPS=[], DATABASES={}, **SETTINGS)
        django.setup()
    with override_settings(**SETTINGS):
        yield


@pytest.fixture
def mount() -> Iterator[Mount]:
    """Route ``/hooks/github``, ``/hooks/twilio``, ``/t/<tenant>/hooks/github``
    to receivers dispatching through the given router, and ``/plain`` to a
    view that is not CSRF-exempt."""

    def mount_(router: Router) -> None:
        github = django_view(Receiver("github", SECRET, router))
        urlpatterns[:] = [
            path("hooks/github", github),
            path("t/<str:tenant>/hooks/github", github),
            path("hooks/twilio", django_view(Receiver("twilio", TWILIO_TOKEN, router))),
            path("plain", _plain_view),
        ]
        clear_url_caches()

    yield mount_
    urlpatterns.clear()
    clear_url_caches()


def _csrf_client() -> Client:
    # Django's test Client skips CSRF checks unless asked; real providers get no such pass.
    return Client(enforce_csrf_checks=True)


def test_genuine_github_request_reaches_handler_byte_exact_once(mount: Mount) -> None:
    router, got = recording_router()
    mount(router)
    client = _csrf_client()
    assert json.dumps(json.loads(BODY)).encode() != BODY

    response = client.post(
        "/hooks/github", BODY, content_type="application/json", headers=github_headers(BODY)
    )

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert response["Content-Type"] == "application/json"
    assert [e.body for e in got] == [BODY]
    assert got[0].payload == {"action": "opened", "n": 1.0}
    assert (got[0].type, got[0].id) == ("issues", "d-1")

    replay = client.post(
        "/hooks/github", BODY, content_type="application/json", headers=github_headers(BODY)
    )
    assert (replay.status_code, replay.json()) == (200, {"status": "duplicate"})
    assert len(got) == 1


def test_provider_posts_pass_csrf_middleware_that_rejects_other_posts(mount: Mount) -> None:
    mount(Router())
    client = _csrf_client()

    assert client.post("/plain", BODY, content_type="application/json").status_code == 403
    hook = client.post(
        "/hooks/github", BODY, content_type="application/json", headers=github_headers(BODY)
    )
    assert (hook.status_code, hook.json()) == (200, {"status": "ok"})


def test_rejections_are_json_errors(mount: Mount) -> None:
    router, got = recording_router()
    mount(router)
    client = _csrf_client()

    missing = client.post("/hooks/github", BODY, content_type="application/json")
    assert missing.status_code == 400
    assert missing.json() == {
        "code": "missing_header",
        "detail": "missing header X-Hub-Signature-256 or X-Hub-Signature",
        "error": "MissingHeader",
    }

    changed = BODY.replace(b"1.0", b"1.5")
    bad = client.post(
        "/hooks/github", changed, content_type="application/json", headers=github_headers(BODY)
    )
    assert bad.status_code == 401
    assert bad.json()["error"] == "BadSignature"
    assert got == []


def test_handler_failure_is_500_without_exception_text_and_retry_runs_again(
    mount: Mount,
) -> None:
    router = Router()
    calls: list[str] = []

    @router.on("issues")
    def flaky(event: Event) -> None:
        calls.append(event.body.decode())
        if len(calls) == 1:
            raise RuntimeError("secret internals")

    mount(router)
    client = _csrf_client()
    failed = client.post(
        "/hooks/github", BODY, content_type="application/json", headers=github_headers(BODY)
    )
    assert failed.status_code == 500
    assert failed.json()["error"] == "handler_failed"
    assert b"secret internals" not in failed.content

    retry = client.post(
        "/hooks/github", BODY, content_type="application/json", headers=github_headers(BODY)
    )
    assert (retry.status_code, retry.json()) == (200, {"status": "ok"})
    assert len(calls) == 2


def test_github_form_mode_body_is_verified_as_sent_not_re_encoded(mount: Mount) -> None:
    router, got = recording_router()
    mount(router)
    # quote() leaves spaces as %20; a form re-encoder would emit "+" instead.
    body = ("payload=" + quote(BODY.decode())).encode()
    assert b"%20" in body

    response = _csrf_client().post(
        "/hooks/github", body, content_type=FORM, headers=github_headers(body)
    )

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert got[0].body == body
    assert got[0].payload == {"action": "opened", "n": 1.0}


@pytest.mark.parametrize("query", ["", "?foo=1&bar=2", "?tenant=caf%C3%A9&note=a%20b&x=%7E"])
def test_twilio_form_request_is_verified_against_the_url_it_was_sent_to(
    mount: Mount, query: str
) -> None:
    router, got = recording_router()
    mount(router)
    url = "http://testserver/hooks/twilio" + query
    params = {"From": "+12349013030", "Body": "Hello world!", "Digits": "1234"}
    body = b"From=%2B12349013030&Body=Hello%20world%21&Digits=1234"  # not urlencode()'s bytes
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)

    response = _csrf_client().post(
        "/hooks/twilio" + query, body, content_type=FORM, headers={"X-Twilio-Signature": signature}
    )

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert got[0].body == body
    assert got[0].payload == params


def test_tampered_twilio_form_is_rejected(mount: Mount) -> None:
    mount(Router())
    params = {"From": "+12349013030", "Digits": "1234"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        "http://testserver/hooks/twilio", params
    )

    response = _csrf_client().post(
        "/hooks/twilio",
        b"From=%2B12349013030&Digits=1235",
        content_type=FORM,
        headers={"X-Twilio-Signature": signature},
    )

    assert (response.status_code, response.json()["error"]) == (401, "BadSignature")


def test_view_can_be_mounted_under_a_route_with_url_variables(mount: Mount) -> None:
    router, got = recording_router()
    mount(router)

    response = _csrf_client().post(
        "/t/acme/hooks/github", BODY, content_type="application/json", headers=github_headers(BODY)
    )

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert [e.body for e in got] == [BODY]


async def test_under_asgi_the_view_verifies_raw_bytes_and_dedupes(mount: Mount) -> None:
    router, got = recording_router()
    mount(router)
    client = AsyncClient(enforce_csrf_checks=True)

    response = await client.post(
        "/hooks/github", BODY, content_type="application/json", headers=github_headers(BODY)
    )
    replay = await client.post(
        "/hooks/github", BODY, content_type="application/json", headers=github_headers(BODY)
    )
    tampered = await client.post(
        "/hooks/github",
        BODY + b" ",
        content_type="application/json",
        headers=github_headers(BODY, "d-2"),
    )

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert replay.json() == {"status": "duplicate"}
    assert tampered.status_code == 401
    assert [e.body for e in got] == [BODY]
