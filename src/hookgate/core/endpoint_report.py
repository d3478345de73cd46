"""An endpoint's health as a person reads it, from its newest attempts and
its state: success rate, a timeline, the current streak, and whether it is
delivering, failing, paused or disabled, and why. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

#: HTTP status by which an endpoint asks to be disabled.
GONE = 410


class State(StrEnum):
    """What an endpoint is doing, worst first."""

    DISABLED = "disabled"
    PAUSED = "paused"
    FAILING = "failing"
    HEALTHY = "healthy"
    #: No attempt made yet.
    IDLE = "idle"


class DisabledBy(StrEnum):
    """Why a disabled endpoint is disabled, as far as its state tells."""

    #: Its last attempt was answered 410 Gone.
    GONE = "gone"
    #: Every attempt failed for the auto-disable period.
    FAILING = "failing"
    #: Disabled through the API or the dashboard.
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt, as the report needs it."""

    succeeded: bool
    status_code: int
    at_ms: int


@dataclass(frozen=True, slots=True)
class Report:
    state: State
    #: Successful share of the attempts looked at (0-1); None for none.
    success_rate: float | None
    #: The attempts looked at, oldest first (True: succeeded).
    timeline: list[bool]
    #: Attempts in a row with the same result as the newest one.
    streak: int
    streak_succeeded: bool
    #: Whether the streak may be longer than the attempts looked at.
    streak_open_ended: bool
    disabled_by: DisabledBy | None
    #: Start of the failure streak (epoch ms) when failing or auto-disabled.
    failing_since: int | None
    #: Set when paused: claims skip the endpoint until then (epoch ms).
    paused_until: int | None


def report(
    recent: Sequence[Outcome],
    *,
    disabled: bool,
    failing_since: int | None,
    paused_until: int | None,
    now_ms: int,
    disable_after_ms: int,
    looked_at: int,
) -> Report:
    """The ``Report`` of an endpoint from its newest attempts ``recent``
    (newest first; at most ``looked_at`` were asked for)."""
    timeline = [outcome.succeeded for outcome in reversed(recent)]
    streak = 0
    for outcome in recent:
        if outcome.succeeded != recent[0].succeeded:
            break
        streak += 1
    disabled_by = None
    if disabled:
        disabled_by = _disabled_by(recent, failing_since, now_ms, disable_after_ms)
    paused = paused_until is not None and paused_until > now_ms
    if disabled:
        state = State.DISABLED
    elif paused:
        state = State.PAUSED
    elif not recent:
        state = State.IDLE
    elif failing_since is not None or not recent[0].succeeded:
        state = State.FAILING
    else:
        state = State.HEALTHY
    return Report(
        state=state,
        success_rate=sum(timeline) / len(timeline) if timeline else None,
        timeline=timeline,
        streak=streak,
        streak_succeeded=bool(recent) and recent[0].succeeded,
        streak_open_ended=bool(recent) and streak == len(recent) and len(recent) >= looked_at,
        disabled_by=disabled_by,
        failing_since=failing_since,
        paused_until=paused_until if paused else None,
    )


def _disabled_by(
    recent: Sequence[Outcome], failing_since: int | None, now_ms: int, disable_after_ms: int
) -> DisabledBy:
    if recent and recent[0].status_code == GONE:
        return DisabledBy.GONE
    if (
        disable_after_ms > 0
        and failing_since is not None
        and now_ms - failing_since >= disable_after_ms
    ):
        return DisabledBy.FAILING
    return DisabledBy.OPERATOR
