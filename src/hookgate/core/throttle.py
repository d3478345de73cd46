"""Pacing sends to a throttled endpoint: the arithmetic of send slots (pure).

``throttleRate`` (Svix) is the most messages per second sent to an endpoint.
An endpoint's own rate wins; without one it gets its application's rate;
without either it is not throttled (``effective_rate``). The application's
rate applies to each of its endpoints separately, not to their sum.

Sends to a throttled endpoint are spaced evenly: counting from ``start``, the
i-th send is due at ``start + ceil(i * 1000 / rate)`` ms. Consecutive slots
``rate`` apart are therefore exactly 1000 ms apart, so no window of 1000 ms
holds more than ``rate`` sends, and a later reservation starts no earlier than
where the previous one ended, which keeps that true across reservations.
After an idle spell slots start at ``now``: there is no saved-up burst.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Milliseconds per second: rates are per second, slots in epoch milliseconds.
_SECOND_MS = 1000


def effective_rate(endpoint_rate: int | None, app_rate: int | None) -> int | None:
    """The rate an endpoint is held to: its own, else its application's, else None."""
    return endpoint_rate if endpoint_rate is not None else app_rate


def _offset_ms(index: int, rate: int) -> int:
    """When the ``index``-th send after a start is due, in ms after it (rounded up)."""
    return -(-index * _SECOND_MS // rate)


@dataclass(frozen=True, slots=True)
class Reservation:
    """Send slots taken now: ``slots`` (epoch ms, ascending) and where the
    endpoint's next reservation may start (``next_free``)."""

    slots: tuple[int, ...]
    next_free: int


def reserve(next_free: int, now_ms: int, rate: int, wanted: int, horizon_ms: int) -> Reservation:
    """Take up to ``wanted`` slots for an endpoint limited to ``rate`` sends per
    second whose next free slot is ``next_free``, only slots due before
    ``now_ms + horizon_ms``.

    ``rate`` must be at least 1 (``ValueError`` otherwise). Taking no slot
    leaves ``next_free`` as it was.
    """
    if rate < 1:
        raise ValueError(f"a throttle rate must be at least 1 per second, not {rate}")
    start = max(next_free, now_ms)
    until = now_ms + horizon_ms
    slots: list[int] = []
    while len(slots) < wanted:
        slot = start + _offset_ms(len(slots), rate)
        if slot >= until:
            break
        slots.append(slot)
    if not slots:
        return Reservation((), next_free)
    return Reservation(tuple(slots), start + _offset_ms(len(slots), rate))
