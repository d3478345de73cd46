"""``InMemoryStore``: every Protocol of ``store.contract`` in memory (the
rules are listed in ``hookgate.testing``)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hookgate.core import ids
from hookgate.core.filters import endpoint_accepts
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
    with_message_ids,
)
from hookgate.store.inbound_search import ANY, RequestFilter
from hookgate.store.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from hookgate.store.records import (
    Application,
    Endpoint,
    Job,
    Message,
    NewApplication,
)
from hookgate.testing.queue import InMemoryDeliveryQueue


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
            taken = set(self.requests)
            for request in stored:
                if request.id in taken:
                    raise ConstraintViolated(f"request id {request.id} is taken")
                taken.add(request.id)
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
                stored = with_message_ids(stored, outcomes)
            for request in stored:
                self.requests[request.id] = request
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
            (r for r in self.requests.values() if r.source_id == source_id and f.matches(r)),
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
    _keeps_every_contract: tuple[DeliveryQueue, MessageAccept, InboundRequests] = (
        InMemoryStore(),
    ) * 3
