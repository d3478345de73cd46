"""When to retry a failed delivery.

The first attempt is immediate; a schedule lists the delays (seconds) before
each retry, so a schedule of N delays allows N + 1 attempts.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

#: Immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h.
DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)


def parse_schedule(text: str) -> tuple[float, ...]:
    """Parse a comma-separated list of delays in seconds, e.g. ``"0.5, 2"``.

    An empty (or blank) string means no retries. Raises ``ValueError`` naming
    the first entry that is empty, not a number, negative or not finite.
    """
    if not text.strip():
        return ()
    delays: list[float] = []
    for raw in text.split(","):
        entry = raw.strip()
        try:
            delay = float(entry)
        except ValueError:
            raise ValueError(
                f"invalid retry schedule entry {entry!r}: not a number of seconds"
            ) from None
        if not math.isfinite(delay) or delay < 0:
            raise ValueError(
                f"invalid retry schedule entry {entry!r}: must be a finite number >= 0"
            )
        delays.append(delay)
    return tuple(delays)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A retry schedule with jitter and an upper bound on ``Retry-After``.

    ``jitter`` is the fraction (0..1) by which each scheduled delay is randomly
    scaled up or down, so endpoints that failed together do not retry together.
    ``max_retry_after`` caps how long a receiver's ``Retry-After`` can defer a
    retry.
    """

    schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    jitter: float = 0.2
    max_retry_after: float = 86400

    def __post_init__(self) -> None:
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be between 0 and 1, got {self.jitter}")
        if any(not math.isfinite(d) or d < 0 for d in self.schedule):
            raise ValueError(f"retry delays must be finite and >= 0, got {self.schedule}")
        if not self.max_retry_after >= 0:
            raise ValueError(f"max_retry_after must be >= 0, got {self.max_retry_after}")

    @property
    def max_attempts(self) -> int:
        """Total attempts including the first, immediate one."""
        return len(self.schedule) + 1

    def next_delay(
        self,
        attempts_made: int,
        *,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up.

        ``attempts_made`` (>= 1) counts attempts already made. The delay is
        ``schedule[attempts_made - 1]`` scaled by a uniform factor in
        ``[1 - jitter, 1 + jitter]``. A receiver's ``retry_after`` can lengthen
        it, up to ``max_retry_after``, but never shorten it.
        """
        if attempts_made < 1:
            raise ValueError(f"attempts_made must be >= 1, got {attempts_made}")
        if attempts_made > len(self.schedule):
            return None
        uniform = rng.uniform if rng is not None else random.uniform
        factor = uniform(1 - self.jitter, 1 + self.jitter)
        delay = max(0.0, self.schedule[attempts_made - 1] * factor)
        if retry_after is not None and not math.isnan(retry_after):
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay
