"""An in-memory store that keeps the store contract, for tests.

``InMemoryStore`` keeps every Protocol of ``store.contract`` in dictionaries,
following the SQL store's rules; the same behaviour suites run on it, on
SQLite and on PostgreSQL, so it cannot drift from the real store.
``InMemoryDeliveryQueue`` is its delivery-queue part alone.

The delivery queue (``store.queue.SqlDeliveryQueue``,
``tests/integration/test_store_queue.py``, ``test_store_claim.py``):

- a delivery is due when it is pending, ``next_attempt_at <= now`` and
  ``lease_until < now``;
- a claim leases at most ``endpoint_cap`` deliveries per endpoint (counting
  leases still running), endpoints taking turns in id order, each endpoint's
  oldest first; deliveries to a disabled endpoint or of an expunged message
  are failed instead of returned;
- results for deliveries that do not exist are dropped, results for
  deliveries no longer pending log their attempt and change nothing else,
  and endpoints are disabled on a 410 or after failing for
  ``disable_after_ms`` (``core.endpoint_health``);
- leases are renewed and released only while the delivery is pending;
- an endpoint with a ``throttleRate`` (its own, else its application's, set
  with ``set_app_throttle``) gets only the deliveries it has send slots for
  within ``throttle_horizon_ms``, each job carrying its slot in
  ``not_before``; a result's ``pause_endpoint_until`` keeps claims off its
  endpoint until then (``store.throttle``).

Message accept (``store.accept_messages``, ``test_store_accept_messages.py``):
applications found by id, else uid, or created on send; idempotency keys
replayed, event ids conflicting within 24 h, per application; fan-out to the
enabled endpoints whose event-type and channel filters accept the message.

Inbound requests (``store.inbound_requests``, ``test_inbound_recorder.py``,
``test_store_inbound_search.py``): claims on the event id or dedupe key per
source for the request's window, repeats stored as duplicates of the holder,
the forwarded messages accepted as above; search, get and purges.

``accept_batch`` and ``record_batch`` are all or nothing, like the SQL
transactions: a failure puts every table back (``refuse_event_type`` makes a
batch fail as a database trigger would).

Seed it with ``add_application``, ``add_endpoint``, ``add_source``,
``add_message`` and ``add_delivery`` (or ``enqueue`` a ``Job``), change it the
way management would (``disable_endpoint``, ``delete_endpoint``,
``expunge_message``) and read its state from its tables (``deliveries``,
``attempts``, ``stored_messages``, ``requests``, ...).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, zip_longest
from typing import TYPE_CHECKING, Any

from hookgate.core import ids
from hookgate.core.clock import DAY_MS
from hookgate.core.endpoint_health import DEFAULT_DISABLE_AFTER_DAYS, assess
from hookgate.core.filters import endpoint_accepts
from hookgate.core.throttle import effective_rate, reserve
from hookgate.store.accept_messages import (
    CONFLICT_STATUS,
    CREATED_STATUS,
    EVENT_ID_WINDOW_MS,
    AcceptItem,
    AcceptOutcome,
    AcceptStatus,
    scoped_idempotency_key,
)
from hookgate.store.contract import DeliveryQueue, InboundRequests, MessageAccept
from hookgate.store.errors import ConstraintViolated, NotFound, StoreRejected
from hookgate.store.inbound_requests import (
    DUPLICATE_PREFIX,
    PURGE_BATCH,
    InboundRequest,
    Received,
    Recorded,
    RequestStatus,
)
from hookgate.store.inbound_search import ANY, RequestFilter
from hookgate.store.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from hookgate.store.records import (
    Application,
    AttemptRow,
    DeliveryResult,
    DeliveryStatus,
    Endpoint,
    Job,
    Message,
    NewApplication,
    TriggerType,
)

__all__ = [
    "DedupeClaim",
    "InMemoryDeliveryQueue",
    "InMemoryStore",
    "StoredDelivery",
    "StoredMessage",
]


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


@dataclass(frozen=True, slots=True)
class DedupeClaim:
    """One row of the in-memory ``inbound_dedupe`` table: the request that
    claimed a key in its source, until ``expires_at``."""

    request_id: str
    expires_at: int


class InMemoryStore(InMemoryDeliveryQueue):
    """The whole store contract in dictionaries: ``DeliveryQueue`` (inherited),
    ``MessageAccept`` following ``store.accept_messages`` and
    ``InboundRequests`` following ``store.inbound_requests``.

    Each ``accept_batch`` and ``record_batch`` is one "transaction": if
    anything in it fails, every table is put back as it was. Make a write
    fail the way a database trigger would with ``refuse_event_type``.
    """

    #: The tables a transaction may change, put back if it fails.
    _TABLES = (
        "applications",
        "messages",
        "stored_messages",
        "deliveries",
        "idempotency_keys",
        "event_ids",
        "requests",
        "dedupe",
    )

    def __init__(self, **queue_options: int) -> None:
        """``queue_options`` as for ``InMemoryDeliveryQueue``."""
        super().__init__(**queue_options)
        self.applications: dict[str, Application] = {}
        #: Accepted messages as ``MessageAccept`` returns them, by id.
        self.stored_messages: dict[str, Message] = {}
        #: Scoped idempotency key -> (status code, message id or None).
        self.idempotency_keys: dict[str, tuple[int, str | None]] = {}
        #: (application id, event id) -> when it was taken (epoch ms).
        self.event_ids: dict[tuple[str, str], int] = {}
        #: Source id -> uid.
        self.sources: dict[str, str | None] = {}
        self.requests: dict[str, InboundRequest] = {}
        #: (source id, dedupe key) -> claim.
        self.dedupe: dict[tuple[str, str], DedupeClaim] = {}
        self.refused_event_types: set[str] = set()

    # -- seeding, as management would -------------------------------------------------

    def add_application(self, app: Application) -> Application:
        self.applications[app.id] = app
        return app

    def add_source(self, source_id: str, uid: str | None = None) -> None:
        self.sources[source_id] = uid

    def expunge_message(self, msg_id: str) -> None:
        """Drop a message's payload and headers (its deliveries stay)."""
        super().expunge_message(msg_id)
        stored = self.stored_messages.get(msg_id)
        if stored is not None:
            self.stored_messages[msg_id] = dataclasses.replace(stored, payload=None, headers=None)

    def refuse_event_type(self, event_type: str) -> None:
        """Fail (roll back) every batch storing a message of ``event_type``."""
        self.refused_event_types.add(event_type)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """All or nothing: on an exception every table is put back in place
        (the same dict objects, so references to them stay valid)."""
        tables: list[dict[Any, Any]] = [getattr(self, name) for name in self._TABLES]
        saved = [dict(table) for table in tables]
        try:
            yield
        except BaseException:
            for table, rows in zip(tables, saved, strict=True):
                table.clear()
                table.update(rows)
            raise

    # -- MessageAccept --------------------------------------------------------------

    async def accept_batch(
        self,
        batch: Sequence[AcceptItem],
        now_ms: int,
        lease_until_ms: int,
        *,
        notify_workers: bool = False,
    ) -> list[AcceptOutcome]:
        with self._transaction():
            return self._accept(batch, now_ms, lease_until_ms)

    def _accept(
        self, batch: Sequence[AcceptItem], now_ms: int, lease_until_ms: int
    ) -> list[AcceptOutcome]:
        # Applications are resolved for the whole batch first, as the SQL
        # store does: an item creating one on send makes it exist for every
        # item of the batch naming it.
        wanted: dict[str, NewApplication | None] = {}
        for item in batch:
            if item.new_application is not None or item.app_ref not in wanted:
                wanted[item.app_ref] = item.new_application
        app_ids = {ref: self._resolve_app(ref, new, now_ms) for ref, new in wanted.items()}
        outcomes: list[AcceptOutcome] = []
        for item in batch:
            app_id = app_ids[item.app_ref]
            if app_id is None:
                outcomes.append(AcceptOutcome(AcceptStatus.APP_NOT_FOUND))
                continue
            given = item.idempotency_key
            key = None if given is None else scoped_idempotency_key(app_id, given)
            if key is not None and key in self.idempotency_keys:
                outcomes.append(self._replay(key))
                continue
            msg_id = ids.new_id(ids.MESSAGE)
            if key is not None:
                self.idempotency_keys[key] = (CREATED_STATUS, msg_id)
            if item.event_id is not None:
                taken = self.event_ids.get((app_id, item.event_id))
                if taken is not None and taken >= now_ms - EVENT_ID_WINDOW_MS:
                    if key is not None:
                        self.idempotency_keys[key] = (CONFLICT_STATUS, None)
                    outcomes.append(AcceptOutcome(AcceptStatus.EVENT_ID_CONFLICT))
                    continue
                self.event_ids[(app_id, item.event_id)] = now_ms
            outcomes.append(self._create(item, app_id, msg_id, now_ms, lease_until_ms))
        return outcomes

    def _find_app(self, ref: str) -> str | None:
        if ref in self.applications:
            return ref
        return next((a.id for a in self.applications.values() if a.uid == ref), None)

    def _resolve_app(self, ref: str, new_app: NewApplication | None, now_ms: int) -> str | None:
        """``store.fanout.resolve_apps`` for one reference."""
        found = self._find_app(ref)
        if found is not None or new_app is None:
            return found
        if not new_app.uid and ids.looks_like_id(ref, ids.APP):
            return None
        uid = new_app.uid or ref
        existing = self._find_app(uid)
        if existing is not None and self.applications[existing].uid == uid:
            return existing
        app = Application(
            id=ids.new_id(ids.APP),
            uid=uid,
            name=new_app.name,
            throttle_rate=new_app.throttle_rate,
            metadata=new_app.metadata,
            created_at=now_ms,
            updated_at=now_ms,
        )
        return self.add_application(app).id

    def _replay(self, key: str) -> AcceptOutcome:
        status, msg_id = self.idempotency_keys[key]
        if status != CREATED_STATUS:
            return AcceptOutcome(AcceptStatus.EVENT_ID_CONFLICT)
        return AcceptOutcome(AcceptStatus.REPLAYED, self.stored_messages.get(msg_id or ""))

    def _create(
        self, item: AcceptItem, app_id: str, msg_id: str, now_ms: int, lease_until_ms: int
    ) -> AcceptOutcome:
        if item.event_type in self.refused_event_types:
            raise StoreRejected("refused by test trigger")
        message = Message(
            id=msg_id,
            app_id=app_id,
            event_type=item.event_type,
            event_id=item.event_id,
            channels=item.channels,
            tags=item.tags,
            payload=item.payload,
            created_at=now_ms,
            headers=item.headers,
        )
        self.stored_messages[msg_id] = message
        self.add_message(msg_id, item.payload, item.headers)
        jobs = [
            self.enqueue(
                Job(
                    delivery_id=ids.new_id(ids.DELIVERY),
                    msg_id=msg_id,
                    app_id=app_id,
                    endpoint=endpoint,
                    payload=item.payload,
                    attempt_count=0,
                    headers=item.headers,
                ),
                next_attempt_at=now_ms,
                lease_until=lease_until_ms,
            )
            for endpoint in self.endpoints.values()
            if endpoint.app_id == app_id and not endpoint.disabled and _routes(item, endpoint)
        ]
        return AcceptOutcome(AcceptStatus.CREATED, message, jobs)

    # -- InboundRequests ------------------------------------------------------------

    async def record_batch(
        self,
        items: Sequence[Received],
        *,
        now_ms: int | None = None,
        lease_until_ms: int = 0,
        notify_workers: bool = False,
    ) -> list[Recorded]:
        with self._transaction():
            stored = self._claim_all(items)
            for request in stored:
                if request.id in self.requests:
                    raise ConstraintViolated(f"request id {request.id} is taken")
                self.requests[request.id] = request
            forwarding = [
                (index, item.forward)
                for index, (item, request) in enumerate(zip(items, stored, strict=True))
                if item.forward is not None and request.status is RequestStatus.ACCEPTED
            ]
            outcomes: dict[int, AcceptOutcome] = {}
            if forwarding:
                at = now_ms if now_ms is not None else max(r.received_at for r in stored)
                accepted = self._accept([f for _, f in forwarding], at, lease_until_ms)
                outcomes = {index: o for (index, _), o in zip(forwarding, accepted, strict=True)}
        return [Recorded(request, outcomes.get(index)) for index, request in enumerate(stored)]

    def _claim_all(self, items: Sequence[Received]) -> list[InboundRequest]:
        """The requests of ``items``, repeats marked as duplicates, claims made."""
        #: Per key claimed in this batch: the request that claimed it first,
        #: and the holder of an unexpired earlier claim (None: the first took it).
        first_in_batch: dict[tuple[str, str], tuple[str, str | None]] = {}
        stored: list[InboundRequest] = []
        for item in items:
            request, claim = item.request, item.claim_key
            if claim is None:
                stored.append(request)
                continue
            key = (request.source_id, claim)
            if key in first_in_batch:
                first_id, holder = first_in_batch[key]
                stored.append(_duplicate(request, holder or first_id))
                continue
            earlier = self.dedupe.get(key)
            if earlier is not None and earlier.expires_at > request.received_at:
                first_in_batch[key] = (request.id, earlier.request_id)
                stored.append(_duplicate(request, earlier.request_id))
                continue
            first_in_batch[key] = (request.id, None)
            self.dedupe[key] = DedupeClaim(request.id, request.received_at + item.dedupe_window_ms)
            stored.append(request)
        return stored

    def _source_id(self, source_ref: str) -> str:
        if source_ref in self.sources:
            return source_ref
        for source_id, uid in self.sources.items():
            if uid == source_ref:
                return source_id
        raise NotFound("Source")

    async def list_requests(
        self,
        source_ref: str,
        f: RequestFilter = ANY,
        *,
        iterator: str | None,
        limit: int | None,
    ) -> Page[InboundRequest]:
        source_id = self._source_id(source_ref)
        found = sorted(
            (r for r in self.requests.values() if r.source_id == source_id and _matches(r, f)),
            key=lambda r: r.id,
        )
        return _page(found, iterator=iterator, limit=limit, descending=True)

    async def get_request(self, source_ref: str, request_id: str) -> InboundRequest:
        source_id = self._source_id(source_ref)
        request = self.requests.get(request_id)
        if request is None or request.source_id != source_id:
            raise NotFound("Request")
        return request

    async def purge_requests(self, received_before_ms: int, *, batch: int = PURGE_BATCH) -> int:
        _check_batch(batch)
        doomed = [i for i, r in self.requests.items() if r.received_at < received_before_ms]
        for request_id in doomed:
            del self.requests[request_id]
        return len(doomed)

    async def purge_expired_dedupe(self, now_ms: int, *, batch: int = PURGE_BATCH) -> int:
        _check_batch(batch)
        doomed = [key for key, claim in self.dedupe.items() if claim.expires_at <= now_ms]
        for key in doomed:
            del self.dedupe[key]
        return len(doomed)


