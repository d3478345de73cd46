"""What this process learns about each endpoint from its attempts: how many
requests it may have in flight, when the circuit breaker pauses it, and when
an endpoint in trouble may start its next request.

Slow start: an endpoint's concurrency starts at ``endpoint_start_concurrency``
and grows by one with each clean success (a 2xx read in full) up to
``endpoint_concurrency``; any failure (timeout, refused, reset, error status,
a body cut off by the deadline) drops it back to the start, so an endpoint
that hangs or fails ties up one request slot, not its whole cap.

Circuit breaker: after ``breaker_failures`` attempts in a row that got no HTTP
answer (timeout, refused, reset, DNS or TLS failure) the endpoint is to be
paused: ``breaker_pause_seconds``, doubled at each further such failure, up to
``breaker_max_pause_seconds`` (``core.endpoint_pacing.breaker_pause``).

Troubled turns: an endpoint in trouble (its last attempt was not a clean
success: it failed, answered an error status, or its response was cut off at
the size cap or the deadline) yields to healthy ones: while healthy endpoints
are being sent to (one started a request within the last
``troubled_max_wait`` seconds), a troubled one starts a request only after
``troubled_turn_every`` healthy requests have started since its last, or
``troubled_max_wait`` seconds have passed, whichever comes first (weighted
turns; it is never starved). The first unclean attempt makes it wait 1/64 of
that, each further one in a row doubles the wait up to the full one
(``core.endpoint_pacing.troubled_share``), so an endpoint that fails now and
then loses little while one that keeps failing soon gets a tiny share. Every
attempt takes this process's CPU, so an endpoint that answers errors or floods
quickly would otherwise slow the healthy ones down by as much as it is tried.
One clean success makes it healthy again.

No I/O and no asyncio: the dispatcher's lanes consult a ``HealthBook`` and
report to it from the event loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from hookgate.core.endpoint_pacing import breaker_pause, troubled_share
from hookgate.core.outcome import SendResult
from hookgate.delivery.settings import DispatchSettings

#: Endpoints whose health a book remembers (see ``HealthBook.by_endpoint``).
_HEALTH_KEPT = 10_000


@dataclass(slots=True)
class EndpointHealth:
    """What this process learned about an endpoint from its recent attempts."""

    #: Requests it may have in flight now (slow start).
    window: int
    #: Attempts without an HTTP answer since its last answer.
    failures: int = 0
    #: Times those failures paused it.
    trips: int = 0
    #: Attempts in a row that were not a clean success; it is troubled while
    #: this is above 0.
    unclean: int = 0
    #: While troubled, its next request waits until the book's count of
    #: healthy requests started reaches this...
    next_turn: int = 0
    #: ...or the clock reaches this.
    turn_due: float = 0.0


class HealthBook:
    """Every endpoint's ``EndpointHealth`` in this process, and the count of
    healthy requests started that troubled turns are measured against."""

    def __init__(self, settings: DispatchSettings, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._clock = clock
        #: Health per endpoint id; an endpoint without an entry is healthy at
        #: the start concurrency. Read directly on the hot path; only this
        #: book writes it. Kept when an endpoint's lane goes idle, so that a
        #: failing endpoint does not start afresh; emptied when it grows past
        #: ``_HEALTH_KEPT`` entries.
        self.by_endpoint: dict[str, EndpointHealth] = {}
        # Requests started for healthy endpoints: the clock of troubled turns.
        self._healthy_starts = 0
        # When the endpoint that last started a healthy request did so, and
        # when any other endpoint last did: together they tell, for any
        # endpoint, when some other healthy endpoint last started one.
        self._last_healthy_start = -math.inf
        self._last_healthy_endpoint = ""
        self._others_last_healthy_start = -math.inf

    def window(self, endpoint_id: str) -> int:
        """How many requests ``endpoint_id`` may have in flight now."""
        health = self.by_endpoint.get(endpoint_id)
        return self._settings.endpoint_start_concurrency if health is None else health.window

    def turn_come(self, endpoint_id: str, health: EndpointHealth) -> bool:
        """Whether an endpoint with ``health`` may start a request now: it is
        healthy, or its troubled turn has come, or no other healthy endpoint
        started a request for ``troubled_max_wait`` (it has no one to yield
        to; a shorter lull, such as healthy lanes waiting for the next claim,
        does not count)."""
        if not health.unclean or self._healthy_starts >= health.next_turn:
            return True
        now = self._clock()
        if endpoint_id == self._last_healthy_endpoint:
            others_last = self._others_last_healthy_start
        else:
            others_last = self._last_healthy_start
        return now >= health.turn_due or now - others_last >= self._settings.troubled_max_wait

    def count_start(self, endpoint_id: str) -> None:
        """Count a request ``endpoint_id`` starts now: a healthy endpoint's
        advances the troubled turns; a troubled endpoint's sets its next turn."""
        health = self.by_endpoint.get(endpoint_id)
        if health is None or not health.unclean:
            self._healthy_starts += 1
            if endpoint_id != self._last_healthy_endpoint:
                self._others_last_healthy_start = self._last_healthy_start
                self._last_healthy_endpoint = endpoint_id
            self._last_healthy_start = self._clock()
            return
        share = troubled_share(health.unclean)
        turns = math.ceil(self._settings.troubled_turn_every * share)
        health.next_turn = self._healthy_starts + turns
        health.turn_due = self._clock() + self._settings.troubled_max_wait * share

    def learn(self, endpoint_id: str, result: SendResult) -> float:
        """Update the endpoint's health after an attempt: its concurrency grows
        by one after a clean success (a 2xx read in full) up to the cap and
        drops back to the start after anything else; a streak of
        ``breaker_failures`` attempts without an HTTP answer trips the breaker.
        Anything but a clean success leaves the endpoint troubled.
        Returns how long to pause the endpoint in seconds (0: no pause)."""
        settings = self._settings
        health = self.by_endpoint.get(endpoint_id)
        if health is None:
            if len(self.by_endpoint) >= _HEALTH_KEPT:
                self.by_endpoint.clear()
            health = self.by_endpoint[endpoint_id] = EndpointHealth(
                settings.endpoint_start_concurrency
            )
        if result.succeeded and result.error_message is None:
            health.window = min(health.window + 1, settings.endpoint_concurrency)
            health.unclean = 0
        else:
            health.window = settings.endpoint_start_concurrency
            health.unclean += 1
        if result.status_code is not None:
            health.failures = health.trips = 0
            return 0.0
        health.failures += 1
        if health.failures < settings.breaker_failures:
            return 0.0
        health.trips += 1
        return breaker_pause(
            health.trips, settings.breaker_pause_seconds, settings.breaker_max_pause_seconds
        )
