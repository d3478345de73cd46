"""Every endpoint's lane in this process and the turns the lanes take.

Each endpoint has its own lane: a queue of jobs ready to send, with a
concurrency cap (the endpoint's window, see ``delivery/health.py``). Lanes
with work take turns in a ring, one job per turn, so one slow endpoint never
holds up the others; at most ``max_in_flight`` jobs are in flight in all.

A troubled endpoint's lane whose turn has not come is benched instead of
joining the ring: it rejoins at the first ``take`` after healthy starts make
its turn due, or when a timer at its ``turn_due`` fires (in case nothing else
happens before), and the ``on_ready`` callback is then told that a job may
start. A paused lane (``paused_until``) takes no turns until its pause ends.

An idle lane (nothing queued, in flight or waiting, not paused) is forgotten;
what the dispatcher put into it is the dispatcher's to give back. All of this
runs on the event loop; nothing here awaits.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from hookgate.delivery.health import EndpointHealth, HealthBook
from hookgate.delivery.settings import DispatchSettings
from hookgate.store.records import Job


@dataclass(slots=True)
class Lane:
    """One endpoint's queue and its state in this process."""

    queue: deque[Job] = field(default_factory=deque)
    in_flight: int = 0
    #: Jobs held for this endpoint that wait for their send slot.
    waiting: int = 0
    #: The endpoint answered 410: what reaches the lane now fails unsent.
    gone: bool = False
    paused_until: float = 0.0
    in_ring: bool = False
    #: Waits on the bench for its endpoint's next troubled turn...
    benched: bool = False
    #: ...under this ticket (older entries of the lane there are void).
    bench_ticket: int = 0


