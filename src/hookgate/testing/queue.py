"""``InMemoryDeliveryQueue``: the delivery-queue part of the in-memory store
(the rules are listed in ``hookgate.testing``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import chain, zip_longest
from typing import TYPE_CHECKING

from hookgate.core.clock import DAY_MS
from hookgate.core.endpoint_health import DEFAULT_DISABLE_AFTER_DAYS, assess
from hookgate.core.throttle import effective_rate, reserve
from hookgate.store.contract import DeliveryQueue
from hookgate.store.records import (
    AttemptRow,
    DeliveryResult,
    DeliveryStatus,
    Endpoint,
    Job,
    TriggerType,
)


@dataclass(slots=True)
class StoredDelivery:
    """One row of the in-memory deliveries table (fields as in the SQL one)."""

    id: str
    msg_id: str
    app_id: str
    endpoint_id: str
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempt_count: int = 0
    next_attempt_at: int = 0
    lease_until: int = 0
    trigger_type: int = TriggerType.SCHEDULED
    updated_at: int = 0


@dataclass(slots=True)
class StoredMessage:
    """What a claim needs of a message: its payload (None once expunged) and,
    for a forwarded inbound request, its headers."""

    payload: bytes | None
    headers: list[tuple[str, str]] | None = None


class InMemoryDeliveryQueue:
    """A ``DeliveryQueue`` held in dictionaries, following ``SqlDeliveryQueue``."""

    def __init__(
        self,
        *,
        endpoint_cap: int = 1_000_000,
        disable_after_ms: int = DEFAULT_DISABLE_AFTER_DAYS * DAY_MS,
        throttle_horizon_ms: int = 2_000,
    ) -> None:
        """``endpoint_cap``, ``disable_after_ms`` (0 = never) and
        ``throttle_horizon_ms`` as for ``SqlDeliveryQueue``."""
        self.endpoint_cap = endpoint_cap
        self.disable_after_ms = disable_after_ms
        self.throttle_horizon_ms = throttle_horizon_ms
        #: Applications' ``throttleRate`` (absent: none).
        self.app_throttle: dict[str, int] = {}
        #: Throttled endpoints' next free send slot, paused endpoints' pause end.
        self.next_send_at: dict[str, int] = {}
        self.paused_until: dict[str, int] = {}
        self.endpoints: dict[str, Endpoint] = {}
        #: Per endpoint, the start of its current failure streak (epoch ms).
        self.failing_since: dict[str, int | None] = {}
        self.messages: dict[str, StoredMessage] = {}
        self.deliveries: dict[str, StoredDelivery] = {}
        #: Every attempt logged, with its delivery id, in order.
        self.attempts: list[tuple[str, AttemptRow]] = []

    # -- seeding and changing, as accept and management would ------------------------

    def add_endpoint(self, endpoint: Endpoint) -> None:
        """Store ``endpoint`` (replacing an endpoint with its id)."""
        self.endpoints[endpoint.id] = endpoint
        self.failing_since.setdefault(endpoint.id, None)

    def add_message(
        self, msg_id: str, payload: bytes, headers: list[tuple[str, str]] | None = None
    ) -> None:
        self.messages[msg_id] = StoredMessage(payload, headers)

    def add_delivery(self, delivery: StoredDelivery) -> StoredDelivery:
        """Store a delivery; its endpoint and message must exist (the SQL
        store's foreign keys)."""
        if delivery.endpoint_id not in self.endpoints:
            raise KeyError(f"no endpoint {delivery.endpoint_id}")
        if delivery.msg_id not in self.messages:
            raise KeyError(f"no message {delivery.msg_id}")
        self.deliveries[delivery.id] = delivery
        return delivery

    def enqueue(self, job: Job, *, next_attempt_at: int = 0, lease_until: int = 0) -> Job:
        """Store ``job``'s endpoint, message and a pending delivery for it
        (leased until ``lease_until``), as accepting a message does."""
        if job.endpoint.id not in self.endpoints:
            self.add_endpoint(job.endpoint)
        if job.msg_id not in self.messages:
            self.add_message(job.msg_id, job.payload, job.headers)
        self.add_delivery(
            StoredDelivery(
                id=job.delivery_id,
                msg_id=job.msg_id,
                app_id=job.app_id,
                endpoint_id=job.endpoint.id,
                attempt_count=job.attempt_count,
                next_attempt_at=next_attempt_at,
                lease_until=lease_until,
                trigger_type=job.trigger_type,
            )
        )
        return job

    def set_app_throttle(self, app_id: str, rate: int | None) -> None:
        """Set (None: clear) an application's ``throttleRate``."""
        if rate is None:
            self.app_throttle.pop(app_id, None)
        else:
            self.app_throttle[app_id] = rate

    def disable_endpoint(self, endpoint_id: str) -> None:
        self.endpoints[endpoint_id] = dataclasses.replace(
            self.endpoints[endpoint_id], disabled=True
        )

    def delete_endpoint(self, endpoint_id: str) -> None:
        """Delete an endpoint and, as the SQL store cascades, its deliveries
        and their attempts."""
        del self.endpoints[endpoint_id]
        self.failing_since.pop(endpoint_id, None)
        self.next_send_at.pop(endpoint_id, None)
        self.paused_until.pop(endpoint_id, None)
        gone = {d.id for d in self.deliveries.values() if d.endpoint_id == endpoint_id}
        for delivery_id in gone:
            del self.deliveries[delivery_id]
        self.attempts = [(d, attempt) for d, attempt in self.attempts if d not in gone]

    def expunge_message(self, msg_id: str) -> None:
        """Drop a message's payload and headers (its deliveries stay)."""
        self.messages[msg_id] = StoredMessage(None)

    def status(self, delivery_id: str) -> DeliveryStatus:
        return self.deliveries[delivery_id].status

    @property
    def disabled_endpoints(self) -> set[str]:
        return {ep.id for ep in self.endpoints.values() if ep.disabled}

    # -- the DeliveryQueue contract ---------------------------------------------------

    async def claim_due(self, now_ms: int, limit: int, lease_until_ms: int) -> list[Job]:
        chosen = self._pick_due(now_ms, limit)
        slots = self._take_slots(chosen, now_ms)
        jobs: list[Job] = []
        for d in chosen:
            endpoint = self.endpoints.get(d.endpoint_id)
            message = self.messages.get(d.msg_id)
            if endpoint is None or endpoint.disabled or message is None or message.payload is None:
                d.status, d.lease_until, d.updated_at = DeliveryStatus.FAIL, 0, now_ms
                continue
            d.lease_until = lease_until_ms
            jobs.append(
                Job(
                    delivery_id=d.id,
                    msg_id=d.msg_id,
                    app_id=d.app_id,
                    endpoint=endpoint,
                    payload=message.payload,
                    attempt_count=d.attempt_count,
                    trigger_type=d.trigger_type,
                    headers=message.headers,
                    not_before=slots.get(d.id, 0),
                )
            )
        return jobs

    def _rate(self, endpoint_id: str) -> int | None:
        endpoint = self.endpoints.get(endpoint_id)
        if endpoint is None:
            return None
        return effective_rate(endpoint.throttle_rate, self.app_throttle.get(endpoint.app_id))

    def _claimable(self, endpoint_id: str, now_ms: int, wanted: int) -> int:
        """``store.throttle.Pacing.claimable``."""
        if self.paused_until.get(endpoint_id, 0) > now_ms:
            return 0
        rate = self._rate(endpoint_id)
        if rate is None:
            return wanted
        next_free = self.next_send_at.get(endpoint_id, 0)
        return len(reserve(next_free, now_ms, rate, wanted, self.throttle_horizon_ms).slots)

    def _take_slots(self, chosen: Sequence[StoredDelivery], now_ms: int) -> dict[str, int]:
        """``store.throttle.take_slots``."""
        by_endpoint: dict[str, list[str]] = {}
        for d in chosen:
            if self._rate(d.endpoint_id) is not None:
                by_endpoint.setdefault(d.endpoint_id, []).append(d.id)
        slots: dict[str, int] = {}
        for endpoint_id, delivery_ids in by_endpoint.items():
            rate = self._rate(endpoint_id)
            assert rate is not None
            next_free = self.next_send_at.get(endpoint_id, 0)
            taken = reserve(next_free, now_ms, rate, len(delivery_ids), horizon_ms=2**62)
            slots.update(zip(delivery_ids, taken.slots, strict=True))
            self.next_send_at[endpoint_id] = taken.next_free
        return slots

    def _pick_due(self, now_ms: int, limit: int) -> list[StoredDelivery]:
        """``store.claim.pick_due``: capped, throttled and paused per endpoint,
        endpoints taking turns."""
        pending: dict[str, list[StoredDelivery]] = {}
        for d in self.deliveries.values():
            if d.status == DeliveryStatus.PENDING:
                pending.setdefault(d.endpoint_id, []).append(d)
        per_endpoint: list[list[StoredDelivery]] = []
        for endpoint_id in sorted(pending):
            rows = pending[endpoint_id]
            leased = sum(1 for d in rows if d.lease_until >= now_ms)
            quota = min(self.endpoint_cap - leased, limit)
            if quota > 0:
                quota = self._claimable(endpoint_id, now_ms, quota)
            if quota <= 0:
                continue
            due = [d for d in rows if d.next_attempt_at <= now_ms and d.lease_until < now_ms]
            due.sort(key=lambda d: (d.next_attempt_at, d.id))
            if due:
                per_endpoint.append(due[:quota])
        turns = chain.from_iterable(zip_longest(*per_endpoint))
        return [d for d in turns if d is not None][:limit]

    async def record_results(self, results: Sequence[DeliveryResult], now_ms: int) -> None:
        known = [r for r in results if r.job.delivery_id in self.deliveries]
        for r in known:
            if r.attempt is not None:
                self.attempts.append((r.job.delivery_id, r.attempt))
        failing = self._track_failures(known, now_ms)
        pending = [
            r for r in known if self.deliveries[r.job.delivery_id].status == DeliveryStatus.PENDING
        ]
        for r in pending:
            d = self.deliveries[r.job.delivery_id]
            d.status, d.next_attempt_at = r.status, r.next_attempt_at
            d.attempt_count, d.lease_until, d.updated_at = r.job.attempt_count, 0, now_ms
        for r in pending:
            endpoint_id = r.job.endpoint.id
            if r.pause_endpoint_until > self.paused_until.get(endpoint_id, 0):
                self.paused_until[endpoint_id] = r.pause_endpoint_until
        gone = {r.job.endpoint.id for r in pending if r.disable_endpoint}
        for endpoint_id in gone | failing:
            if endpoint_id in self.endpoints:
                self.disable_endpoint(endpoint_id)

    def _track_failures(self, results: Sequence[DeliveryResult], now_ms: int) -> set[str]:
        """Update each endpoint's failure streak; the endpoints to disable."""
        by_endpoint: dict[str, list[tuple[int, bool]]] = {}
        for r in results:
            if r.attempt is not None:
                by_endpoint.setdefault(r.job.endpoint.id, []).append(
                    (r.attempt.created_at, r.attempt.status == DeliveryStatus.SUCCESS)
                )
        to_disable: set[str] = set()
        for endpoint_id, attempts in by_endpoint.items():
            current = self.failing_since.get(endpoint_id)
            health = assess(current, attempts, now_ms, self.disable_after_ms)
            self.failing_since[endpoint_id] = health.failing_since
            if health.disable:
                to_disable.add(endpoint_id)
        return to_disable

    async def renew_leases(self, delivery_ids: Collection[str], lease_until_ms: int) -> None:
        self._set_lease(delivery_ids, lease_until_ms)

    async def release(self, delivery_ids: Collection[str]) -> None:
        self._set_lease(delivery_ids, 0)

    async def release_all(self) -> None:
        for d in self.deliveries.values():
            d.lease_until = 0

    def _set_lease(self, delivery_ids: Collection[str], lease_until_ms: int) -> None:
        for delivery_id in delivery_ids:
            d = self.deliveries.get(delivery_id)
            if d is not None and d.status == DeliveryStatus.PENDING:
                d.lease_until = lease_until_ms


if TYPE_CHECKING:  # mypy checks that the fake keeps the contract
    _keeps_the_contract: DeliveryQueue = InMemoryDeliveryQueue()
