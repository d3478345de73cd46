"""Logging in to the dashboard, in a real browser and over plain HTTP: the
session cookie's flags, CSRF on every form, logout, and the token never
appearing in a URL or a page."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.browser import Screenshots, log_in
from tests.e2e.dashboard import csrf_of
from tests.e2e.harness import ServerProcess, unique
from tests.e2e.test_token_revocation import _cli


def _login_form(client: httpx.Client, next_path: str = "/") -> str:
    """The CSRF token of a fresh login form."""
    page = client.get(f"/login?next={next_path}")
    assert page.status_code == 200
    return csrf_of(page.text)


def test_log_in_and_out_in_a_browser(
    page: Page, server: ServerProcess, screenshots: Screenshots
) -> None:
    page.goto(f"{server.url}/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    page.get_by_label("API token").fill("hg_wrong_token")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("not a valid API token")
    screenshots.take(page, "wrong-token")

    log_in(page, server.url, server.token)
    screenshots.take(page, "overview")
    cookie = next(c for c in page.context.cookies() if c["name"] == "hookgate_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert server.token not in page.content()
    assert server.token not in page.url

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(f"{server.url}/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))


def test_login_needs_the_forms_csrf_token(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as client:
        refused = client.post("/login", data={"token": server.token, "csrf_token": "forged"})
        assert refused.status_code == 403
        assert "hookgate_session" not in refused.cookies

        csrf = _login_form(client)
        answer = client.post("/login", data={"token": server.token, "csrf_token": csrf})
        assert answer.status_code == 303
        assert "hookgate_session" in answer.cookies
        assert client.get("/").status_code == 200


def test_a_form_without_the_sessions_csrf_token_is_refused(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as client:
        csrf = _login_form(client)
        client.post("/login", data={"token": server.token, "csrf_token": csrf})
        assert client.post("/logout").status_code == 403
        assert client.post("/logout", data={"csrf_token": "0" * 64}).status_code == 403
        # Still logged in: the forged logouts changed nothing.
        assert client.get("/").status_code == 200


def test_pages_redirect_to_the_login_and_never_answer_json(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as client:
        answer = client.get("/?since=1h")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2F%3Fsince%3D1h"
        missing = client.get("/no/such/page")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        # An htmx request is told where to go instead of following a redirect.
        fragment = client.get("/", headers={"HX-Request": "true"})
        assert fragment.headers["hx-redirect"] == "/login?next=%2F"


def test_login_does_not_redirect_off_site(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as client:
        csrf = _login_form(client)
        answer = client.post(
            "/login",
            data={"token": server.token, "csrf_token": csrf, "next": "//evil.example/"},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/"


def test_a_revoked_api_token_ends_its_dashboard_sessions(server: ServerProcess) -> None:
    token = _cli(server, "token", "create", "--name", unique("dashboard")).strip()
    with httpx.Client(base_url=server.url) as client:
        csrf = _login_form(client)
        client.post("/login", data={"token": token, "csrf_token": csrf})
        assert client.get("/").status_code == 200
        _cli(server, "token", "revoke", token)
        assert client.get("/").status_code == 303


def test_the_token_logged_in_with_appears_in_no_log(server: ServerProcess) -> None:
    token = _cli(server, "token", "create", "--name", unique("logged")).strip()
    with httpx.Client(base_url=server.url) as client:
        csrf = _login_form(client)
        assert client.post("/login", data={"token": token, "csrf_token": csrf}).status_code == 303
        assert client.get("/").status_code == 200
        csrf = _login_form(client)
        client.post("/login", data={"token": token + "-wrong", "csrf_token": csrf})
    assert token not in server.logs()
