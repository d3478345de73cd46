"""Token-bucket rate limiting, pure: the caller passes the clock in.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per
second; each admitted request takes one. ``RateLimiter.take`` keeps one bucket
per key (a source id, say) and answers how long the caller must wait, so a
refusal can say ``Retry-After`` exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    rate: float
    burst: int
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets by key. Not thread-safe (one event loop owns it)."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, rate: float, burst: int, now: float) -> float:
        """Take a token from ``key``'s bucket: 0.0 if one was there (the
        request may go ahead), else the seconds until one will be (> 0).

        A new key starts with a full bucket. Changing ``rate`` or ``burst``
        for a key keeps its current tokens (capped at the new ``burst``), so
        reconfiguring never hands out a fresh burst."""
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate, burst, float(burst), now)
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(burst), bucket.tokens + elapsed * bucket.rate)
        bucket.rate, bucket.burst, bucket.updated = rate, burst, now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate


def retry_after_header(wait_seconds: float) -> str:
    """``Retry-After`` value for a wait: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait_seconds)))
