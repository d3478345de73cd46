"""The store contract: what the rest of Hookgate may ask of the store, one
Protocol per use case.

Two implementations keep it: the SQL store (``store.queue.SqlDeliveryQueue``
on SQLite and PostgreSQL) and the in-memory one in ``hookgate.testing``. One
behaviour suite runs on all three (``tests/integration/test_store_queue.py``,
``test_store_claim.py``), so the fake cannot drift from the real thing.

Every method raises only ``store.errors``: ``StoreUnavailable`` when the
database cannot be reached (retry later), ``StoreRejected`` when it refuses
the values (never retry the same write).

Use cases not declared here yet: message accept and inbound recording
(``store.accept_messages``, ``store.inbound_requests``, ``store.fanout``) are being
reshaped and get their Protocols once that settles; management reads and
writes are module functions taking a ``Database`` (``store.applications``,
``store.endpoints``, ...).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from hookgate.store.records import DeliveryResult, Job


class DeliveryQueue(Protocol):
    """The deliveries table as a queue, as the dispatcher uses it.

    A delivery is *due* when it is pending, ``next_attempt_at <= now`` and
    its lease has run out (``lease_until < now``). All times are epoch ms.
    """

    async def claim_due(self, now_ms: int, limit: int, lease_until_ms: int) -> list[Job]:
        """Lease up to ``limit`` due deliveries until ``lease_until_ms`` and
        return them as jobs, oldest first within an endpoint.

        At most the queue's per-endpoint cap of deliveries is leased per
        endpoint at once, counting leases other workers hold; endpoints take
        turns (the oldest due delivery of every endpoint, then the second of
        every endpoint, ...), so one backlog never starves the others.
        Deliveries to a disabled endpoint, or of a message whose payload was
        expunged, are failed on the spot instead of being returned.
        """
        ...

    async def record_results(self, results: Sequence[DeliveryResult], now_ms: int) -> None:
        """Write attempts and new delivery states, all or nothing, clearing
        the leases.

        Results for deliveries that no longer exist are dropped. A result for
        a delivery that is no longer pending (another worker finished it after
        this one's lease ran out) logs its attempt but changes nothing else: a
        finished delivery is never undone. A result with ``disable_endpoint``
        disables its endpoint, and so does a failure streak longer than the
        queue's disable-after period.
        """
        ...

    async def renew_leases(self, delivery_ids: Collection[str], lease_until_ms: int) -> None:
        """Extend the leases of those deliveries that are still pending."""
        ...

    async def release(self, delivery_ids: Collection[str]) -> None:
        """Give pending deliveries back without an attempt: due again at once."""
        ...

    async def release_all(self) -> None:
        """Clear every lease. Only safe when no other process uses the store."""
        ...
