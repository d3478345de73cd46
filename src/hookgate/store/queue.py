"""The delivery queue: claim due deliveries, write results back, keep leases.

The ``deliveries`` table is the queue. A row is *due* when it is pending,
``next_attempt_at <= now`` and its lease has run out. Claiming sets the lease;
the holder renews it while it works and clears it when it records the result.
A holder that dies simply stops renewing and the row becomes due again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, and_, bindparam, or_, select, update

from hookgate.core.clock import DAY_MS
from hookgate.core.endpoint_health import DEFAULT_DISABLE_AFTER_DAYS, assess, failing_days
from hookgate.store import operational, rows
from hookgate.store.attempt_rows import attempt_facts, attempt_row
from hookgate.store.claim import pick_due
from hookgate.store.database import Database
from hookgate.store.internal_apps import OPERATIONAL_APP_ID
from hookgate.store.records import DeliveryResult, DeliveryStatus, Job
from hookgate.store.tables import attempts, deliveries, endpoints
from hookgate.store.throttle import DEFAULT_HORIZON_MS, pause_endpoints, take_slots

log = logging.getLogger(__name__)

# The hot statements that do not depend on the dialect, built once: building
# them per claim or per batch of results cost more CPU than running them.
_INSERT_ATTEMPT = attempts.insert()
_SET_OUTCOME = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        next_attempt_at=bindparam("b_next"),
        attempt_count=bindparam("b_count"),
        lease_until=0,
        updated_at=bindparam("b_now"),
    )
)


class SqlDeliveryQueue:
    """The ``DeliveryQueue`` the dispatcher uses, on SQLite or PostgreSQL."""

    def __init__(
        self,
        db: Database,
        *,
        endpoint_cap: int = 1_000_000,
        disable_after_ms: int = DEFAULT_DISABLE_AFTER_DAYS * DAY_MS,
        throttle_horizon_ms: int = DEFAULT_HORIZON_MS,
    ) -> None:
        """``endpoint_cap`` bounds the deliveries leased per endpoint (see
        ``store.claim``); an endpoint whose attempts have all failed for
        ``disable_after_ms`` (0 = never) is disabled; throttled endpoints get
        send slots up to ``throttle_horizon_ms`` ahead (see ``store.throttle``)."""
        self.db = db
        self.endpoint_cap = endpoint_cap
        self.disable_after_ms = disable_after_ms
        self.throttle_horizon_ms = throttle_horizon_ms
        # The hot statements, built once for this dialect.
        any_of = db.dialect.any_of
        still_due = db.skip_locked(
            select(deliveries.c.id).where(
                any_of(deliveries.c.id, "chosen"),
                deliveries.c.lease_until < bindparam("now", type_=BigInteger),
            )
        )
        self._lease_chosen = (
            update(deliveries)
            .where(deliveries.c.id.in_(still_due.scalar_subquery()))
            .values(lease_until=bindparam("lease_until", type_=BigInteger))
            .returning(
                deliveries.c.id,
                deliveries.c.msg_id,
                deliveries.c.app_id,
                deliveries.c.endpoint_id,
                deliveries.c.attempt_count,
                deliveries.c.trigger_type,
            )
        )
        self._existing = db.dialect.lock_against_deletes(
            select(
                deliveries.c.id,
                deliveries.c.status,
                deliveries.c.endpoint_id,
                endpoints.c.failing_since,
            )
            .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
            .where(any_of(deliveries.c.id, "ids")),
            deliveries,
        )

    async def claim_due(self, now_ms: int, limit: int, lease_until_ms: int) -> list[Job]:
        """Lease up to ``limit`` due deliveries and return them as jobs, at most
        ``endpoint_cap`` leased per endpoint and endpoints taking turns (see
        ``store.claim``). A job for a throttled endpoint carries its send slot
        in ``not_before``: it must not be sent earlier.

        Deliveries whose endpoint was disabled or whose payload was expunged
        are failed on the spot instead of being returned.
        """
        return await self.db.run_write(
            lambda conn: self._claim(conn, now_ms, limit, lease_until_ms)
        )

    def _claim(self, conn: Connection, now_ms: int, limit: int, lease_until_ms: int) -> list[Job]:
        picked = pick_due(self.db, conn, now_ms, limit, self.endpoint_cap, self.throttle_horizon_ms)
        if not picked.ids:
            return []
        claimed = conn.execute(
            self._lease_chosen,
            {"chosen": picked.ids, "now": now_ms, "lease_until": lease_until_ms},
        ).all()
        if not claimed:
            return []
        turn = {delivery_id: position for position, delivery_id in enumerate(picked.ids)}
        claimed = sorted(claimed, key=lambda row: turn[row.id])
        leased = [(r.id, r.endpoint_id) for r in claimed]
        slots = take_slots(self.db, conn, picked.pacing, leased, now_ms)
        by_endpoint = picked.endpoints
        payloads: dict[str, bytes | None] = {}
        forwarded: dict[str, list[tuple[str, str]] | None] = {}
        for msg_id, (msg_payload, msg_headers) in picked.messages.items():
            payloads[msg_id] = msg_payload
            forwarded[msg_id] = rows.header_pairs(msg_headers)
        jobs: list[Job] = []
        unsendable: list[str] = []
        for r in claimed:
            ep = by_endpoint.get(r.endpoint_id)
            payload = payloads.get(r.msg_id)
            if ep is None or ep.disabled or payload is None:
                unsendable.append(r.id)
                continue
            jobs.append(
                Job(
                    delivery_id=r.id,
                    msg_id=r.msg_id,
                    app_id=r.app_id,
                    endpoint=ep,
                    payload=payload,
                    attempt_count=r.attempt_count,
                    trigger_type=r.trigger_type,
                    headers=forwarded.get(r.msg_id),
                    not_before=slots.get(r.id, 0),
                )
            )
        if unsendable:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(unsendable))
                .values(status=DeliveryStatus.FAIL, lease_until=0, updated_at=now_ms)
            )
        return jobs

    async def record_results(self, results: Sequence[DeliveryResult], now_ms: int) -> None:
        """Write attempts and new delivery states in one transaction.

        Results for deliveries that no longer exist (their endpoint, message or
        application was deleted meanwhile) are dropped; results for deliveries
        no longer pending are logged as attempts without changing the delivery.

        Each endpoint's failure streak (``failing_since``) follows the attempts
        recorded, and an endpoint whose attempts have all failed for
        ``disable_after_ms`` is disabled, as a 410 answer disables it: what is
        still pending for it fails when next claimed (``claim_due``). An
        endpoint a result pauses (``pause_endpoint_until``) gets nothing from
        any claim until then.
        """
        if not results:
            return
        disabling = any(r.disable_endpoint for r in results)
        await self.db.run_write(
            lambda conn: self._record(conn, results, now_ms), changes_config=disabling
        )

    def _record(self, conn: Connection, results: Sequence[DeliveryResult], now_ms: int) -> None:
        # Locked so that a concurrent delete cannot remove a delivery
        # between this check and the inserts below.
        existing = conn.execute(self._existing, {"ids": list({r.job.delivery_id for r in results})})
        status_by_id: dict[str, int] = {}
        failing_since: dict[str, int | None] = {}
        for delivery_id, status, endpoint_id, since in existing:
            status_by_id[delivery_id] = status
            failing_since[endpoint_id] = since
        results = [r for r in results if r.job.delivery_id in status_by_id]
        attempt_rows = [attempt_row(r) for r in results if r.attempt is not None]
        if attempt_rows:
            conn.execute(_INSERT_ATTEMPT, attempt_rows)
        failing = self._track_failures(conn, results, failing_since, now_ms)
        # A late result (its worker stalled past the lease while another
        # finished the delivery) is logged above but changes no state.
        results = [r for r in results if status_by_id[r.job.delivery_id] == DeliveryStatus.PENDING]
        if results:
            conn.execute(
                _SET_OUTCOME,
                [
                    {
                        "b_id": r.job.delivery_id,
                        "b_status": r.status,
                        "b_next": r.next_attempt_at,
                        "b_count": r.job.attempt_count,
                        "b_now": now_ms,
                    }
                    for r in results
                ],
            )
        op_events = operational.attempt_events(conn, attempt_facts(results))
        pauses: dict[str, int] = {}
        for r in results:
            if r.pause_endpoint_until > pauses.get(r.job.endpoint.id, 0):
                pauses[r.job.endpoint.id] = r.pause_endpoint_until
        pause_endpoints(self.db, conn, pauses)
        gone = {r.job.endpoint.id for r in results if r.disable_endpoint}
        if gone or failing:
            op_events += self._disable(conn, gone, failing, now_ms)
        operational.emit(self.db, conn, op_events, now_ms)

    def _track_failures(
        self,
        conn: Connection,
        results: Sequence[DeliveryResult],
        failing_since: dict[str, int | None],
        now_ms: int,
    ) -> set[str]:
        """Store each endpoint's new ``failing_since`` after the attempts in
        ``results`` (only where it changes, so a steady state writes nothing);
        return the endpoints failing long enough to be disabled now."""
        by_endpoint: dict[str, list[tuple[int, bool]]] = {}
        for r in results:
            if r.attempt is not None:
                by_endpoint.setdefault(r.job.endpoint.id, []).append(
                    (r.attempt.created_at, r.attempt.status == DeliveryStatus.SUCCESS)
                )
        changed: list[dict[str, Any]] = []
        to_disable: set[str] = set()
        # Sorted, so that concurrent writers lock endpoint rows in one order.
        for endpoint_id in sorted(by_endpoint):
            current = failing_since.get(endpoint_id)
            health = assess(current, by_endpoint[endpoint_id], now_ms, self.disable_after_ms)
            if health.failing_since != current:
                changed.append({"b_id": endpoint_id, "b_since": health.failing_since})
            if health.disable:
                to_disable.add(endpoint_id)
        if changed:
            conn.execute(
                update(endpoints)
                .where(endpoints.c.id == bindparam("b_id"))
                .values(failing_since=bindparam("b_since")),
                changed,
            )
        return to_disable

    def _disable(
        self, conn: Connection, gone: set[str], failing: set[str], now_ms: int
    ) -> list[operational.Event]:
        """Disable the endpoints that answered 410 (``gone``) and those of
        ``failing`` still enabled and still failing for ``disable_after_ms``
        (checked again here: another process may have recorded a success).
        Returns the ``endpoint.disabled`` events of customers' endpoints."""
        conditions: list[ColumnElement[bool]] = []
        if gone:
            # Already disabled ones are left alone: one endpoint.disabled each.
            conditions.append(and_(endpoints.c.id.in_(gone), endpoints.c.disabled.is_(False)))
        if failing:
            conditions.append(
                and_(
                    endpoints.c.id.in_(failing),
                    endpoints.c.disabled.is_(False),
                    endpoints.c.failing_since <= now_ms - self.disable_after_ms,
                )
            )
        disabled = (
            conn.execute(
                update(endpoints)
                .where(or_(*conditions))
                .values(disabled=True, updated_at=now_ms)
                .returning(*endpoints.c)
            )
        ).all()
        automatic = [
            (row.id, row.failing_since)
            for row in disabled
            if row.id in failing and row.id not in gone
        ]
        for endpoint_id, since in automatic:
            log.warning(
                "endpoint %s disabled: failing for %d days",
                endpoint_id,
                failing_days(since, now_ms),
            )
        if automatic:
            # Like ``db.write(changes_config=True)``: the embedded mode's
            # fan-out cache must stop routing new messages to it.
            self.db.config_generation += 1
        customers = [
            (rows.endpoint(row), row.failing_since or now_ms)
            for row in disabled
            if row.app_id != OPERATIONAL_APP_ID
        ]
        if not customers:
            return []
        uids = operational.app_uids(conn, {ep.app_id for ep, _ in customers})
        return [
            operational.disabled_event(ep, uids.get(ep.app_id), since) for ep, since in customers
        ]

    async def renew_leases(self, delivery_ids: Collection[str], lease_until_ms: int) -> None:
        """Extend the lease of deliveries this process still holds."""
        await self._set_lease(delivery_ids, lease_until_ms)

    async def release(self, delivery_ids: Collection[str]) -> None:
        """Give deliveries back without an attempt (graceful shutdown)."""
        await self._set_lease(delivery_ids, 0)

    async def release_all(self) -> None:
        """Clear every lease: only safe when no other process uses the database
        (the embedded SQLite mode holds a lock file to guarantee that). Only
        pending deliveries are leased (writing a result clears the lease), so
        only they are looked at, along their index: a start after a crash
        does not scan every delivery ever made."""
        async with self.db.write() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.status == DeliveryStatus.PENDING, deliveries.c.lease_until > 0)
                .values(lease_until=0)
            )

    async def _set_lease(self, delivery_ids: Collection[str], lease_until_ms: int) -> None:
        ids = list(delivery_ids)
        await self.db.run_write(lambda conn: self._lease(conn, ids, lease_until_ms))

    def _lease(self, conn: Connection, ids: list[str], lease_until_ms: int) -> None:
        size = self.db.dialect.max_params
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.id.in_(chunk),
                    deliveries.c.status == DeliveryStatus.PENDING,
                )
                .values(lease_until=lease_until_ms)
            )
