"""Acceptance: a consumer-portal session of application A can read or change
nothing of application B, and A's portal token opens no management API route.

Every portal route is walked, enumerated from the app's own route table (a
route added later is walked too, or this test fails on a path parameter it
does not know), with A's session cookie, A's CSRF token and A's portal token
as Bearer: against B's application id, and under A's id against B's endpoint,
message and attempt ids (alone and mixed with A's). Then every ``/api/v1``
route of the OpenAPI document is called with A's portal token. Nothing of B
may appear in any answer, and B's endpoints, secret and deliveries are the
same afterwards.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from svix.api import ApplicationIn, AppPortalAccessIn, EndpointIn, MessageIn, Svix

from hookgate.api.app import create_app
from hookgate.config import Settings
from tests.e2e.harness import Receiver, ServerProcess, unique, wait_until

pytestmark = pytest.mark.slow

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")
_PAGE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Objects:
    """One application's objects, and what of them must never leak."""

    app_id: str
    endpoint_id: str
    msg_id: str
    attempt_id: str
    endpoint_url: str
    secret: str
    marker: str
    receiver_path: str

    def params(self) -> dict[str, str]:
        return {
            "app_id": self.app_id,
            "endpoint_id": self.endpoint_id,
            "msg_id": self.msg_id,
            "attempt_id": self.attempt_id,
        }

    def secrets_in(self, text: str) -> list[str]:
        """What of this application ``text`` reveals (its app id aside: the
        caller put it in the URL)."""
        private = (
            self.endpoint_id,
            self.msg_id,
            self.attempt_id,
            self.endpoint_url,
            self.secret,
            self.marker,
        )
        return [value for value in private if value in text]


def _make_app(svix_client: Svix, receiver: Receiver, name: str) -> Objects:
    marker = unique(f"{name}-payload")
    app = svix_client.application.create(ApplicationIn(name=marker, uid=unique(name)))
    path = receiver.new_path(name)
    url = receiver.url(path)
    ep = svix_client.endpoint.create(app.id, EndpointIn(url=url, description=marker))
    msg = svix_client.message.create(
        app.id, MessageIn(event_type="iso.test", payload={"marker": marker})
    )
    attempts = wait_until(
        lambda: svix_client.message_attempt.list_by_msg(app.id, msg.id).data,
        message=f"an attempt of {msg.id}",
    )
    return Objects(
        app_id=app.id,
        endpoint_id=ep.id,
        msg_id=msg.id,
        attempt_id=attempts[0].id,
        endpoint_url=url,
        secret=svix_client.endpoint.get_secret(app.id, ep.id).key,
        marker=marker,
        receiver_path=path,
    )


def _snapshot(svix_client: Svix, objects: Objects) -> dict[str, Any]:
    """What of an application a portal of another must not change."""
    app_id = objects.app_id
    return {
        "endpoints": [
            (ep.id, ep.url, ep.description, ep.event_types, ep.disabled)
            for ep in svix_client.endpoint.list(app_id).data
        ],
        "secret": svix_client.endpoint.get_secret(app_id, objects.endpoint_id).key,
        "attempts": [
            a.id for a in svix_client.message_attempt.list_by_msg(app_id, objects.msg_id).data
        ],
        "messages": [m.id for m in svix_client.message.list(app_id).data],
    }


def portal_routes() -> list[tuple[str, str]]:
    """(method, path) of every portal route of the app ``hookgate serve`` runs."""
    app = create_app(Settings(), run_worker=False)
    found = {
        (method, path)
        for path, methods in _walk(app.router.routes, "")
        if path.startswith("/portal/")
        for method in methods
        if method in _PAGE_METHODS
    }
    return sorted(found)


def _walk(routes: Iterable[Any], prefix: str) -> Iterator[tuple[str, set[str]]]:
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's lazily included router
            inner = prefix + route.include_context.prefix
            yield from _walk(route.original_router.routes, inner)
        elif getattr(route, "methods", None) and hasattr(route, "path"):
            yield prefix + route.path, set(route.methods)


def _variants(path: str, a: Objects, b: Objects) -> Iterator[tuple[str, bool]]:
    """``(url, under_a)`` for ``path`` with B's ids: B's application with B's
    objects, and A's application with every mix of A's and B's objects but
    all of A's."""
    names = _PARAM.findall(path)
    unknown = set(names) - set(a.params())
    assert not unknown, f"{path}: the isolation walk does not know {unknown}; add them"

    def fill(values: dict[str, str]) -> str:
        return _PARAM.sub(lambda m: values[m.group(1)], path)

    yield fill(b.params()), False
    objects = [name for name in names if name != "app_id"]
    for choice in itertools.product((a, b), repeat=len(objects)):
        if b not in choice:
            continue
        values = {"app_id": a.app_id} | {
            name: owner.params()[name] for name, owner in zip(objects, choice, strict=True)
        }
        yield fill(values), True


