"""When an endpoint that keeps failing is disabled automatically.

Svix's rule: an endpoint is disabled once every attempt to it has failed for a
while (5 days by default), with no success in between. The store keeps, per
endpoint, ``failing_since``: the start time (epoch ms) of the first failed
attempt since the last successful one, or None when the last attempt
succeeded (or none was made).

As in Svix, failures are forgiven after twice the period: a streak that
started longer ago than that is over, and the next failure starts a new one.
So an endpoint that failed once, then got no traffic for weeks, is not
disabled by its next failure. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hookgate.core.clock import DAY_MS

#: Svix's default: disable after 5 days of nothing but failures.
DEFAULT_DISABLE_AFTER_DAYS = 5

#: A failure streak older than this many periods is forgiven.
FORGIVE_AFTER_PERIODS = 2


@dataclass(frozen=True, slots=True)
class Health:
    """An endpoint's state after a batch of attempts: its new
    ``failing_since``, and whether it must be disabled now."""

    failing_since: int | None
    disable: bool


def failing_since_after(current: int | None, attempts: Iterable[tuple[int, bool]]) -> int | None:
    """``failing_since`` after recording ``attempts`` — ``(started_at_ms,
    succeeded)`` pairs, in any order — for an endpoint whose ``failing_since``
    was ``current``.

    A success ends the failure streak; the first failure after the last
    success starts one, unless one is running already. A success older than
    ``current`` (results recorded late, after another process recorded later
    failures) does not end the streak that began after it. A failure at the
    same millisecond as a success counts as before it.
    """
    last_success: int | None = None
    failures: list[int] = []
    for started_at, succeeded in attempts:
        if succeeded:
            last_success = started_at if last_success is None else max(last_success, started_at)
        else:
            failures.append(started_at)
    if last_success is None:
        if current is not None or not failures:
            return current
        return min(failures)
    after = [t for t in failures if t > last_success]
    if current is not None and current > last_success:
        return min([current, *after])
    return min(after) if after else None


def should_disable(failing_since: int | None, now_ms: int, disable_after_ms: int) -> bool:
    """Whether an endpoint failing since ``failing_since`` has failed for
    ``disable_after_ms`` or longer at ``now_ms`` (``disable_after_ms`` 0 =
    never disable)."""
    return (
        disable_after_ms > 0
        and failing_since is not None
        and now_ms - failing_since >= disable_after_ms
    )


def assess(
    current: int | None,
    attempts: Iterable[tuple[int, bool]],
    now_ms: int,
    disable_after_ms: int,
) -> Health:
    """The endpoint's health at ``now_ms`` after ``attempts`` (see
    ``failing_since_after``), given its stored ``failing_since``
    (``current``).

    It is disabled only when the batch holds a failed attempt and, after it,
    the endpoint has been failing for ``disable_after_ms`` (0 = never): a batch
    of successes, or one without attempts, never disables. A streak started
    more than ``FORGIVE_AFTER_PERIODS`` periods before ``now_ms`` is forgiven
    (treated as over) first.
    """
    attempts = list(attempts)
    if (
        current is not None
        and disable_after_ms > 0
        and now_ms - current > FORGIVE_AFTER_PERIODS * disable_after_ms
    ):
        current = None
    since = failing_since_after(current, attempts)
    failed = any(not succeeded for _, succeeded in attempts)
    return Health(since, failed and should_disable(since, now_ms, disable_after_ms))


def failing_days(failing_since: int, now_ms: int) -> int:
    """Whole days an endpoint failing since ``failing_since`` has been failing."""
    return max(0, now_ms - failing_since) // DAY_MS
