"""The one-line explanations of attempt outcomes, for each kind of failure.

The messages are in the shapes ``delivery.sender`` and ``core.netpolicy``
write them; the blocked-address ones come from the policy itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hookgate.core.attempt_explain import explain, human_duration
from hookgate.core.netpolicy import AddressPolicy
from hookgate.core.outcome import ErrorKind

URL = "https://api.example.com/hooks/secret-path?token=abc"


@dataclass(frozen=True)
class FakeAttempt:
    url: str = URL
    status: int = 2
    response_status_code: int = 0
    response_duration_ms: int = 0
    error_kind: str | None = None
    error_message: str | None = None


def failed(kind: ErrorKind, message: str, url: str = URL) -> str:
    result = explain(FakeAttempt(url=url, error_kind=kind.value, error_message=message))
    assert not result.ok
    return result.text


def test_success_says_status_and_time() -> None:
    result = explain(FakeAttempt(status=0, response_status_code=200, response_duration_ms=45))
    assert result.ok
    assert result.text == "the endpoint answered 200 in 45 ms"


def test_success_notes_a_response_over_the_cap() -> None:
    result = explain(
        FakeAttempt(
            status=0,
            response_status_code=200,
            response_duration_ms=2100,
            error_message="response body over the 16384-byte cap; the rest was not read",
        )
    )
    assert result.ok
    assert result.text == (
        "the endpoint answered 200 in 2.1 s; its response was longer than 16384 bytes"
        " and was cut there"
    )


def test_http_500_after_time() -> None:
    result = explain(
        FakeAttempt(
            response_status_code=500,
            response_duration_ms=2100,
            error_kind="http_status",
            error_message="HTTP 500",
        )
    )
    assert not result.ok
    assert result.text.startswith("the endpoint answered 500 after 2.1 s")
    assert "error inside the receiving application" in result.text


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (301, "redirect"),
        (401, "signature"),
        (404, "nothing at this URL"),
        (410, "disabled"),
        (429, "slow down"),
    ],
)
def test_http_statuses_carry_a_hint(code: int, words: str) -> None:
    result = explain(
        FakeAttempt(response_status_code=code, response_duration_ms=30, error_kind="http_status")
    )
    assert result.text.startswith(f"the endpoint answered {code} after 30 ms (")
    assert words in result.text


def test_unusual_http_status_has_no_hint() -> None:
    result = explain(FakeAttempt(response_status_code=418, response_duration_ms=5))
    assert result.text == "the endpoint answered 418 after 5 ms"


def test_http_status_with_incomplete_body() -> None:
    message = "HTTP 502; response body incomplete: connection to api.example.com:443 was reset"
    result = explain(FakeAttempt(response_status_code=502, error_message=message))
    assert result.text.endswith("; its response body arrived incomplete")


def test_timeout_waiting_for_an_answer() -> None:
    assert failed(ErrorKind.TIMEOUT, "no response within 15.0 s") == "no answer within 15 s"
    assert failed(ErrorKind.TIMEOUT, "no response within 2.5 s") == "no answer within 2.5 s"


def test_timeout_while_connecting() -> None:
    text = failed(ErrorKind.TIMEOUT, "connecting to 10.0.0.5:443 timed out")
    assert text == "the connection to 10.0.0.5:443 timed out"


def test_dns_failure_names_the_host() -> None:
    text = failed(
        ErrorKind.DNS_FAILURE, "could not resolve host api.example.com (Name or service not known)"
    )
    assert text == "the name api.example.com did not resolve"


def test_connection_refused_names_host_and_port() -> None:
    text = failed(
        ErrorKind.CONNECTION_REFUSED,
        "connection refused by 10.0.0.5:443 (is the receiver running on that port?)",
    )
    assert text.startswith("the connection to 10.0.0.5:443 was refused")


def test_connection_refused_falls_back_to_the_url() -> None:
    text = failed(ErrorKind.CONNECTION_REFUSED, "", url="http://hooks.example.org/x")
    assert text.startswith("the connection to hooks.example.org:80 was refused")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("connection to api.example.com:443 was reset", "the connection to api.example.com:443"),
        (
            "api.example.com:443 closed the connection before sending a complete response",
            "api.example.com:443 closed the connection before answering completely",
        ),
        (
            "response from api.example.com:443 was cut short: Not enough data",
            "the answer from api.example.com:443 was cut short",
        ),
    ],
)
def test_connection_reset(message: str, expected: str) -> None:
    assert failed(ErrorKind.CONNECTION_RESET, message).startswith(expected)


def test_expired_certificate() -> None:
    message = (
        "TLS certificate of api.example.com:443 rejected: [SSL: CERTIFICATE_VERIFY_FAILED]"
        " certificate verify failed: certificate has expired (_ssl.c:1000)"
    )
    text = failed(ErrorKind.TLS_ERROR, message)
    assert text == "the TLS handshake failed: certificate has expired"


def test_tls_handshake_failure() -> None:
    message = (
        "TLS handshake with api.example.com:443 failed: [SSL: WRONG_VERSION_NUMBER]"
        " wrong version number (_ssl.c:1000)"
    )
    assert failed(ErrorKind.TLS_ERROR, message) == "the TLS handshake failed: wrong version number"


def test_blocked_ip_literal_says_how_to_allow_it() -> None:
    reason = AddressPolicy().blocked_reason("127.0.0.1")
    assert reason is not None
    text = failed(ErrorKind.BLOCKED_ADDRESS, reason, url="http://127.0.0.1:9000/hook")
    assert text == (
        "the address 127.0.0.1 is a loopback address and not allowed"
        " (allow it with HOOKGATE_ALLOWED_SUBNETS=127.0.0.1/32)"
    )


def test_blocked_private_address_behind_a_name() -> None:
    reason = AddressPolicy().blocked_reason("10.0.0.5")
    message = f"host internal.example.com resolves only to refused addresses: {reason}"
    text = failed(ErrorKind.BLOCKED_ADDRESS, message)
    assert text.startswith("the name internal.example.com points to 10.0.0.5, a private address")
    assert "HOOKGATE_ALLOWED_SUBNETS=10.0.0.5/32" in text


def test_invalid_url() -> None:
    text = failed(
        ErrorKind.INVALID_URL,
        "unsupported URL scheme 'ftp'; only http and https are allowed",
        url="ftp://x",
    )
    assert text.startswith("the endpoint URL is not valid: unsupported URL scheme 'ftp'")
    text = failed(ErrorKind.INVALID_URL, "invalid URL: it has no host")
    assert text == "the endpoint URL is not valid: it has no host"


def test_other_connection_error() -> None:
    text = failed(
        ErrorKind.CONNECTION_ERROR, "could not connect to api.example.com:443: Network unreachable"
    )
    assert text == "the connection to api.example.com:443 failed: Network unreachable"


def test_unknown_kind_keeps_the_stored_message() -> None:
    result = explain(FakeAttempt(error_kind="something_new", error_message="odd failure"))
    assert result.text == "the attempt failed: odd failure"
    assert explain(FakeAttempt()).text == "the attempt failed without an answer from the endpoint"


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0 ms"),
        (999, "999 ms"),
        (1000, "1 s"),
        (2149, "2.1 s"),
        (15000, "15 s"),
        (125000, "2 min 5 s"),
        (3_600_000, "1 h"),
        (12_030_000, "3 h 20 min"),
    ],
)
def test_human_duration(ms: int, text: str) -> None:
    assert human_duration(ms) == text


def test_sentence_form() -> None:
    result = explain(FakeAttempt(error_kind="timeout", error_message="no response within 15.0 s"))
    assert result.sentence == "No answer within 15 s."
