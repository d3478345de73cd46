"""Which endpoint URLs the API refuses before storing them (``api.urlpolicy``)."""

from __future__ import annotations

import pytest

from hookgate.api.urlpolicy import url_problem
from hookgate.config import Settings


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",
        "http://[::1]:8080/",
        "http://[fe80::1%25eth0]/",
        "http://169.254.169.254/latest",
        "http://0x7f.1/",
        "http://2130706433/",
    ],
)
def test_blocked_literals_are_refused_with_the_way_to_allow_them(url: str) -> None:
    problem = url_problem(url, Settings())
    assert problem is not None
    assert "HOOKGATE_ALLOWED_SUBNETS=" in problem


def test_an_allowed_subnet_admits_its_literals() -> None:
    settings = Settings(allowed_subnets="10.0.0.0/8,::1/128")
    assert url_problem("http://10.0.0.5/hook", settings) is None
    assert url_problem("http://[::1]:8080/", settings) is None
    assert url_problem("http://192.168.0.1/", settings) is not None


@pytest.mark.parametrize(
    "url", ["https://example.com/hook", "http://internal.example:8080/", "http://localhost/"]
)
def test_names_and_public_addresses_pass(url: str) -> None:
    assert url_problem(url, Settings()) is None


def test_https_only_refuses_plain_http() -> None:
    settings = Settings(endpoint_https_only=True)
    problem = url_problem("http://example.com/", settings)
    assert problem is not None
    assert "HOOKGATE_ENDPOINT_HTTPS_ONLY" in problem
    assert url_problem("https://example.com/", settings) is None
    assert url_problem("https://8.8.8.8/", settings) is None
