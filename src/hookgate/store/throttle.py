"""Each endpoint's shared send budget (``throttleRate``) and pause, kept in
the database so that every worker process draws on the same ones.

A claim (serialised across workers, see ``store.claim``) reads the rates
and the ``endpoint_throttles`` row of the endpoints it considers and asks
``pacing_of`` about them; only endpoints with an effective rate
(``core.throttle.effective_rate``) or a pause have a pacing, so an endpoint
with neither costs no row and no write. The claim skips paused endpoints
and takes for each throttled endpoint only as many deliveries as it has
send slots free before ``now + horizon``; once it knows what it leased,
``take_slots`` gives each of those deliveries its slot (the dispatcher
sends it no earlier) and moves the endpoint's ``next_send_at`` on, in the
same transaction.

``pause_endpoints`` records pauses the dispatcher decided (an endpoint that
asked to slow down, or kept failing), with the results that led to them.

The embedded mode hands freshly accepted deliveries straight to its own
dispatcher, past any claim; ``ThrottledApps`` tells it which applications
have a rate, so that deliveries to throttled endpoints go through a claim.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Connection,
    bindparam,
    case,
    or_,
    select,
    update,
)

from hookgate.core.throttle import effective_rate, reserve
from hookgate.store.database import Database
from hookgate.store.tables import applications, endpoint_throttles

#: How far ahead a claim reserves send slots by default (epoch ms): long
#: enough to bridge the time between two claims, short against a lease.
DEFAULT_HORIZON_MS = 2_000


@dataclass(frozen=True, slots=True)
class Pacing:
    """An endpoint's rate (None: not throttled), its next free send slot
    (epoch ms; ``stored`` says whether a row holds it yet) and its pause."""

    rate: int | None
    next_free: int
    stored: bool
    paused_until: int = 0

    def claimable(self, now_ms: int, wanted: int, horizon_ms: int) -> int:
        """How many of ``wanted`` deliveries a claim at ``now_ms`` may take."""
        if self.paused_until > now_ms:
            return 0
        if self.rate is None:
            return wanted
        return len(reserve(self.next_free, now_ms, self.rate, wanted, horizon_ms).slots)


def pacing_of(
    own_rate: int | None,
    app_rate: int | None,
    next_send_at: int | None,
    paused_until: int | None,
    now_ms: int,
) -> Pacing | None:
    """The pacing of an endpoint with these rates (its own and its
    application's) and this ``endpoint_throttles`` row (None, None: no row),
    or None when it is neither throttled nor paused."""
    rate = effective_rate(own_rate, app_rate)
    if rate is None and (paused_until or 0) <= now_ms:
        return None
    if next_send_at is None:
        return Pacing(rate, 0, False, paused_until or 0)
    return Pacing(rate, next_send_at, True, paused_until or 0)


def pause_endpoints(db: Database, conn: Connection, until: dict[str, int]) -> None:
    """Pause each endpoint of ``until`` for every worker's claims until its
    time (epoch ms), unless it is already paused longer."""
    if not until:
        return
    # Writers of results are not serialised: ignore a row another made first.
    conn.execute(
        db.dialect.insert_ignoring_conflicts(endpoint_throttles),
        [{"endpoint_id": ep, "next_send_at": 0} for ep in sorted(until)],
    )
    new: BindParameter[int] = bindparam("b_until", type_=BigInteger)
    current = endpoint_throttles.c.paused_until
    conn.execute(
        update(endpoint_throttles)
        .where(endpoint_throttles.c.endpoint_id == bindparam("b_id"))
        .values(paused_until=case((or_(current.is_(None), current < new), new), else_=current)),
        [{"b_id": ep, "b_until": ms} for ep, ms in sorted(until.items())],
    )


def take_slots(
    db: Database,
    conn: Connection,
    pacing: dict[str, Pacing],
    leased: Sequence[tuple[str, str]],
    now_ms: int,
) -> dict[str, int]:
    """Give each leased ``(delivery id, endpoint id)`` of a throttled endpoint
    its send slot, in the order given, and store where each endpoint's next
    slot is; returns the slots by delivery id (epoch ms)."""
    by_endpoint: dict[str, list[str]] = {}
    for delivery_id, endpoint_id in leased:
        paced = pacing.get(endpoint_id)
        if paced is not None and paced.rate is not None:
            by_endpoint.setdefault(endpoint_id, []).append(delivery_id)
    slots: dict[str, int] = {}
    next_free: dict[str, int] = {}
    for endpoint_id, delivery_ids in by_endpoint.items():
        p = pacing[endpoint_id]
        assert p.rate is not None
        # No horizon here: the claim took only what fit, and every delivery
        # leased must get a slot.
        taken = reserve(p.next_free, now_ms, p.rate, len(delivery_ids), horizon_ms=2**62)
        slots.update(zip(delivery_ids, taken.slots, strict=True))
        next_free[endpoint_id] = taken.next_free
    if not next_free:
        return slots
    new = sorted(ep for ep in next_free if not pacing[ep].stored)
    if new:
        # A result writer may add a row (a pause) meanwhile: ignore it here,
        # the update below sets the slot either way.
        conn.execute(
            db.dialect.insert_ignoring_conflicts(endpoint_throttles),
            [{"endpoint_id": ep, "next_send_at": next_free[ep]} for ep in new],
        )
    conn.execute(
        update(endpoint_throttles)
        .where(endpoint_throttles.c.endpoint_id == bindparam("b_id"))
        .values(next_send_at=bindparam("b_next")),
        [{"b_id": ep, "b_next": ms} for ep, ms in sorted(next_free.items())],
    )
    return slots


class ThrottledApps:
    """Which applications have a ``throttleRate``, as far as this process knows.

    Answers without waiting (``rated``): unknown applications count as
    throttled until ``load`` has looked them up, which errs on the side of
    pacing. What was learned is dropped at this process's next configuration
    change (``Database.config_generation``), like the fan-out cache.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._generation = -1
        self._rated: dict[str, bool] = {}

    def rated(self, app_id: str) -> bool | None:
        """Whether ``app_id`` has a rate; None while unknown."""
        self._sync()
        return self._rated.get(app_id)

    async def load(self, app_ids: Collection[str]) -> None:
        """Look up those of ``app_ids`` not known yet."""
        self._sync()
        generation = self._generation
        missing = [app_id for app_id in app_ids if app_id not in self._rated]
        if not missing:
            return
        async with self._db.read() as conn:
            result = await conn.execute(
                select(applications.c.id, applications.c.throttle_rate).where(
                    applications.c.id.in_(missing)
                )
            )
            found = {app_id: rate is not None for app_id, rate in result}
        if generation == self._db.config_generation:  # else it may be stale already
            # An application deleted meanwhile has nothing left to throttle.
            self._rated.update({app_id: found.get(app_id, False) for app_id in missing})

    def _sync(self) -> None:
        if self._db.config_generation != self._generation:
            self._rated.clear()
            self._generation = self._db.config_generation
