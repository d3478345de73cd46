"""Token buckets: how many requests a source admits, and for how long it
tells a refused sender to wait."""

from __future__ import annotations

import pytest

from hookgate.core.ratelimit import RateLimiter, retry_after_header


def test_a_full_bucket_admits_its_burst_then_refuses_with_the_exact_wait() -> None:
    limiter = RateLimiter()
    assert [limiter.take("src", 2.0, 3, now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("src", 2.0, 3, now=100.0) == pytest.approx(0.5)
    assert limiter.take("src", 2.0, 3, now=100.25) == pytest.approx(0.25)


def test_tokens_refill_at_the_rate_up_to_the_burst() -> None:
    limiter = RateLimiter()
    for _ in range(3):
        limiter.take("src", 2.0, 3, now=0.0)
    assert limiter.take("src", 2.0, 3, now=0.5) == 0.0
    assert limiter.take("src", 2.0, 3, now=0.5) > 0
    # An hour idle refills to the burst, not beyond it.
    assert [limiter.take("src", 2.0, 3, now=3600.0) for _ in range(4)][-1] > 0


def test_keys_have_separate_buckets() -> None:
    limiter = RateLimiter()
    assert limiter.take("a", 1.0, 1, now=0.0) == 0.0
    assert limiter.take("a", 1.0, 1, now=0.0) > 0
    assert limiter.take("b", 1.0, 1, now=0.0) == 0.0


def test_reconfiguring_keeps_the_tokens_left() -> None:
    limiter = RateLimiter()
    limiter.take("src", 1.0, 1, now=0.0)
    # A bigger burst does not hand out fresh tokens at once.
    assert limiter.take("src", 10.0, 100, now=0.0) > 0
    # ... and the new rate refills from then on.
    assert limiter.take("src", 10.0, 100, now=0.1) == 0.0


def test_a_clock_going_backwards_adds_no_tokens() -> None:
    limiter = RateLimiter()
    limiter.take("src", 1.0, 1, now=10.0)
    assert limiter.take("src", 1.0, 1, now=5.0) > 0


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_nonsense_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter().take("src", rate, burst, now=0.0)


@pytest.mark.parametrize(("wait", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (59.5, "60")])
def test_retry_after_is_whole_seconds_rounded_up(wait: float, header: str) -> None:
    assert retry_after_header(wait) == header