@pytest.fixture
def two_apps(svix_client: Svix, receiver: Receiver) -> tuple[Objects, Objects]:
    return _make_app(svix_client, receiver, "iso-a"), _make_app(svix_client, receiver, "iso-b")


def test_portal_routes_are_enumerated() -> None:
    routes = portal_routes()
    paths = {path for _, path in routes}
    assert "/portal/{app_id}" in paths
    assert "/portal/{app_id}/endpoints/{endpoint_id}" in paths
    assert "/portal/{app_id}/messages/{msg_id}" in paths
    assert len(routes) >= 15, routes


def test_a_portal_session_of_one_app_reaches_nothing_of_another(
    server: ServerProcess,
    svix_client: Svix,
    receiver: Receiver,
    two_apps: tuple[Objects, Objects],
) -> None:
    a, b = two_apps
    before = _snapshot(svix_client, b)
    link = svix_client.authentication.app_portal_access(a.app_id, AppPortalAccessIn())
    with httpx.Client(base_url=server.url) as client:
        opened = client.post(f"/portal/{a.app_id}/session", json={"token": link.token})
        assert opened.status_code == 204
        match = _CSRF.search(client.get(f"/portal/{a.app_id}").text)
        assert match
        csrf = match.group(1)
        headers = {"Authorization": f"Bearer {link.token}", "X-CSRF-Token": csrf}
        form = {
            "csrf_token": csrf,
            "url": receiver.url("/isolation-change"),
            "description": "changed by another application's portal",
            "event_types": "iso.test",
            "event_type": "iso.test",
            "since": "2020-01-01T00:00",
            "endpoint_id": b.endpoint_id,
        }
        walked = 0
        for method, path in portal_routes():
            for url, under_a in _variants(path, a, b):
                if method == "GET":
                    answer = client.request(method, url, headers=headers)
                elif path.endswith("/session"):
                    answer = client.post(url, json={"token": link.token}, headers=headers)
                else:
                    answer = client.request(method, url, data=form, headers=headers)
                walked += 1
                where = f"{method} {url}"
                leaked = b.secrets_in(answer.text)
                assert not leaked, f"{where} shows {leaked} of application B"
                if under_a:
                    # A's session is alive: B's objects are simply not found.
                    assert answer.status_code == 404, f"{where}: {answer.status_code}"
                else:
                    _assert_refused_for_other_app(answer, where, b.app_id)
        assert walked >= 20
        # A's session survived the walk (so every refusal above was a refusal).
        assert client.get(f"/portal/{a.app_id}/messages").status_code == 200

    receiver.assert_quiet(b.receiver_path, expected=1)
    assert _snapshot(svix_client, b) == before


def _assert_refused_for_other_app(answer: httpx.Response, where: str, b_app: str) -> None:
    """A request under B's application id with A's session: sent to B's
    portal login (the landing page itself shows only that login page), or
    refused outright."""
    if answer.status_code == 303:
        assert answer.headers["location"] == f"/portal/{b_app}", where
    elif answer.status_code == 200:
        assert "portal-login.js" in answer.text, f"{where} showed a portal page"
        assert "Log out" not in answer.text, where
    else:
        assert answer.status_code == 401, f"{where}: {answer.status_code}"


def test_a_portal_token_opens_no_management_api_route(
    server: ServerProcess,
    svix_client: Svix,
    receiver: Receiver,
    two_apps: tuple[Objects, Objects],
) -> None:
    a, b = two_apps
    before = _snapshot(svix_client, b)
    link = svix_client.authentication.app_portal_access(a.app_id, AppPortalAccessIn())
    with httpx.Client(base_url=server.url) as client:
        assert (
            client.post(f"/portal/{a.app_id}/session", json={"token": link.token}).status_code
            == 204
        )
        document = client.get("/openapi.json").json()
        headers = {"Authorization": f"Bearer {link.token}"}
        values = b.params() | {"app_id": b.app_id}
        called = 0
        for path, operations in sorted(document["paths"].items()):
            if not path.startswith("/api/v1/") or path == "/api/v1/auth/logout":
                continue
            url = _PARAM.sub(lambda m: values.get(m.group(1), unique("x")), path)
            for method in operations:
                if method.upper() not in _PAGE_METHODS:
                    continue
                answer = client.request(method.upper(), url, headers=headers, json={})
                called += 1
                where = f"{method.upper()} {path}"
                assert not b.secrets_in(answer.text), where
                if path.startswith("/api/v1/health"):
                    assert answer.status_code < 400, f"{where}: {answer.status_code}"
                else:
                    assert answer.status_code == 403, f"{where}: {answer.status_code}"
        assert called >= 40
        # The one route it opens: logging itself (and its sessions) out.
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
        assert client.get(f"/portal/{a.app_id}/messages").status_code == 303
        assert client.get("/api/v1/app", headers=headers).status_code == 401
    assert _snapshot(svix_client, b) == before
