"""The store contract: what the rest of Hookgate may ask of the store, one
Protocol per use case.

- ``MessageAccept``: store a batch of messages with their fan-out
  (``delivery.engine`` group-commits API requests into it);
- ``DeliveryQueue``: claim due deliveries and record their results
  (``delivery.dispatcher``);
- ``InboundRequests``: record received requests with deduplication and the
  messages forwarding them, search them, purge them (``inbound.recorder``,
  the ingest API and the retention job).

Two implementations keep each: the SQL store on SQLite and PostgreSQL
(``store.message_accept.SqlMessageAccept``, ``store.queue.SqlDeliveryQueue``,
``store.inbound_store.SqlInboundRequests``) and the in-memory one in
``hookgate.testing`` (``InMemoryStore``). One behaviour suite runs on all
three (``tests/integration/test_store_queue.py``, ``test_store_claim.py``,
``test_store_accept_messages.py``, ``test_inbound_recorder.py``,
``test_store_inbound_search.py``), so the fake cannot drift from the real
thing.

Every method raises only ``store.errors``: ``StoreUnavailable`` when the
database cannot be reached (retry later), ``StoreRejected`` when it refuses
the values (never retry the same write), ``NotFound`` where a method names it.

Management (applications, endpoints, event types, sources, tokens) has no
Protocol, on purpose: its reads and writes are the management API's own
(``store.applications``, ``store.endpoints``, ... are module functions taking
a ``Database``), nothing swaps them for another implementation, and a
Protocol of some forty methods mirroring the Svix API would only be a second
place to change with every field. The fake is seeded the way management
would (``InMemoryStore.add_application``, ``add_endpoint``, ``add_source``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from hookgate.store.accept_messages import AcceptItem, AcceptOutcome
from hookgate.store.inbound_requests import (
    PURGE_BATCH,
    InboundRequest,
    Received,
    Recorded,
)
from hookgate.store.inbound_search import ANY, RequestFilter
from hookgate.store.pagination import Page
from hookgate.store.records import DeliveryResult, Job


class MessageAccept(Protocol):
    """Accepting messages: one transaction stores a batch and its fan-out."""

    async def accept_batch(
        self,
        batch: Sequence[AcceptItem],
        now_ms: int,
        lease_until_ms: int,
        *,
        notify_workers: bool = False,
    ) -> list[AcceptOutcome]:
        """Store ``batch`` all or nothing and return one outcome per item, in
        order. Per item:

        - ``APP_NOT_FOUND`` when ``app_ref`` names no application (by id, else
          by uid) and the item cannot create one: an item with a
          ``new_application`` creates it (uid ``new_application.uid`` or
          ``app_ref``; an id-shaped ``app_ref`` without a uid never creates
          one), and finds it instead if that uid exists by then; the
          application then exists for every item of the batch naming it.
          Nothing of the item is kept, its idempotency key and event id stay
          unused.
        - ``REPLAYED`` when its ``idempotency_key`` was used before in that
          application (or earlier in this batch): the first message is
          returned (None while it is being created in this batch), no jobs,
          nothing stored.
        - ``EVENT_ID_CONFLICT`` when its ``event_id`` was taken in that
          application less than 24 h before (or earlier in this batch);
          its idempotency key then answers ``EVENT_ID_CONFLICT`` for good.
        - ``CREATED`` otherwise: the message is stored at ``now_ms`` with a
          pending delivery (due at ``now_ms``, leased until
          ``lease_until_ms``, 0 = not leased) to every enabled endpoint of its
          application whose event-type and channel filters accept it (or only
          to ``only_endpoint_id``), returned as ``jobs``.

        With ``notify_workers``, workers in other processes are woken on
        commit when deliveries were created.
        """


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

    async def renew_leases(self, delivery_ids: Collection[str], lease_until_ms: int) -> None:
        """Extend the leases of those deliveries that are still pending."""

    async def release(self, delivery_ids: Collection[str]) -> None:
        """Give pending deliveries back without an attempt: due again at once."""

    async def release_all(self) -> None:
        """Clear every lease. Only safe when no other process uses the store."""


class InboundRequests(Protocol):
    """The requests sources receive: recording with deduplication and
    forwarding, search and retention."""

    async def record_batch(
        self,
        items: Sequence[Received],
        *,
        now_ms: int | None = None,
        lease_until_ms: int = 0,
        notify_workers: bool = False,
    ) -> list[Recorded]:
        """Store every request of ``items`` and the messages forwarding the
        accepted ones, all or nothing, and return them as stored, in order.

        A request without a ``rejection`` claims its ``claim_key`` (the
        ``dedupe_key``, else its ``event_id``) in its source for its
        ``dedupe_window_ms`` (0: no check, no claim). While an earlier claim
        on that key has not expired (also one earlier in this batch), the
        request is stored with status ``DUPLICATE`` and ``rejection =
        "duplicate of <first request id>"``, and is not forwarded; an expired
        claim is taken over. Concurrent repeats yield exactly one accepted
        request.

        Each accepted request's ``forward`` is accepted as by
        ``MessageAccept.accept_batch`` (at ``now_ms``, default the latest
        ``received_at``, leased until ``lease_until_ms``) in the same
        transaction, its outcome returned as ``forwarded``: a failure stores
        neither requests nor claims nor messages. A request id stored before
        is refused (``StoreRejected``).
        """

    async def list_requests(
        self,
        source_ref: str,
        f: RequestFilter = ANY,
        *,
        iterator: str | None,
        limit: int | None,
    ) -> Page[InboundRequest]:
        """The requests of ``source_ref`` (id or uid) matching ``f``, newest
        first, one page (``store.pagination``: the iterator is a request id,
        ``"-" + id`` pages backwards). Raises ``NotFound`` for no source."""

    async def get_request(self, source_ref: str, request_id: str) -> InboundRequest:
        """The request ``request_id`` of ``source_ref``; raises ``NotFound``
        for no such source or no such request of it."""

    async def purge_requests(self, received_before_ms: int, *, batch: int = PURGE_BATCH) -> int:
        """Delete the requests of every source received before
        ``received_before_ms``, at most ``batch`` per transaction; how many
        were deleted. Dedupe claims are kept (they still block repeats)."""

    async def purge_expired_dedupe(self, now_ms: int, *, batch: int = PURGE_BATCH) -> int:
        """Delete the dedupe claims expired at ``now_ms`` (``expires_at <=
        now_ms``), at most ``batch`` per transaction; how many were deleted."""
