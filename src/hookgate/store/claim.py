"""Choosing which due deliveries a worker claims: capped and fair.

Two rules, holding across every worker process:

- **Per-endpoint cap.** An endpoint never has more than ``endpoint_cap``
  deliveries leased at once (counting those other workers hold), so a slow
  endpoint cannot tie up every worker.
- **Fair share.** Endpoints take turns: a claim takes the oldest due delivery
  of every endpoint, then the second of every endpoint, and so on, so one
  endpoint's backlog never starves the others.
- **Throttle and pause.** An endpoint with a ``throttleRate`` (its own or
  its application's) gets no more deliveries than it has send slots free
  within the claim's horizon; a paused endpoint gets none (``store.throttle``).

Claims are serialised (``Dialect.claim_lock``: an advisory lock on
PostgreSQL, the write lock on SQLite) so that concurrent workers see each
other's leases when they count.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import chain, zip_longest
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Executable,
    Integer,
    Select,
    String,
    bindparam,
    column,
    select,
    text,
    union_all,
)

from hookgate.store import rows
from hookgate.store.database import Database
from hookgate.store.records import DeliveryStatus, Endpoint
from hookgate.store.tables import deliveries, endpoints, messages
from hookgate.store.throttle import Pacing, pacing_of

# Each endpoint that has pending deliveries, with how many of them are
# leased and its pacing (``store.throttle``), in one round trip. The
# endpoints are found by hopping along the (status, endpoint_id,
# next_attempt_at) index one endpoint at a time: a few index seeks per
# endpoint instead of a scan of every pending delivery. The ORDER BY names
# that index's columns: ordered by endpoint_id alone, PostgreSQL may walk
# the (endpoint_id, id) index instead, through every finished delivery of
# the endpoint before its first pending one (10 ms at 10,000 finished,
# growing with the table). Leases are counted along the (status,
# lease_until) index: only the leased rows. The endpoint's own columns
# come along, for the jobs (one round trip less while the claim lock is
# held).
_ENDPOINT_STATE = text(
    """
    WITH RECURSIVE eps(ep) AS (
        SELECT (SELECT endpoint_id FROM deliveries WHERE status = :pending
                ORDER BY endpoint_id, next_attempt_at LIMIT 1)
        UNION ALL
        SELECT (SELECT endpoint_id FROM deliveries
                WHERE status = :pending AND endpoint_id > eps.ep
                ORDER BY endpoint_id, next_attempt_at LIMIT 1)
        FROM eps WHERE eps.ep IS NOT NULL
    ),
    leased(endpoint_id, n) AS (
        SELECT endpoint_id, count(*) FROM deliveries
        WHERE status = :pending AND lease_until >= :now
        GROUP BY endpoint_id
    )
    SELECT eps.ep AS ep, leased.n AS leased, applications.throttle_rate AS app_rate,
           endpoint_throttles.next_send_at AS next_send_at,
           endpoint_throttles.paused_until AS paused_until,
           {endpoint_columns}
    FROM eps
    LEFT JOIN leased ON leased.endpoint_id = eps.ep
    LEFT JOIN endpoints ON endpoints.id = eps.ep
    LEFT JOIN applications ON applications.id = endpoints.app_id
    LEFT JOIN endpoint_throttles ON endpoint_throttles.endpoint_id = eps.ep
    WHERE eps.ep IS NOT NULL
    """.format(endpoint_columns=", ".join(f"endpoints.{c.name}" for c in endpoints.c))
).columns(
    column("ep", String),
    column("leased", BigInteger),
    column("app_rate", Integer),
    column("next_send_at", BigInteger),
    column("paused_until", BigInteger),
    *endpoints.c,
)


@dataclass(frozen=True, slots=True)
class Picked:
    """What ``pick_due`` chose, with what the jobs need."""

    #: Ids of the deliveries to lease, in turns (see ``pick_due``).
    ids: list[str]
    #: The pacing of the throttled or paused endpoints among them.
    pacing: dict[str, Pacing]
    #: The endpoints they go to, by id.
    endpoints: dict[str, Endpoint]
    #: Payload and stored headers of their messages, by message id.
    messages: dict[str, tuple[bytes | None, Any]]


_NOTHING = Picked([], {}, {}, {})


def pick_due(
    db: Database,
    conn: Connection,
    now_ms: int,
    limit: int,
    endpoint_cap: int,
    throttle_horizon_ms: int,
) -> Picked:
    """Up to ``limit`` due deliveries to lease now, by the rules above, the
    pacing of the throttled endpoints among them (to pass on to
    ``store.throttle.take_slots`` with what was leased), their endpoints
    and their messages' payloads.

    Must run inside the claiming write transaction (``Database.run_write``).
    """
    claim_lock = db.dialect.claim_lock()
    if claim_lock is not None:
        conn.execute(claim_lock)
    state = conn.execute(_ENDPOINT_STATE, {"pending": DeliveryStatus.PENDING, "now": now_ms})
    quotas: dict[str, int] = {}
    pacing: dict[str, Pacing] = {}
    found: dict[str, Endpoint] = {}
    for row in state:
        quota = min(endpoint_cap - (row.leased or 0), limit)
        if quota <= 0 or row.id is None:  # at the cap, or deleted meanwhile
            continue
        paced = pacing_of(
            row.throttle_rate, row.app_rate, row.next_send_at, row.paused_until, now_ms
        )
        if paced is not None:
            pacing[row.ep] = paced
            quota = paced.claimable(now_ms, quota, throttle_horizon_ms)
        if quota > 0:
            quotas[row.ep] = quota
            found[row.ep] = rows.endpoint(row)
    if not quotas:
        return _NOTHING
    per_endpoint, messages = _due_by_endpoint(conn, quotas, now_ms, db.dialect.max_compound_selects)
    # Round-robin: the first of every endpoint, then the second of every one...
    turns = chain.from_iterable(zip_longest(*per_endpoint.values()))
    ids = [delivery_id for delivery_id in turns if delivery_id is not None][:limit]
    return Picked(ids, pacing, found, messages)


# Built once per arm count: building it per claim cost more CPU than
# running it. Values travel as bound parameters.
@functools.lru_cache(maxsize=32)
def _oldest_due(arms: int) -> Executable:
    """For ``arms`` endpoints (``ep_<i>``), the oldest due deliveries of
    each, up to its ``quota_<i>``, as of ``now``, with their messages'
    payloads (read here: one round trip less while the claim lock is held;
    the few a concurrent claim takes first are read for nothing)."""
    now = bindparam("now", type_=BigInteger)
    selects: list[Select[Any]] = []
    for arm in range(arms):
        oldest = (
            select(
                deliveries.c.id,
                deliveries.c.endpoint_id,
                deliveries.c.msg_id,
                deliveries.c.next_attempt_at,
            )
            .where(
                deliveries.c.status == DeliveryStatus.PENDING,
                deliveries.c.endpoint_id == bindparam(f"ep_{arm}"),
                deliveries.c.next_attempt_at <= now,
                deliveries.c.lease_until < now,
            )
            .order_by(deliveries.c.next_attempt_at)
            .limit(bindparam(f"quota_{arm}", type_=Integer))
            .subquery()
        )
        selects.append(
            select(
                oldest.c.id,
                oldest.c.endpoint_id,
                oldest.c.next_attempt_at,
                oldest.c.msg_id,
                messages.c.payload,
                messages.c.headers,
            ).select_from(oldest.outerjoin(messages, messages.c.id == oldest.c.msg_id))
        )
    return selects[0] if arms == 1 else union_all(*selects)


def _due_by_endpoint(
    conn: Connection, quotas: dict[str, int], now_ms: int, max_arms: int
) -> tuple[dict[str, list[str]], dict[str, tuple[bytes | None, Any]]]:
    """For each endpoint, the ids of its oldest due deliveries, up to its
    quota, oldest first, in queries of at most ``max_arms`` endpoints; and
    their messages' payloads and stored headers by message id."""
    found: dict[str, list[tuple[int, str]]] = {ep: [] for ep in quotas}
    payloads: dict[str, tuple[bytes | None, Any]] = {}
    items = list(quotas.items())
    for start in range(0, len(items), max_arms):
        chunk = items[start : start + max_arms]
        params: dict[str, Any] = {"now": now_ms}
        for arm, (endpoint_id, quota) in enumerate(chunk):
            params[f"ep_{arm}"] = endpoint_id
            params[f"quota_{arm}"] = quota
        for row in conn.execute(_oldest_due(len(chunk)), params):
            found[row.endpoint_id].append((row.next_attempt_at, row.id))
            payloads[row.msg_id] = (row.payload, row.headers)
    return {ep: [i for _, i in sorted(due)] for ep, due in found.items() if due}, payloads
