from __future__ import annotations

import random
import re

import pytest

from hookgate.core.retry import DEFAULT_RETRY_SCHEDULE, RetryPolicy, parse_schedule


def test_default_policy_makes_eight_attempts_over_the_documented_delays() -> None:
    policy = RetryPolicy(jitter=0)
    assert policy.max_attempts == 8
    delays = [policy.next_delay(n) for n in range(1, 8)]
    assert delays == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert policy.next_delay(8) is None
    assert policy.next_delay(100) is None


def test_default_jitter_stays_within_twenty_percent_and_varies() -> None:
    policy = RetryPolicy()
    rng = random.Random(1234)
    samples = [policy.next_delay(2, rng=rng) for _ in range(500)]
    assert all(s is not None and 240 <= s <= 360 for s in samples)
    assert len(set(samples)) > 400


def test_rng_makes_delays_reproducible() -> None:
    policy = RetryPolicy()
    first = [policy.next_delay(n, rng=random.Random(7)) for n in range(1, 8)]
    second = [policy.next_delay(n, rng=random.Random(7)) for n in range(1, 8)]
    assert first == second


def test_retry_after_longer_than_schedule_is_honoured() -> None:
    policy = RetryPolicy(jitter=0)
    assert policy.next_delay(1, retry_after=120) == 120


def test_retry_after_never_shortens_the_schedule() -> None:
    policy = RetryPolicy(jitter=0)
    assert policy.next_delay(3, retry_after=1) == 1800
    assert policy.next_delay(1, retry_after=-30) == 5


def test_retry_after_is_capped() -> None:
    policy = RetryPolicy(jitter=0, max_retry_after=600)
    assert policy.next_delay(1, retry_after=10**9) == 600
    assert policy.next_delay(1, retry_after=float("inf")) == 600
    assert policy.next_delay(1, retry_after=float("nan")) == 5


def test_retry_after_does_not_revive_an_exhausted_schedule() -> None:
    assert RetryPolicy(schedule=(1,)).next_delay(2, retry_after=5) is None


def test_empty_schedule_means_a_single_attempt() -> None:
    policy = RetryPolicy(schedule=())
    assert policy.max_attempts == 1
    assert policy.next_delay(1) is None


def test_zero_delay_is_never_negative_with_jitter() -> None:
    policy = RetryPolicy(schedule=(0, 0), jitter=1)
    assert policy.next_delay(1) == 0


def test_attempts_made_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts_made"):
        RetryPolicy().next_delay(0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"jitter": -0.1}, "jitter"),
        ({"jitter": 1.5}, "jitter"),
        ({"schedule": (1, -1)}, "retry delays"),
        ({"schedule": (float("nan"),)}, "retry delays"),
        ({"max_retry_after": -1}, "max_retry_after"),
    ],
)
def test_policy_rejects_invalid_settings(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,1,1", (1.0, 1.0, 1.0)),
        ("0.5, 2", (0.5, 2.0)),
        (" 0 ", (0.0,)),
        ("5,300,1800,7200,18000,36000,36000", DEFAULT_RETRY_SCHEDULE),
        ("", ()),
        ("   ", ()),
    ],
)
def test_parse_schedule(text: str, expected: tuple[float, ...]) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("1,-5,10", "'-5'"),
        ("1,abc", "'abc'"),
        ("1,,2", "''"),
        ("1,2,", "''"),
        ("5s", "'5s'"),
        ("inf", "'inf'"),
        ("nan", "'nan'"),
    ],
)
def test_parse_schedule_names_the_bad_entry(text: str, bad: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"entry {bad}")):
        parse_schedule(text)
