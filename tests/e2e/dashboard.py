"""Driving the dashboard over plain HTTP: a logged-in ``httpx`` client and the
CSRF token its pages carry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.e2e.harness import ServerProcess

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    match = CSRF.search(html)
    assert match, html
    return match.group(1)


@contextmanager
def operator_client(server: ServerProcess, token: str | None = None) -> Iterator[httpx.Client]:
    """An ``httpx`` client logged in to ``server``'s dashboard (with the
    admin token unless ``token``); redirects are not followed."""
    with httpx.Client(base_url=server.url, timeout=15.0) as client:
        login = client.get("/login")
        assert login.status_code == 200
        answer = client.post(
            "/login", data={"token": token or server.token, "csrf_token": csrf_of(login.text)}
        )
        assert answer.status_code == 303, answer.text
        yield client
