"""Properties of the retry schedule over generated policies: how many
attempts, jitter bounds, ``Retry-After`` bounds, and that the schedule only
moves forward."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookgate.core.retry import DEFAULT_RETRY_SCHEDULE, RetryPolicy, parse_schedule

DELAYS = st.floats(0, 10 * 86400, allow_nan=False, allow_infinity=False)
SCHEDULES = st.lists(DELAYS, max_size=12).map(tuple)
JITTER = st.floats(0, 1)
SEEDS = st.integers(0, 2**32)
SLACK = 1e-9


def within(value: float, low: float, high: float) -> bool:
    return low * (1 - SLACK) - SLACK <= value <= high * (1 + SLACK) + SLACK


@given(schedule=SCHEDULES, jitter=JITTER, seed=SEEDS)
def test_one_delay_per_scheduled_retry_then_give_up(
    schedule: tuple[float, ...], jitter: float, seed: int
) -> None:
    policy = RetryPolicy(schedule=schedule, jitter=jitter)
    rng = random.Random(seed)
    delays = [policy.next_delay(n, rng=rng) for n in range(1, policy.max_attempts + 3)]
    assert policy.max_attempts == len(schedule) + 1
    assert all(d is not None for d in delays[: len(schedule)])
    assert delays[len(schedule) :] == [None, None, None]


@given(schedule=SCHEDULES.filter(bool), jitter=JITTER, seed=SEEDS, data=st.data())
def test_jitter_stays_within_its_fraction_of_the_scheduled_delay(
    schedule: tuple[float, ...], jitter: float, seed: int, data: st.DataObject
) -> None:
    policy = RetryPolicy(schedule=schedule, jitter=jitter)
    attempt = data.draw(st.integers(1, len(schedule)))
    delay = policy.next_delay(attempt, rng=random.Random(seed))
    scheduled = schedule[attempt - 1]
    assert delay is not None
    assert delay >= 0
    assert within(delay, scheduled * (1 - jitter), scheduled * (1 + jitter))


@given(
    schedule=SCHEDULES.filter(bool),
    jitter=JITTER,
    retry_after=st.floats(allow_nan=True),
    cap=DELAYS,
    seed=SEEDS,
)
def test_retry_after_lengthens_up_to_the_cap_and_never_shortens(
    schedule: tuple[float, ...], jitter: float, retry_after: float, cap: float, seed: int
) -> None:
    policy = RetryPolicy(schedule=schedule, jitter=jitter, max_retry_after=cap)
    plain = policy.next_delay(1, rng=random.Random(seed))
    told = policy.next_delay(1, retry_after=retry_after, rng=random.Random(seed))
    assert plain is not None
    assert told is not None
    assert told >= plain
    assert math.isfinite(told)
    if math.isnan(retry_after):
        assert told == plain
    else:
        assert told == max(plain, min(retry_after, cap))


@given(schedule=SCHEDULES.map(sorted), seed=SEEDS)
def test_a_non_decreasing_schedule_without_jitter_never_retries_sooner(
    schedule: list[float], seed: int
) -> None:
    policy = RetryPolicy(schedule=tuple(schedule), jitter=0)
    rng = random.Random(seed)
    delays = [policy.next_delay(n, rng=rng) for n in range(1, policy.max_attempts)]
    assert delays == schedule


@given(schedule=SCHEDULES, jitter=JITTER, seed=SEEDS)
def test_attempt_times_only_move_forward(
    schedule: tuple[float, ...], jitter: float, seed: int
) -> None:
    policy = RetryPolicy(schedule=schedule, jitter=jitter)
    rng = random.Random(seed)
    elapsed = [0.0]
    for attempt in range(1, policy.max_attempts):
        delay = policy.next_delay(attempt, rng=rng)
        assert delay is not None
        elapsed.append(elapsed[-1] + delay)
    assert elapsed == sorted(elapsed)


def test_the_default_schedule_never_shortens() -> None:
    assert list(DEFAULT_RETRY_SCHEDULE) == sorted(DEFAULT_RETRY_SCHEDULE)


@given(schedule=SCHEDULES)
def test_schedules_survive_their_text_form(schedule: tuple[float, ...]) -> None:
    assert parse_schedule(",".join(repr(d) for d in schedule)) == schedule


@given(text=st.text(max_size=40))
def test_schedule_text_parses_or_is_a_value_error(text: str) -> None:
    try:
        schedule = parse_schedule(text)
    except ValueError:
        return
    assert all(math.isfinite(d) and d >= 0 for d in schedule)


@given(attempt=st.integers(max_value=0))
def test_attempt_counts_start_at_one(attempt: int) -> None:
    with pytest.raises(ValueError, match="attempts_made must be >= 1"):
        RetryPolicy().next_delay(attempt)
