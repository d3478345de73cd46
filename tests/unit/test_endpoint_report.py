"""``core.endpoint_report``: an endpoint's health as the dashboard shows it."""

from __future__ import annotations

from hookgate.core.endpoint_report import DisabledBy, Outcome, Report, State, report

NOW = 1_700_000_000_000
DAY = 86_400_000


def outcomes(*results: bool | int) -> list[Outcome]:
    """Newest first; True/False for 200/500, an int for that status (failed)."""
    made = []
    for index, result in enumerate(results):
        code = result if isinstance(result, int) and not isinstance(result, bool) else 0
        ok = result is True
        made.append(Outcome(ok, 200 if ok else (code or 500), NOW - index * 1000))
    return made


def make(recent: list[Outcome], **state: object) -> Report:
    options: dict[str, object] = {
        "disabled": False,
        "failing_since": None,
        "paused_until": None,
        "now_ms": NOW,
        "disable_after_ms": 5 * DAY,
        "looked_at": 10,
        **state,
    }
    return report(recent, **options)  # type: ignore[arg-type]


def test_rate_timeline_and_streak() -> None:
    r = make(outcomes(True, True, False, True))
    assert r.state is State.HEALTHY
    assert r.success_rate == 0.75
    assert r.timeline == [True, False, True, True]  # oldest first
    assert (r.streak, r.streak_succeeded, r.streak_open_ended) == (2, True, False)


def test_a_streak_as_long_as_what_was_looked_at_may_be_longer() -> None:
    r = make(outcomes(False, False, False), looked_at=3, failing_since=NOW - DAY)
    assert r.state is State.FAILING
    assert (r.streak, r.streak_succeeded, r.streak_open_ended) == (3, False, True)
    assert r.failing_since == NOW - DAY


def test_no_attempt_yet() -> None:
    r = make([])
    assert r.state is State.IDLE
    assert r.success_rate is None
    assert r.streak == 0


def test_paused_until_a_time_to_come_only() -> None:
    assert make(outcomes(False), paused_until=NOW + 5000).state is State.PAUSED
    past = make(outcomes(True), paused_until=NOW - 1)
    assert past.state is State.HEALTHY
    assert past.paused_until is None


def test_why_an_endpoint_is_disabled() -> None:
    gone = make(outcomes(410, False), disabled=True, failing_since=NOW - 60_000)
    assert (gone.state, gone.disabled_by) == (State.DISABLED, DisabledBy.GONE)
    failing = make(outcomes(False), disabled=True, failing_since=NOW - 6 * DAY)
    assert failing.disabled_by is DisabledBy.FAILING
    recent_failure = make(outcomes(False), disabled=True, failing_since=NOW - DAY)
    assert recent_failure.disabled_by is DisabledBy.OPERATOR
    never_auto = make(
        outcomes(False), disabled=True, failing_since=NOW - 9 * DAY, disable_after_ms=0
    )
    assert never_auto.disabled_by is DisabledBy.OPERATOR
    assert make(outcomes(True), disabled=True).disabled_by is DisabledBy.OPERATOR
