"""core.endpoint_pacing: the breaker's pause growth and a troubled endpoint's wait."""

from __future__ import annotations

import pytest

from hookgate.core.endpoint_pacing import WAIT_DOUBLINGS, breaker_pause, troubled_share


@pytest.mark.parametrize(
    ("trips", "pause"), [(1, 5.0), (2, 10.0), (3, 20.0), (6, 160.0), (7, 300.0), (40, 300.0)]
)
def test_the_breaker_pause_doubles_with_each_trip_up_to_the_most(trips: int, pause: float) -> None:
    assert breaker_pause(trips, 5.0, 300.0) == pause


def test_a_long_streak_of_trips_keeps_the_pause_at_the_most() -> None:
    assert breaker_pause(10_000, 5.0, 300.0) == 300.0


def test_the_first_unclean_attempt_waits_a_64th_of_the_full_wait() -> None:
    assert WAIT_DOUBLINGS == 6
    assert troubled_share(1) == 1 / 64


@pytest.mark.parametrize(("unclean", "share"), [(2, 1 / 32), (3, 1 / 16), (6, 1 / 2), (7, 1.0)])
def test_each_further_unclean_attempt_doubles_the_wait(unclean: int, share: float) -> None:
    assert troubled_share(unclean) == share


def test_the_wait_never_exceeds_the_full_one() -> None:
    assert troubled_share(1_000) == 1.0
