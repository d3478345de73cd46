"""core.endpoint_health: the failure streak of an endpoint and when it is disabled."""

from __future__ import annotations

import pytest

from hookgate.config import Settings
from hookgate.core.endpoint_health import (
    DAY_MS,
    Health,
    assess,
    failing_days,
    failing_since_after,
    should_disable,
)

PERIOD = 5 * DAY_MS
T = 1_700_000_000_000


def ok(at: int) -> tuple[int, bool]:
    return (at, True)


def fail(at: int) -> tuple[int, bool]:
    return (at, False)


@pytest.mark.parametrize(
    ("current", "attempts", "expected"),
    [
        # No attempts: nothing changes.
        (None, [], None),
        (T, [], T),
        # Only failures: a streak starts at the first (in time, not in order)...
        (None, [fail(T + 9), fail(T + 3)], T + 3),
        # ...or goes on.
        (T, [fail(T + 9)], T),
        # The last attempt succeeded: no streak.
        (T, [fail(T + 1), ok(T + 2)], None),
        (None, [ok(T + 5), fail(T + 1)], None),
        (None, [ok(T)], None),
        # Failures after the last success start a new streak at the first of them.
        (T - 100, [fail(T + 1), ok(T + 2), fail(T + 7), fail(T + 4)], T + 4),
        # A failure at the same millisecond as a success counts as before it.
        (None, [ok(T), fail(T)], None),
        # A success older than the stored streak (recorded late) does not end it.
        (T + 10, [ok(T + 2)], T + 10),
        (T + 10, [ok(T + 2), fail(T + 5)], T + 5),
        (T + 10, [ok(T + 2), fail(T + 50)], T + 10),
    ],
)
def test_failing_since_after(
    current: int | None, attempts: list[tuple[int, bool]], expected: int | None
) -> None:
    assert failing_since_after(current, attempts) == expected


def test_should_disable_once_the_period_is_reached() -> None:
    assert not should_disable(T, T + PERIOD - 1, PERIOD)
    assert should_disable(T, T + PERIOD, PERIOD)
    assert should_disable(T, T + 3 * PERIOD, PERIOD)


def test_should_disable_never_without_a_streak_or_with_period_zero() -> None:
    assert not should_disable(None, T + 100 * PERIOD, PERIOD)
    assert not should_disable(T, T + 100 * PERIOD, 0)


def test_assess_disables_on_a_failure_after_the_period() -> None:
    now = T + PERIOD
    assert assess(T, [fail(now - 5)], now, PERIOD) == Health(T, disable=True)


def test_assess_does_not_disable_before_the_period() -> None:
    now = T + PERIOD - 1
    assert assess(T, [fail(now - 5)], now, PERIOD) == Health(T, disable=False)


def test_assess_never_disables_on_successes_only() -> None:
    now = T + 2 * PERIOD
    assert assess(T, [ok(now - 5)], now, PERIOD) == Health(None, disable=False)


def test_assess_with_a_success_after_the_failures_does_not_disable() -> None:
    now = T + PERIOD + 100
    assert assess(T, [fail(now - 9), ok(now - 5)], now, PERIOD) == Health(None, disable=False)


def test_assess_with_period_zero_tracks_but_never_disables() -> None:
    now = T + 100 * PERIOD
    assert assess(T, [fail(now - 5)], now, 0) == Health(T, disable=False)
    assert assess(None, [fail(now - 5)], now, 0) == Health(now - 5, disable=False)


def test_assess_forgives_a_streak_older_than_twice_the_period() -> None:
    # Failed once, then no traffic for weeks: the next failure starts afresh.
    now = T + 2 * PERIOD + 1
    assert assess(T, [fail(now - 5)], now, PERIOD) == Health(now - 5, disable=False)
    # Exactly two periods is not yet forgiven.
    now = T + 2 * PERIOD
    assert assess(T, [fail(now - 5)], now, PERIOD) == Health(T, disable=True)


def test_failing_days_counts_whole_days() -> None:
    assert failing_days(T, T + 5 * DAY_MS + DAY_MS - 1) == 5
    assert failing_days(T, T) == 0
    assert failing_days(T, T - 10) == 0


def test_the_setting_defaults_to_five_days_and_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().disable_after_days == 5
    monkeypatch.setenv("HOOKGATE_DISABLE_AFTER_DAYS", "0")
    assert Settings().disable_after_days == 0
    monkeypatch.setenv("HOOKGATE_DISABLE_AFTER_DAYS", "-1")
    with pytest.raises(ValueError, match="disable_after_days"):
        Settings()
