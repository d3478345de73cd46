from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hookgate.core.httpdate import parse_retry_after
from hookgate.core.outcome import ErrorKind, SendResult, Verdict, classify

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def _response(status: int, retry_after: float | None = None) -> SendResult:
    return SendResult(status_code=status, body=b"", duration_ms=12, retry_after=retry_after)


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_succeeds(status: int) -> None:
    outcome = classify(_response(status))
    assert outcome.verdict is Verdict.SUCCESS
    assert not outcome.slow_down


@pytest.mark.parametrize("status", [301, 302, 307, 400, 401, 404, 500, 503])
def test_other_statuses_retry_without_slowing_down(status: int) -> None:
    outcome = classify(_response(status))
    assert outcome.verdict is Verdict.RETRY
    assert not outcome.slow_down


def test_410_gone_disables_the_endpoint() -> None:
    assert classify(_response(410)).verdict is Verdict.DISABLE_ENDPOINT


@pytest.mark.parametrize("status", [429, 502, 504])
def test_overload_statuses_retry_slow_down_and_carry_retry_after(status: int) -> None:
    outcome = classify(_response(status, retry_after=30.0))
    assert outcome.verdict is Verdict.RETRY
    assert outcome.slow_down
    assert outcome.retry_after == 30.0
    assert classify(_response(status)).retry_after is None


def test_server_error_retry_after_is_passed_on() -> None:
    assert classify(_response(503, retry_after=60.0)).retry_after == 60.0


@pytest.mark.parametrize("kind", [ErrorKind.TIMEOUT, ErrorKind.CONNECTION_REFUSED])
def test_no_response_retries(kind: ErrorKind) -> None:
    result = SendResult(status_code=None, body=b"", duration_ms=15000, error_kind=kind)
    assert not result.succeeded
    outcome = classify(result)
    assert outcome.verdict is Verdict.RETRY
    assert not outcome.slow_down


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("Wed, 01 May 2024 12:02:00 GMT", 120.0),
        ("Wednesday, 01-May-24 12:00:30 GMT", 30.0),  # obsolete RFC 850 form
        ("Wed, 01 May 2024 14:00:10 +0200", 10.0),
        ("Wed, 01 May 2024 11:00:00 GMT", 0.0),  # in the past
    ],
)
def test_parse_retry_after(value: str, expected: float) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    "value",
    [None, "", "  ", "-5", "1e3", "1.5", "soon", "5 minutes", "Wed, 32 May 2024 12:00:00 GMT"],
)
def test_parse_retry_after_ignores_garbage(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_parse_retry_after_takes_naive_now_as_utc() -> None:
    naive_now = NOW.replace(tzinfo=None)
    later = NOW + timedelta(seconds=90)
    assert parse_retry_after(later.strftime("%a, %d %b %Y %H:%M:%S GMT"), naive_now) == 90.0
