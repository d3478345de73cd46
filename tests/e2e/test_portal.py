"""The consumer portal over plain HTTP: the link's token exchanged for a
session, endpoints managed through its forms, capabilities, readOnly,
expiry, logout (API and button) and CSRF."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from svix.api import (
    ApplicationIn,
    ApplicationTokenExpireIn,
    AppPortalAccessIn,
    EndpointIn,
    EventTypeIn,
    MessageIn,
    Svix,
)
from svix.models import AppPortalCapability as Cap

from tests.e2e.conftest import make_svix
from tests.e2e.harness import Receiver, ServerProcess, unique, wait_until

pytestmark = pytest.mark.slow

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Portal:
    """A browser-like client holding a portal session of one application."""

    def __init__(self, client: httpx.Client, app_id: str, token: str) -> None:
        self.client = client
        self.app_id = app_id
        self.token = token
        self.base = f"/portal/{app_id}"

    def get(self, path: str = "") -> httpx.Response:
        return self.client.get(self.base + path)

    def csrf(self) -> str:
        match = _CSRF.search(self.get().text)
        assert match, "the portal home has no CSRF token: not logged in?"
        return match.group(1)

    def post(self, path: str, data: dict[str, object] | None = None) -> httpx.Response:
        return self.client.post(self.base + path, data={"csrf_token": self.csrf(), **(data or {})})

    def logged_in(self) -> bool:
        answer = self.get("/messages")
        return answer.status_code == 200


def open_session(client: httpx.Client, app_id: str, token: str) -> httpx.Response:
    return client.post(f"/portal/{app_id}/session", json={"token": token})


@contextmanager
def portal(
    server: ServerProcess, svix_client: Svix, app_id: str, **access: object
) -> Iterator[Portal]:
    """A portal session from a link made with ``AppPortalAccessIn(**access)``."""
    link = svix_client.authentication.app_portal_access(app_id, AppPortalAccessIn(**access))
    with httpx.Client(base_url=server.url) as client:
        assert open_session(client, app_id, link.token).status_code == 204
        yield Portal(client, app_id, link.token)


def test_the_links_token_becomes_a_session_of_its_application(
    server: ServerProcess, svix_client: Svix, app_id: str
) -> None:
    link = svix_client.authentication.app_portal_access(app_id, AppPortalAccessIn())
    with httpx.Client(base_url=server.url) as client:
        landing = client.get(f"/portal/{app_id}")
        assert landing.status_code == 200
        assert "/static/portal-login.js" in landing.text
        assert "expired or is invalid" in landing.text  # shown by the script when refused
        assert client.get(f"/portal/{app_id}/messages").headers["location"] == (f"/portal/{app_id}")
        # Only JSON, and only this application's token, opens a session.
        form_post = client.post(f"/portal/{app_id}/session", data={"token": link.token})
        assert form_post.status_code == 401
        assert open_session(client, app_id, "appsk_forged").status_code == 401
        other = svix_client.application.create(ApplicationIn(name="other", uid=unique("other")))
        assert open_session(client, other.id, link.token).status_code == 401
        assert not client.cookies

        answer = open_session(client, app_id, link.token)
        assert answer.status_code == 204
        cookie = answer.headers["set-cookie"].lower()
        assert "hookgate_portal=" in cookie
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert f"path=/portal/{app_id.lower()}" in cookie
        home = client.get(f"/portal/{app_id}")
        assert home.status_code == 200
        assert "Endpoints" in home.text
        assert "Log out" in home.text
        assert link.token not in home.text
        # The session is for this application only.
        assert client.get(f"/portal/{other.id}/messages").status_code == 303


def test_one_browser_keeps_the_portals_of_two_applications_open(
    server: ServerProcess, svix_client: Svix, app_id: str
) -> None:
    other = svix_client.application.create(ApplicationIn(name="other", uid=unique("other")))
    first = svix_client.authentication.app_portal_access(app_id, AppPortalAccessIn())
    second = svix_client.authentication.app_portal_access(other.id, AppPortalAccessIn())
    with httpx.Client(base_url=server.url) as client:
        assert open_session(client, app_id, first.token).status_code == 204
        assert open_session(client, other.id, second.token).status_code == 204
        assert client.get(f"/portal/{app_id}/messages").status_code == 200
        assert client.get(f"/portal/{other.id}/messages").status_code == 200


def test_endpoints_are_added_edited_and_deleted_through_the_forms(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    event = unique("invoice.paid")
    svix_client.event_type.create(
        EventTypeIn(
            name=event,
            description="An invoice was paid in full",
            schemas={
                "1": {
                    "type": "object",
                    "properties": {"amount": {"type": "integer"}},
                    "examples": [{"amount": 4200}],
                }
            },
        )
    )
    with portal(server, svix_client, app_id) as p:
        form = p.get("/endpoints/new")
        assert form.status_code == 200
        assert event in form.text
        assert "An invoice was paid in full" in form.text
        assert "4200" in form.text  # the example

        bad = p.post("/endpoints", {"url": "not a url"})
        assert bad.status_code == 422
        assert "URL:" in bad.text
        blocked = p.post("/endpoints", {"url": "http://10.1.2.3/hook"})
        assert blocked.status_code == 422
        assert "HOOKGATE_ALLOWED_SUBNETS" in blocked.text
        assert svix_client.endpoint.list(app_id).data == []

        url = receiver.url(receiver.new_path("portal"))
        made = p.post("/endpoints", {"url": url, "description": "billing", "event_types": [event]})
        assert made.status_code == 303
        (ep,) = svix_client.endpoint.list(app_id).data
        assert made.headers["location"].startswith(f"/portal/{app_id}/endpoints/{ep.id}")
        assert (ep.url, ep.description, ep.event_types) == (url, "billing", [event])
        assert url in p.get().text
        assert "The endpoint was created." in p.client.get(made.headers["location"]).text

        edited = p.post(f"/endpoints/{ep.id}", {"url": url, "description": "all of it"})
        assert edited.status_code == 303
        changed = svix_client.endpoint.get(app_id, ep.id)
        assert changed.description == "all of it"
        assert not changed.event_types

        assert "Disable endpoint" in p.get(f"/endpoints/{ep.id}").text
        assert p.post(f"/endpoints/{ep.id}/disable").status_code == 303
        assert svix_client.endpoint.get(app_id, ep.id).disabled is True
        assert "Enable endpoint" in p.get(f"/endpoints/{ep.id}").text
        assert p.post(f"/endpoints/{ep.id}/enable").status_code == 303
        assert svix_client.endpoint.get(app_id, ep.id).disabled is False

        confirm = p.get(f"/endpoints/{ep.id}/delete")
        assert confirm.status_code == 200
        assert "Delete this endpoint?" in confirm.text
        assert p.post(f"/endpoints/{ep.id}/delete").status_code == 303
        assert svix_client.endpoint.list(app_id).data == []
        gone = p.get(f"/endpoints/{ep.id}")
        assert gone.status_code == 404
        assert f'href="/portal/{app_id}"' in gone.text  # back to the portal, not the dashboard


def test_editing_keeps_event_types_the_catalogue_lacks(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    undescribed = unique("never.described")
    url = receiver.url("/keep")
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=url, event_types=[undescribed]))
    with portal(server, svix_client, app_id) as p:
        form = p.get(f"/endpoints/{ep.id}/edit")
        assert "Not in the event type catalogue." in form.text
        assert f'value="{undescribed}" checked' in form.text
        saved = p.post(
            f"/endpoints/{ep.id}",
            {"url": url, "description": "renamed", "event_types": [undescribed]},
        )
        assert saved.status_code == 303
    assert svix_client.endpoint.get(app_id, ep.id).event_types == [undescribed]


def test_the_secret_shows_and_rotates_only_as_the_capabilities_allow(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url("/secret")))
    secret = svix_client.endpoint.get_secret(app_id, ep.id).key

    with portal(server, svix_client, app_id, capabilities=[Cap.VIEW_BASE]) as p:
        page = p.get(f"/endpoints/{ep.id}")
        assert page.status_code == 200
        assert "Reveal secret" not in page.text
        assert "Rotate secret" not in page.text
        assert p.get(f"/endpoints/{ep.id}/secret").status_code == 403
        assert p.post(f"/endpoints/{ep.id}/secret/rotate").status_code == 403
        assert secret not in page.text

    with portal(server, svix_client, app_id, capabilities=[Cap.VIEW_ENDPOINT_SECRET]) as p:
        assert "Reveal secret" in p.get(f"/endpoints/{ep.id}").text
        assert secret in p.get(f"/endpoints/{ep.id}/secret").text
        assert p.post(f"/endpoints/{ep.id}/secret/rotate").status_code == 403
    assert svix_client.endpoint.get_secret(app_id, ep.id).key == secret

    with portal(server, svix_client, app_id, capabilities=[Cap.MANAGE_ENDPOINT_SECRET]) as p:
        assert "Rotate secret" in p.get(f"/endpoints/{ep.id}").text
        assert p.post(f"/endpoints/{ep.id}/secret/rotate").status_code == 303
        rotated = svix_client.endpoint.get_secret(app_id, ep.id).key
        assert rotated != secret
        assert rotated in p.get(f"/endpoints/{ep.id}/secret").text
        # Managing the secret is not managing endpoints.
        assert p.get("/endpoints/new").status_code == 403


def test_resend_and_recover_need_create_attempts(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path("resend")
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path)))
    msg = svix_client.message.create(app_id, MessageIn(event_type="a.b", payload={"n": 1}))
    receiver.wait_for(path, 1)

    with portal(server, svix_client, app_id, capabilities=[Cap.VIEW_BASE]) as p:
        page = p.get(f"/messages/{msg.id}")
        assert page.status_code == 200
        assert "Resend" not in page.text
        assert p.post(f"/messages/{msg.id}/endpoints/{ep.id}/resend").status_code == 403
        recover = p.post(f"/endpoints/{ep.id}/recover", {"since": "2020-01-01T00:00"})
        assert recover.status_code == 403

    with portal(server, svix_client, app_id, capabilities=[Cap.CREATE_ATTEMPTS]) as p:
        page = p.get(f"/messages/{msg.id}")
        assert "Resend" in page.text
        assert '"n": 1' in html.unescape(page.text)
        answer = p.post(f"/messages/{msg.id}/endpoints/{ep.id}/resend")
        assert answer.status_code == 303
        receiver.wait_for(path, 2)
        attempts = p.get(f"/messages/{msg.id}/attempts")
        assert attempts.status_code == 200
        assert "The endpoint answered 200" in attempts.text
        bad = p.post(f"/endpoints/{ep.id}/recover", {"since": "yesterday"})
        assert bad.status_code == 422
        assert "time to recover from" in bad.text
        good = p.post(f"/endpoints/{ep.id}/recover", {"since": "2020-01-01T00:00"})
        assert good.status_code == 303
        log = p.get(f"/endpoints/{ep.id}/messages")
        assert msg.id in log.text
        assert msg.id in p.get("/messages").text


def test_an_example_event_goes_to_the_endpoint_alone(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    event = unique("order.shipped")
    svix_client.event_type.create(
        EventTypeIn(
            name=event,
            description="An order left the warehouse",
            schemas={"1": {"type": "object", "examples": [{"order": "o_77", "carrier": "DHL"}]}},
        )
    )
    path, other = receiver.new_path("example"), receiver.new_path("not-this-one")
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path)))
    svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(other)))

    with portal(server, svix_client, app_id, capabilities=[Cap.VIEW_BASE]) as p:
        assert "Send example" not in p.get(f"/endpoints/{ep.id}").text
        refused = p.post(f"/endpoints/{ep.id}/send-example", {"event_type": event})
        assert refused.status_code == 403

    with portal(server, svix_client, app_id, capabilities=[Cap.CREATE_ATTEMPTS]) as p:
        assert event in p.get(f"/endpoints/{ep.id}").text
        bad = p.post(f"/endpoints/{ep.id}/send-example", {"event_type": "no spaces allowed"})
        assert bad.status_code == 422
        assert "Choose the event type" in bad.text
        sent = p.post(f"/endpoints/{ep.id}/send-example", {"event_type": event})
        assert sent.status_code == 303
        assert sent.headers["location"].startswith(f"/portal/{app_id}/messages/msg_")
        (received,) = receiver.wait_for(path, 1)
        assert b'"carrier":"DHL"' in received.body
        page = p.client.get(sent.headers["location"])
        assert "An example message was sent" in page.text
    receiver.assert_quiet(other)


def test_a_link_lives_as_long_as_its_expiry_says(
    server: ServerProcess, svix_client: Svix, app_id: str
) -> None:
    link = svix_client.authentication.app_portal_access(app_id, AppPortalAccessIn(expiry=3600))
    with httpx.Client(base_url=server.url) as client:
        answer = open_session(client, app_id, link.token)
        assert answer.status_code == 204
        max_age = int(re.search(r"max-age=(\d+)", answer.headers["set-cookie"], re.I)[1])
        assert 3500 < max_age <= 3600
    # A later expiry does not end anything now.
    with portal(server, svix_client, app_id) as p:
        svix_client.authentication.expire_all(app_id, ApplicationTokenExpireIn(expiry=600))
        assert p.logged_in()
    assert link.token not in server.logs()


def test_the_message_logs_filter_by_event_type_and_outcome(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path("log")
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path)))
    paid = [
        svix_client.message.create(app_id, MessageIn(event_type="log.paid", payload={})).id
        for _ in range(2)
    ]
    refunded = svix_client.message.create(
        app_id, MessageIn(event_type="log.refunded", payload={})
    ).id
    receiver.wait_for(path, 3)
    with portal(server, svix_client, app_id) as p:
        everything = p.get("/messages").text
        assert all(msg in everything for msg in [*paid, refunded])
        only_paid = p.client.get(f"{p.base}/messages", params={"event_type": "log.paid"}).text
        assert all(msg in only_paid for msg in paid)
        assert refunded not in only_paid

        log = f"{p.base}/endpoints/{ep.id}/messages"
        succeeded = wait_until(
            lambda: (
                answer.text
                if all(
                    msg in (answer := p.client.get(log, params={"status": "success"})).text
                    for msg in [*paid, refunded]
                )
                else None
            ),
            message="every message shown as delivered",
        )
        assert "success" in succeeded
        failed = p.client.get(log, params={"status": "failed", "event_type": "log.paid"})
        assert failed.status_code == 200
        assert "No message matches." in failed.text
        for params in ({"status": "exploded"}, {"event_type": "no spaces"}):
            bad = p.client.get(log, params=params)
            assert bad.status_code == 422
            assert 'role="alert"' in bad.text


def test_the_message_log_pages_with_cursors(
    server: ServerProcess, svix_client: Svix, app_id: str
) -> None:
    sent = [
        svix_client.message.create(app_id, MessageIn(event_type="page.me", payload={"n": n})).id
        for n in range(51)
    ]
    with portal(server, svix_client, app_id) as p:
        first = p.get("/messages").text
        assert sent[-1] in first
        assert sent[0] not in first
        older = re.search(r'href="([^"]+)" rel="next"', first)
        assert older
        second = p.client.get(html.unescape(older[1])).text
        assert sent[0] in second
        assert sent[-1] not in second
        assert 'rel="prev"' in second


def test_a_read_only_link_shows_and_changes_nothing(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url("/ro")))
    msg = svix_client.message.create(app_id, MessageIn(event_type="a.b", payload={}))
    with portal(server, svix_client, app_id, read_only=True) as p:
        home = p.get()
        assert "Read only" in home.text
        assert "Add endpoint" not in home.text
        detail = p.get(f"/endpoints/{ep.id}").text
        for button in (
            "Edit endpoint",
            "Delete endpoint",
            "Disable endpoint",
            "Rotate secret",
            "Recover",
            "Send example",
        ):
            assert button not in detail
        assert "Resend" not in p.get(f"/messages/{msg.id}").text
        refused = [
            p.post("/endpoints", {"url": receiver.url("/ro2")}),
            p.post(f"/endpoints/{ep.id}", {"url": receiver.url("/ro3")}),
            p.post(f"/endpoints/{ep.id}/delete"),
            p.post(f"/endpoints/{ep.id}/secret/rotate"),
            p.post(f"/endpoints/{ep.id}/recover", {"since": "2020-01-01T00:00"}),
            p.post(f"/messages/{msg.id}/endpoints/{ep.id}/resend"),
            p.post(f"/endpoints/{ep.id}/send-example", {"event_type": "a.b"}),
            p.get("/endpoints/new"),
            p.get(f"/endpoints/{ep.id}/edit"),
            p.get(f"/endpoints/{ep.id}/delete"),
            p.post(f"/endpoints/{ep.id}/disable"),
        ]
        assert [answer.status_code for answer in refused] == [403] * len(refused)
        assert "does not allow" in refused[0].text
    (still,) = svix_client.endpoint.list(app_id).data
    assert still.url == receiver.url("/ro")


def test_expire_all_ends_open_sessions_at_once(
    server: ServerProcess, svix_client: Svix, app_id: str
) -> None:
    with (
        portal(server, svix_client, app_id, session_id="s1") as kept,
        portal(server, svix_client, app_id, session_id="s2") as ended,
    ):
        svix_client.authentication.expire_all(app_id, ApplicationTokenExpireIn(session_ids=["s2"]))
        assert not ended.logged_in()
        assert kept.logged_in()
        # The expired token opens no new session either.
        assert open_session(ended.client, app_id, ended.token).status_code == 401
        svix_client.authentication.expire_all(app_id, ApplicationTokenExpireIn())
        assert not kept.logged_in()
        assert open_session(kept.client, app_id, kept.token).status_code == 401


def test_logging_out_through_the_api_ends_the_session(
    server: ServerProcess, svix_client: Svix, app_id: str
) -> None:
    with portal(server, svix_client, app_id) as p:
        assert p.logged_in()
        own = make_svix(server, token=p.token)
        try:
            own.authentication.logout()
        finally:
            own._httpx_client.close()
        assert not p.logged_in()
        assert open_session(p.client, app_id, p.token).status_code == 401


def test_the_log_out_button_ends_the_session(
    server: ServerProcess, svix_client: Svix, app_id: str
) -> None:
    with portal(server, svix_client, app_id) as p:
        csrf = p.csrf()
        assert p.client.post(f"{p.base}/logout").status_code == 403  # no CSRF token
        assert p.logged_in()
        answer = p.client.post(f"{p.base}/logout", data={"csrf_token": csrf})
        assert answer.status_code == 303
        assert "logged out" in p.client.get(answer.headers["location"]).text
        assert not p.logged_in()


def test_changes_without_the_sessions_csrf_token_are_refused(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    with portal(server, svix_client, app_id) as p:
        url = receiver.url("/csrf")
        assert p.client.post(f"{p.base}/endpoints", data={"url": url}).status_code == 403
        forged = p.client.post(f"{p.base}/endpoints", data={"url": url, "csrf_token": "0" * 64})
        assert forged.status_code == 403
        assert svix_client.endpoint.list(app_id).data == []
        assert p.logged_in()


def test_an_unknown_id_is_a_not_found_page(
    server: ServerProcess, svix_client: Svix, app_id: str
) -> None:
    with portal(server, svix_client, app_id) as p:
        for path in ("/endpoints/ep_nope", "/messages/msg_nope", "/endpoints/ep_nope/messages"):
            answer = p.get(path)
            assert answer.status_code == 404
            assert answer.headers["content-type"].startswith("text/html")


def test_odd_input_is_refused_never_a_500(
    server: ServerProcess, svix_client: Svix, app_id: str
) -> None:
    with portal(server, svix_client, app_id) as p:
        for path in (
            "/messages?iterator=%00",
            "/messages?iterator=" + "x" * 5000,
            "/messages?iterator=%ff%fe",
            "/messages?event_type=%00",
            "/endpoints/%00",
            "/endpoints/" + "e" * 3000,
            "/endpoints/ep_nope/messages?status=%00",
            "/messages/%00",
            "/messages/msg_nope/attempts",
        ):
            answer = p.get(path)
            assert 200 <= answer.status_code < 500, f"{path}: {answer.status_code}"
        for form in (
            {"url": "http://example.com/\x00"},
            {"url": "https://example.com/", "description": "nul \x00 here"},
            {"url": "https://example.com/", "event_types": ["bad type!"]},
            {"url": "x" * 70_000},
        ):
            answer = p.post("/endpoints", form)
            assert answer.status_code == 422, form
        for body in (b"\xff\xfe", b'["x"]', b'{"token": 5}', b"{" * 1000):
            answer = p.client.post(
                f"{p.base}/session", content=body, headers={"content-type": "application/json"}
            )
            assert answer.status_code == 401, body
    assert svix_client.endpoint.list(app_id).data == []
