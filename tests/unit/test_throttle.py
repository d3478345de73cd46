"""The send-slot arithmetic behind throttleRate (``core.throttle``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookgate.core.throttle import effective_rate, reserve

NOW = 1_700_000_000_000


def test_an_endpoint_rate_wins_over_its_application_rate() -> None:
    assert effective_rate(7, 3) == 7
    assert effective_rate(None, 3) == 3
    assert effective_rate(None, None) is None


def test_slots_are_spaced_evenly_from_now() -> None:
    taken = reserve(0, NOW, 4, 10, horizon_ms=1_000)
    assert taken.slots == (NOW, NOW + 250, NOW + 500, NOW + 750)
    assert taken.next_free == NOW + 1_000


def test_a_reservation_continues_where_the_last_one_ended() -> None:
    first = reserve(0, NOW, 3, 2, horizon_ms=10_000)
    second = reserve(first.next_free, NOW + 10, 3, 2, horizon_ms=10_000)
    assert first.slots == (NOW, NOW + 334)
    assert second.slots == (NOW + 667, NOW + 1_001)


def test_no_slot_leaves_the_budget_as_it_was() -> None:
    taken = reserve(NOW + 5_000, NOW, 10, 3, horizon_ms=1_000)
    assert taken.slots == ()
    assert taken.next_free == NOW + 5_000


def test_a_rate_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        reserve(0, NOW, 0, 1, horizon_ms=1_000)


@given(
    rate=st.integers(1, 2_000),
    claims=st.lists(
        st.tuples(st.integers(0, 700), st.integers(0, 50), st.integers(1, 3_000)),
        min_size=1,
        max_size=40,
    ),
)
def test_no_second_ever_holds_more_than_rate_slots(
    rate: int, claims: list[tuple[int, int, int]]
) -> None:
    """Whatever the claim times, sizes and horizons: every slot lies in
    [now, now + horizon) of its claim, and any ``rate + 1`` consecutive slots
    span at least a second."""
    next_free, now = 0, NOW
    slots: list[int] = []
    for gap, wanted, horizon in claims:
        now += gap
        taken = reserve(next_free, now, rate, wanted, horizon)
        assert all(now <= slot < now + horizon for slot in taken.slots)
        assert len(taken.slots) <= wanted
        slots += taken.slots
        next_free = taken.next_free
    assert slots == sorted(slots)
    assert all(later - earlier >= 1000 for earlier, later in zip(slots, slots[rate:], strict=False))


@given(rate=st.integers(1, 500), seconds=st.integers(1, 20))
def test_steady_demand_gets_the_whole_rate(rate: int, seconds: int) -> None:
    """Claiming every 100 ms with a 2 s horizon uses every slot the rate allows."""
    next_free, count = 0, 0
    for step in range(seconds * 10):
        taken = reserve(next_free, NOW + step * 100, rate, 10_000, 2_000)
        next_free, count = taken.next_free, count + len(taken.slots)
    # Every slot up to the last claim's horizon, about ``rate`` per second.
    assert rate * seconds <= count <= rate * (seconds + 2)
