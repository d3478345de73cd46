"""Authentication, portal access and the outbound address policy."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from svix.api import (
    ApplicationIn,
    AppPortalAccessIn,
    EndpointIn,
    MessageIn,
    Svix,
)
from svix.exceptions import HttpError, HTTPValidationError
from svix.models import MessageStatus

from tests.e2e.conftest import make_svix
from tests.e2e.harness import Receiver, ServerProcess, unique, wait_until

# Every test here drives real server processes over HTTP.
pytestmark = pytest.mark.slow


def _assert_svix_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "detail"}
    assert isinstance(body["code"], str)
    assert body["code"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
    ],
    ids=["missing", "wrong-token", "wrong-scheme", "empty-token"],
)
def test_requests_without_a_valid_token_are_401(
    server: ServerProcess, headers: dict[str, str]
) -> None:
    with httpx.Client(base_url=server.url, headers=headers) as client:
        for method, path in (
            ("GET", "/api/v1/app"),
            ("POST", "/api/v1/app"),
            ("GET", "/api/v1/app/app_x/msg"),
            ("POST", "/api/v1/app/app_x/msg"),
            ("GET", "/api/v1/event-type"),
        ):
            response = client.request(method, path, json={"name": "x"})
            body = _assert_svix_error(response, 401)
            assert body["code"] == "authentication_failed"


def test_sdk_with_a_wrong_token_gets_401(server: ServerProcess) -> None:
    bad = make_svix(server, token="hg_not_a_real_token")
    try:
        with pytest.raises(HttpError) as exc:
            bad.application.create(ApplicationIn(name="nope"))
        assert exc.value.status_code == 401
    finally:
        bad._httpx_client.close()


def test_health_needs_no_token(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/api/v1/health/ping").status_code == 204
        assert client.get("/api/v1/health").status_code == 204


def test_app_portal_access(server: ServerProcess, svix_client: Svix, app_id: str) -> None:
    access = svix_client.authentication.app_portal_access(app_id, AppPortalAccessIn())
    assert access.token
    assert access.url.startswith("http")
    assert app_id in access.url
    assert access.token in access.url
    # A portal token is not a management API token.
    portal = make_svix(server, token=access.token)
    try:
        with pytest.raises(HttpError) as exc:
            portal.application.list()
        assert exc.value.status_code == 403
    finally:
        portal._httpx_client.close()


def test_app_portal_access_for_unknown_app_is_404(svix_client: Svix) -> None:
    with pytest.raises(HttpError) as exc:
        svix_client.authentication.app_portal_access(unique("nope"), AppPortalAccessIn())
    assert exc.value.status_code == 404


def test_blocked_address_is_explained(
    server_factory: Callable[..., ServerProcess], receiver: Receiver
) -> None:
    strict = server_factory(env={"HOOKGATE_ALLOWED_SUBNETS": None})
    client = make_svix(strict)
    try:
        app = client.application.create(ApplicationIn(name="strict", uid=unique("strict")))
        # An IP literal the policy refuses is refused when the endpoint is created.
        with pytest.raises(HTTPValidationError) as refused:
            client.endpoint.create(app.id, EndpointIn(url=receiver.url("/blocked-ip")))
        assert "HOOKGATE_ALLOWED_SUBNETS=127.0.0.1/32" in refused.value.detail[0].msg
        # A host name is checked on the address it resolves to, when connecting.
        by_name = receiver.new_path("blocked-name")
        ep = client.endpoint.create(
            app.id, EndpointIn(url=f"http://localhost:{receiver.port}{by_name}")
        )
        msg = client.message.create(app.id, MessageIn(event_type="b.b", payload={}))
        attempts = wait_until(
            lambda: client.message_attempt.list_by_endpoint(app.id, ep.id).data,
            timeout=15,
            message=f"an attempt to {ep.url}",
        )
        attempt = attempts[-1]
        assert attempt.msg_id == msg.id
        assert attempt.response_status_code == 0
        assert attempt.status == MessageStatus.FAIL
        # The attempt says why, and how to allow it.
        assert "HOOKGATE_ALLOWED_SUBNETS" in attempt.response
        assert "127.0.0.1" in attempt.response or "::1" in attempt.response
        receiver.assert_quiet(by_name, 0)
    finally:
        client._httpx_client.close()


def test_app_portal_access_can_create_the_application(svix_client: Svix) -> None:
    uid = unique("portal-new")
    access = svix_client.authentication.app_portal_access(
        uid, AppPortalAccessIn(application=ApplicationIn(name="Portal made", uid=uid))
    )
    assert access.token
    assert svix_client.application.get(uid).name == "Portal made"
