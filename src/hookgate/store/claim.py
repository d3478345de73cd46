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
from itertools import chain, zip_longest
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Executable,
    Integer,
    Select,
    bindparam,
    select,
    text,
    union_all,
)

from hookgate.store.database import Database
from hookgate.store.records import DeliveryStatus
from hookgate.store.tables import deliveries
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
# lease_until) index: only the leased rows.
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
    SELECT eps.ep, leased.n, endpoints.throttle_rate, applications.throttle_rate,
           endpoint_throttles.next_send_at, endpoint_throttles.paused_until
    FROM eps
    LEFT JOIN leased ON leased.endpoint_id = eps.ep
    LEFT JOIN endpoints ON endpoints.id = eps.ep
    LEFT JOIN applications ON applications.id = endpoints.app_id
    LEFT JOIN endpoint_throttles ON endpoint_throttles.endpoint_id = eps.ep
    WHERE eps.ep IS NOT NULL
    """
)


def pick_due(
    db: Database,
    conn: Connection,
    now_ms: int,
    limit: int,
    endpoint_cap: int,
    throttle_horizon_ms: int,
) -> tuple[list[str], dict[str, Pacing]]:
    """Ids of up to ``limit`` due deliveries to lease now, by the rules above,
    and the pacing of the throttled endpoints among them (to pass on to
    ``store.throttle.take_slots`` with what was leased).

    Must run inside the claiming write transaction (``Database.run_write``).
    """
    claim_lock = db.dialect.claim_lock()
    if claim_lock is not None:
        conn.execute(claim_lock)
    state = conn.execute(_ENDPOINT_STATE, {"pending": DeliveryStatus.PENDING, "now": now_ms})
    quotas: dict[str, int] = {}
    pacing: dict[str, Pacing] = {}
    for endpoint_id, leased, own_rate, app_rate, next_send_at, paused_until in state:
        quota = min(endpoint_cap - (leased or 0), limit)
        if quota <= 0:
            continue
        paced = pacing_of(own_rate, app_rate, next_send_at, paused_until, now_ms)
        if paced is not None:
            pacing[endpoint_id] = paced
            quota = paced.claimable(now_ms, quota, throttle_horizon_ms)
        if quota > 0:
            quotas[endpoint_id] = quota
    if not quotas:
        return [], pacing
    per_endpoint = _due_by_endpoint(conn, quotas, now_ms, db.dialect.max_compound_selects)
    # Round-robin: the first of every endpoint, then the second of every one...
    turns = chain.from_iterable(zip_longest(*per_endpoint.values()))
    return [delivery_id for delivery_id in turns if delivery_id is not None][:limit], pacing


# Built once per arm count: building it per claim cost more CPU than
# running it. Values travel as bound parameters.
@functools.lru_cache(maxsize=32)
def _oldest_due(arms: int) -> Executable:
    """For ``arms`` endpoints (``ep_<i>``), the ids of the oldest due
    deliveries of each, up to its ``quota_<i>``, as of ``now``."""
    now = bindparam("now", type_=BigInteger)
    selects: list[Select[Any]] = []
    for arm in range(arms):
        oldest = (
            select(deliveries.c.id, deliveries.c.endpoint_id)
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
        selects.append(select(oldest.c.id, oldest.c.endpoint_id))
    return selects[0] if arms == 1 else union_all(*selects)


def _due_by_endpoint(
    conn: Connection, quotas: dict[str, int], now_ms: int, max_arms: int
) -> dict[str, list[str]]:
    """For each endpoint, the ids of its oldest due deliveries, up to its
    quota, in queries of at most ``max_arms`` endpoints."""
    found: dict[str, list[str]] = {ep: [] for ep in quotas}
    items = list(quotas.items())
    for start in range(0, len(items), max_arms):
        chunk = items[start : start + max_arms]
        params: dict[str, Any] = {"now": now_ms}
        for arm, (endpoint_id, quota) in enumerate(chunk):
            params[f"ep_{arm}"] = endpoint_id
            params[f"quota_{arm}"] = quota
        for delivery_id, endpoint_id in conn.execute(_oldest_due(len(chunk)), params):
            found[endpoint_id].append(delivery_id)
    return {ep: ids for ep, ids in found.items() if ids}