class Lanes:
    """The lanes by endpoint, the ring of lanes with a turn due, the bench of
    troubled lanes waiting for theirs, and the count of jobs in flight."""

    def __init__(
        self,
        health: HealthBook,
        settings: DispatchSettings,
        clock: Callable[[], float],
        on_ready: Callable[[], None],
    ) -> None:
        self._health = health
        self._settings = settings
        self._clock = clock
        self._on_ready = on_ready
        #: Lane per endpoint id; the dispatcher adds lanes and queues jobs.
        self.by_endpoint: dict[str, Lane] = {}
        self._ring: deque[str] = deque()
        # Lanes of troubled endpoints waiting for their turn, oldest first,
        # with their bench tickets.
        self._bench: deque[tuple[str, Lane, int]] = deque()
        self._in_flight = 0
        #: Set by ``close``: no job starts any more.
        self.closed = False

    def close(self) -> None:
        """Start nothing from now on (the dispatcher is stopping)."""
        self.closed = True

    def drop_queued(self) -> None:
        """Empty every lane's queue (the dispatcher gives those jobs back)."""
        for lane in self.by_endpoint.values():
            lane.queue.clear()

    def schedule(self, endpoint_id: str, lane: Lane) -> None:
        """Give the lane a turn in the ring, or bench it until its endpoint's
        next troubled turn."""
        if lane.in_ring or lane.benched or not lane.queue:
            return
        health = self._health.by_endpoint.get(endpoint_id)
        if health is not None and not self._health.turn_come(endpoint_id, health):
            self._bench_lane(endpoint_id, lane, health)
            return
        lane.in_ring = True
        self._ring.append(endpoint_id)

    def take(self) -> tuple[Job, Lane] | None:
        """The next job, in turn between endpoints, that may start now (lane not
        paused and under its cap, ``max_in_flight`` not reached, not closed),
        already counted as in flight; None if there is none."""
        if self._bench:
            self._unbench()
        while self._in_flight < self._settings.max_in_flight and self._ring and not self.closed:
            endpoint_id = self._ring.popleft()
            lane = self.by_endpoint.get(endpoint_id)
            if lane is None:  # forgotten since it joined the ring
                continue
            lane.in_ring = False
            cap = self._health.window(endpoint_id)
            if not lane.queue or lane.in_flight >= cap or lane.paused_until > self._clock():
                continue
            health = self._health.by_endpoint.get(endpoint_id)
            if health is not None and not self._health.turn_come(endpoint_id, health):
                # Healthy work came after it joined the ring.
                self._bench_lane(endpoint_id, lane, health)
                continue
            job = lane.queue.popleft()
            lane.in_flight += 1
            self._in_flight += 1
            self._health.count_start(endpoint_id)
            if lane.in_flight < cap:
                self.schedule(endpoint_id, lane)
            return job, lane
        return None

    def finished(self, endpoint_id: str, lane: Lane) -> None:
        """Bookkeeping after a job of ``lane`` stopped being in flight; whoever
        calls this must then take or tell ``on_ready``."""
        lane.in_flight -= 1
        self._in_flight -= 1
        if lane.queue:
            self.schedule(endpoint_id, lane)
        elif lane.in_flight == 0 and lane.waiting == 0 and lane.paused_until <= self._clock():
            self.by_endpoint.pop(endpoint_id, None)

    def resume(self, endpoint_id: str) -> None:
        """The endpoint's pause should be over (a timer): give its lane a turn,
        or forget it if idle."""
        lane = self.by_endpoint.get(endpoint_id)
        if lane is None:
            return
        remaining = lane.paused_until - self._clock()
        if remaining > 0:  # the loop's timer ran ahead of our clock
            asyncio.get_running_loop().call_later(remaining, self.resume, endpoint_id)
            return
        if not lane.queue and lane.in_flight == 0 and lane.waiting == 0:
            self.by_endpoint.pop(endpoint_id, None)
            return
        self.schedule(endpoint_id, lane)
        self._on_ready()

    # -- the bench ----------------------------------------------------------------

    def _bench_lane(self, endpoint_id: str, lane: Lane, health: EndpointHealth) -> None:
        """Keep a troubled endpoint's lane out of the ring until its turn: the
        next ``take`` after healthy starts make it due lets it in, and so does
        a timer at ``turn_due`` (in case nothing else happens before)."""
        lane.benched = True
        lane.bench_ticket += 1
        self._bench.append((endpoint_id, lane, lane.bench_ticket))
        wait = max(health.turn_due - self._clock(), 0.0)
        asyncio.get_running_loop().call_later(
            wait, self._bench_timer, endpoint_id, lane, lane.bench_ticket
        )

    def _bench_timer(self, endpoint_id: str, lane: Lane, ticket: int) -> None:
        if not lane.benched or lane.bench_ticket != ticket or self.closed:
            return
        health = self._health.by_endpoint.get(endpoint_id)
        if health is not None and not self._health.turn_come(endpoint_id, health):
            # The loop's timer ran ahead of our clock.
            wait = max(health.turn_due - self._clock(), 0.0)
            asyncio.get_running_loop().call_later(
                wait, self._bench_timer, endpoint_id, lane, ticket
            )
            return
        self._unbench_lane(endpoint_id, lane)
        self._on_ready()

    def _unbench_lane(self, endpoint_id: str, lane: Lane) -> None:
        """Let a benched lane into the ring (its entry on the bench goes void)."""
        lane.benched = False
        if self.by_endpoint.get(endpoint_id) is lane:
            self.schedule(endpoint_id, lane)

    def _unbench(self) -> None:
        """Move benched lanes whose turn has come into the ring, oldest first.
        A lane's turn comes at most ``troubled_turn_every`` healthy starts or
        ``troubled_max_wait`` seconds after its last request, so one not yet
        due ahead of due ones holds them back no longer than that."""
        while self._bench:
            endpoint_id, lane, ticket = self._bench[0]
            live = lane.benched and lane.bench_ticket == ticket
            health = self._health.by_endpoint.get(endpoint_id)
            if live and health is not None and not self._health.turn_come(endpoint_id, health):
                return
            self._bench.popleft()
            if live:
                self._unbench_lane(endpoint_id, lane)
