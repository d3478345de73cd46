"""How far a misbehaving endpoint is held back: the arithmetic of the
dispatcher's circuit breaker and of a troubled endpoint's turns.

Pure: no I/O, no clock; ``delivery/health.py`` applies it.
"""

from __future__ import annotations

#: A troubled endpoint's first wait is 1/2**this of the full one.
WAIT_DOUBLINGS = 6

#: Trips past this many no longer double the breaker's pause (keeps the
#: float arithmetic finite; the cap is reached long before).
_MOST_PAUSE_DOUBLINGS = 30


def breaker_pause(trips: int, first_seconds: float, most_seconds: float) -> float:
    """How long the breaker pauses an endpoint at its ``trips``-th trip in a
    row (1 or more): ``first_seconds``, doubled at each further trip, up to
    ``most_seconds``."""
    pause = first_seconds * 2.0 ** min(trips - 1, _MOST_PAUSE_DOUBLINGS)
    return min(pause, most_seconds)


def troubled_share(unclean: int) -> float:
    """The share of the full wait (healthy requests and seconds) a troubled
    endpoint waits between two of its requests after ``unclean`` (1 or more)
    unclean attempts in a row: 1/2**``WAIT_DOUBLINGS`` at the first, doubled at
    each further one, up to 1."""
    return 2.0 ** (min(unclean - 1, WAIT_DOUBLINGS) - WAIT_DOUBLINGS)
