"""Time as Hookgate keeps it: integer epoch milliseconds.

Every stored time (``created_at``, ``next_attempt_at``, ``lease_until``, ...)
is epoch milliseconds; durations in milliseconds use the constants below.
Code that needs a controllable clock takes a ``Callable[[], float]`` in
seconds (like ``time.time``) and converts with ``to_ms``; ``now_ms`` is the
real clock for everything else.
"""

from __future__ import annotations

import time
from typing import Final

SECOND_MS: Final = 1_000
MINUTE_MS: Final = 60 * SECOND_MS
HOUR_MS: Final = 60 * MINUTE_MS
DAY_MS: Final = 24 * HOUR_MS


def to_ms(seconds: float) -> int:
    """A time or duration in seconds (``time.time()``), in whole milliseconds."""
    return int(seconds * SECOND_MS)


def now_ms() -> int:
    """The current time in epoch milliseconds, as the store keeps it."""
    return to_ms(time.time())