def _routes(item: AcceptItem, endpoint: Endpoint) -> bool:
    """Whether ``item`` fans out to the (enabled) ``endpoint``."""
    if item.only_endpoint_id is not None:
        return endpoint.id == item.only_endpoint_id
    return endpoint_accepts(
        event_type=item.event_type,
        channels=item.channels,
        endpoint_event_types=endpoint.event_types,
        endpoint_channels=endpoint.channels,
    )


def _duplicate(request: InboundRequest, holder: str) -> InboundRequest:
    return dataclasses.replace(
        request, rejection=f"{DUPLICATE_PREFIX}{holder}", status=RequestStatus.DUPLICATE
    )


def _matches(request: InboundRequest, f: RequestFilter) -> bool:
    """``store.inbound_requests._filtered``: every criterion set must hold."""
    return (
        (f.verified is None or request.verified == f.verified)
        and (f.after is None or request.received_at > f.after)
        and (f.before is None or request.received_at < f.before)
        and (f.event_id is None or request.event_id == f.event_id)
        and (f.event_type is None or request.event_type == f.event_type)
        and (f.status is None or request.status is f.status)
    )


def _check_batch(batch: int) -> None:
    if batch < 1:
        raise ValueError(f"batch must be at least 1, not {batch}")


def _page(
    ordered: list[InboundRequest], *, iterator: str | None, limit: int | None, descending: bool
) -> Page[InboundRequest]:
    """``store.pagination.paginate`` over ``ordered`` (ascending by id)."""
    size = max(1, min(limit or DEFAULT_LIMIT, MAX_LIMIT))
    backwards = iterator is not None and iterator.startswith("-")
    cursor = iterator[1:] if iterator and backwards else iterator
    walk_descending = descending != backwards
    walk = list(reversed(ordered)) if walk_descending else ordered
    if cursor:
        walk = [r for r in walk if (r.id < cursor if walk_descending else r.id > cursor)]
    more = len(walk) > size
    items = walk[:size]
    if backwards:
        items.reverse()
    if not items:
        return Page(items, iterator=None if backwards else cursor, prev_iterator=None, done=True)
    done = not more if not backwards else False
    return Page(items, iterator=items[-1].id, prev_iterator=f"-{items[0].id}", done=done)


if TYPE_CHECKING:  # mypy checks that the fakes keep the contract
    _keeps_the_contract: DeliveryQueue = InMemoryDeliveryQueue()
    _keeps_every_contract: tuple[DeliveryQueue, MessageAccept, InboundRequests] = (
        InMemoryStore(),
    ) * 3
