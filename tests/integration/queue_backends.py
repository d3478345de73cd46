"""The delivery queue's behaviour suite runs on three stores: the in-memory
fake (``hookgate.testing``), SQLite and PostgreSQL. Each ``QueueStore`` here
seeds and inspects one of them the way the rest of Hookgate would (accepting
messages, management changes), so the tests read the same on all three."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select, update

from hookgate.core import ids
from hookgate.store import applications, messages, rows
from hookgate.store import endpoints as endpoint_store
from hookgate.store.accept_messages import AcceptItem, accept_batch
from hookgate.store.contract import DeliveryQueue
from hookgate.store.database import Database
from hookgate.store.queue import SqlDeliveryQueue
from hookgate.store.records import Endpoint, Job
from hookgate.store.tables import attempts, deliveries
from hookgate.testing import InMemoryDeliveryQueue
from tests.fakes import make_endpoint as endpoint_record
from tests.integration.conftest import NOW, all_deliveries


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """A delivery as the behaviour suite looks at it."""

    status: int
    attempt_count: int
    next_attempt_at: int
    lease_until: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class LoggedAttempt:
    delivery_id: str
    endpoint_id: str
    url: str
    status: int
    response_status_code: int
    response: bytes | None
    error_kind: str | None
    created_at: int


class QueueStore(Protocol):
    """One store under test: its queue, and ways to seed and inspect it."""

    name: str

    def queue(self, **options: Any) -> DeliveryQueue:
        """A queue on this store (``endpoint_cap``, ``disable_after_ms``)."""
        ...

    async def new_endpoint(
        self,
        url: str = ...,
        *,
        throttle_rate: int | None = None,
        app_throttle_rate: int | None = None,
        same_app_as: Endpoint | None = None,
    ) -> Endpoint:
        """An endpoint with its ``throttleRate``, in a new application with
        ``app_throttle_rate`` or in the application of ``same_app_as``."""
        ...

    async def seed(
        self, count: int, *, endpoint: Endpoint | None = None, now_ms: int = NOW
    ) -> tuple[Endpoint, list[Job]]:
        """``count`` unleased deliveries (one message each) due at ``now_ms``
        to ``endpoint`` (a new one if None), as accepting messages creates them."""
        ...

    async def set_delivery(self, delivery_id: str, **values: Any) -> None: ...

    async def deliveries(self) -> dict[str, DeliveryState]: ...

    async def attempts(self) -> list[LoggedAttempt]: ...

    async def endpoint_disabled(self, endpoint: Endpoint) -> bool: ...

    async def disable_endpoint(self, endpoint: Endpoint) -> None: ...

    async def delete_endpoint(self, endpoint: Endpoint) -> None: ...

    async def expunge_message(self, job: Job) -> None: ...


def _state(d: Any) -> DeliveryState:
    return DeliveryState(d.status, d.attempt_count, d.next_attempt_at, d.lease_until, d.updated_at)


class MemoryQueueStore:
    name = "memory"

    def __init__(self) -> None:
        self.fake = InMemoryDeliveryQueue()

    def queue(self, **options: Any) -> DeliveryQueue:
        # One in-memory table shared by every queue, as every SqlDeliveryQueue
        # shares the database.
        for key, value in options.items():
            setattr(self.fake, key, value)
        return self.fake

    async def new_endpoint(
        self,
        url: str = "https://receiver.example.com/hook",
        *,
        throttle_rate: int | None = None,
        app_throttle_rate: int | None = None,
        same_app_as: Endpoint | None = None,
    ) -> Endpoint:
        app_id = same_app_as.app_id if same_app_as else ids.new_id(ids.APP)
        endpoint = dataclasses.replace(
            endpoint_record(ids.new_id(ids.ENDPOINT), url=url),
            app_id=app_id,
            throttle_rate=throttle_rate,
        )
        if same_app_as is None:
            self.fake.set_app_throttle(app_id, app_throttle_rate)
        self.fake.add_endpoint(endpoint)
        return endpoint

    async def seed(
        self, count: int, *, endpoint: Endpoint | None = None, now_ms: int = NOW
    ) -> tuple[Endpoint, list[Job]]:
        if endpoint is None:
            endpoint = await self.new_endpoint()
        jobs = [
            Job(
                delivery_id=ids.new_id(ids.DELIVERY),
                msg_id=ids.new_id(ids.MESSAGE),
                app_id=endpoint.app_id,
                endpoint=endpoint,
                payload=b'{"n": %d}' % i,
                attempt_count=0,
            )
            for i in range(count)
        ]
        for job in jobs:
            self.fake.enqueue(job, next_attempt_at=now_ms)
        return endpoint, jobs

    async def set_delivery(self, delivery_id: str, **values: Any) -> None:
        for key, value in values.items():
            setattr(self.fake.deliveries[delivery_id], key, value)

    async def deliveries(self) -> dict[str, DeliveryState]:
        return {d.id: _state(d) for d in self.fake.deliveries.values()}

    async def attempts(self) -> list[LoggedAttempt]:
        endpoint_of = {d.id: d.endpoint_id for d in self.fake.deliveries.values()}
        return [
            LoggedAttempt(
                delivery_id,
                endpoint_of[delivery_id],
                a.url,
                a.status,
                a.response_status_code,
                a.response,
                a.error_kind,
                a.created_at,
            )
            for delivery_id, a in self.fake.attempts
            if delivery_id in endpoint_of
        ]

    async def endpoint_disabled(self, endpoint: Endpoint) -> bool:
        return self.fake.endpoints[endpoint.id].disabled

    async def disable_endpoint(self, endpoint: Endpoint) -> None:
        self.fake.disable_endpoint(endpoint.id)

    async def delete_endpoint(self, endpoint: Endpoint) -> None:
        self.fake.delete_endpoint(endpoint.id)

    async def expunge_message(self, job: Job) -> None:
        self.fake.expunge_message(job.msg_id)


class SqlQueueStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.name = "sqlite" if db.is_sqlite else "postgresql"
        self._apps = 0

    def queue(self, **options: Any) -> DeliveryQueue:
        return SqlDeliveryQueue(self.db, **options)

    async def new_endpoint(
        self,
        url: str = "https://receiver.example.com/hook",
        *,
        throttle_rate: int | None = None,
        app_throttle_rate: int | None = None,
        same_app_as: Endpoint | None = None,
    ) -> Endpoint:
        if same_app_as is not None:
            app_id = same_app_as.app_id
        else:
            self._apps += 1
            fields = {
                "name": "Acme",
                "uid": f"app-{self._apps}",
                "throttle_rate": app_throttle_rate,
            }
            app_id = (await applications.create(self.db, fields, NOW))[0].id
        fields = {"url": url, "throttle_rate": throttle_rate}
        return await endpoint_store.create(self.db, app_id, fields, NOW)

    async def seed(
        self, count: int, *, endpoint: Endpoint | None = None, now_ms: int = NOW
    ) -> tuple[Endpoint, list[Job]]:
        if endpoint is None:
            endpoint = await self.new_endpoint()
        items = [
            AcceptItem(endpoint.app_id, "invoice.paid", b'{"n": %d}' % i) for i in range(count)
        ]
        outcomes = await accept_batch(self.db, items, now_ms, 0)
        return endpoint, [job for o in outcomes for job in o.jobs]

    async def set_delivery(self, delivery_id: str, **values: Any) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                update(deliveries).where(deliveries.c.id == delivery_id).values(**values)
            )

    async def deliveries(self) -> dict[str, DeliveryState]:
        return {i: _state(d) for i, d in (await all_deliveries(self.db)).items()}

    async def attempts(self) -> list[LoggedAttempt]:
        async with self.db.read() as conn:
            result = await conn.execute(select(attempts).order_by(attempts.c.id))
            logged = [(row.delivery_id, rows.attempt(row)) for row in result]
        return [
            LoggedAttempt(
                delivery_id,
                a.endpoint_id,
                a.url,
                a.status,
                a.response_status_code,
                a.response,
                a.error_kind,
                a.created_at,
            )
            for delivery_id, a in logged
        ]

    async def endpoint_disabled(self, endpoint: Endpoint) -> bool:
        return (await endpoint_store.get(self.db, endpoint.app_id, endpoint.id)).disabled

    async def disable_endpoint(self, endpoint: Endpoint) -> None:
        await endpoint_store.update_fields(
            self.db, endpoint.app_id, endpoint.id, {"disabled": True}, NOW
        )

    async def delete_endpoint(self, endpoint: Endpoint) -> None:
        await endpoint_store.delete_endpoint(self.db, endpoint.app_id, endpoint.id, NOW)

    async def expunge_message(self, job: Job) -> None:
        await messages.expunge_message(self.db, job.app_id, job.msg_id)
