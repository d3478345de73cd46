"""The accept and inbound behaviour suites run on three stores: the
in-memory fake (``hookgate.testing.InMemoryStore``), SQLite and PostgreSQL.
Each ``ContractStore`` here gives a test the store's ``MessageAccept`` and
``InboundRequests`` and seeds and inspects it the way the rest of Hookgate
would (management writes, reading rows back), so the tests read the same on
all three."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, select

from hookgate.core import ids
from hookgate.inbound import config
from hookgate.inbound.recorder import Recorder
from hookgate.store import applications, sources
from hookgate.store import endpoints as endpoint_store
from hookgate.store import messages as message_store
from hookgate.store.contract import DeliveryQueue, InboundRequests, MessageAccept
from hookgate.store.database import Database
from hookgate.store.errors import NotFound
from hookgate.store.inbound_store import SqlInboundRequests
from hookgate.store.message_accept import SqlMessageAccept
from hookgate.store.queue import SqlDeliveryQueue
from hookgate.store.records import Application, Endpoint
from hookgate.store.sources import Source
from hookgate.store.tables import messages
from hookgate.testing import InMemoryStore
from tests.fakes import make_endpoint as endpoint_record
from tests.integration.conftest import NOW, all_deliveries


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    """A delivery as the accept suite looks at it."""

    msg_id: str
    endpoint_id: str
    status: int
    attempt_count: int
    next_attempt_at: int
    lease_until: int


class ContractStore(Protocol):
    """One store under test: its use cases, and ways to seed and inspect it."""

    name: str
    accepts: MessageAccept
    inbound: InboundRequests

    def queue(self) -> DeliveryQueue: ...

    def recorder(self) -> Recorder:
        """A ``Recorder`` (no engine) storing into this store."""
        ...

    async def make_app(self, uid: str | None = None, name: str = "Acme") -> Application: ...

    async def make_endpoint(self, app_id: str, **fields: Any) -> Endpoint:
        """An endpoint of ``app_id`` (``event_types``, ``channels``, ``disabled``)."""
        ...

    async def disable_endpoint(self, endpoint: Endpoint) -> None: ...

    async def make_source(self, uid: str | None = "gh") -> Source: ...

    async def app(self, ref: str) -> Application:
        """The application ``ref`` (id or uid) names; raises ``NotFound``."""
        ...

    async def apps(self) -> list[Application]: ...

    async def message_count(self) -> int: ...

    async def expunge_message(self, app_id: str, msg_id: str) -> None:
        """Drop a message's payload, as ``DELETE .../msg/{id}/content`` does."""
        ...

    async def deliveries(self) -> dict[str, StoredDelivery]: ...

    async def payloads(self, app_id: str) -> list[bytes]:
        """The payloads of ``app_id``'s messages."""
        ...

    async def refuse_messages_of_type(self, event_type: str) -> None:
        """Make the store refuse (roll back) any batch storing a message of
        ``event_type``, with "refused by test trigger"."""
        ...


class MemoryContractStore:
    name = "memory"

    def __init__(self) -> None:
        self.fake = InMemoryStore()
        self.accepts: MessageAccept = self.fake
        self.inbound: InboundRequests = self.fake

    def queue(self) -> DeliveryQueue:
        return self.fake

    def recorder(self) -> Recorder:
        return Recorder(self.fake)

    async def make_app(self, uid: str | None = None, name: str = "Acme") -> Application:
        app = Application(ids.new_id(ids.APP), uid, name, None, {}, NOW, NOW)
        return self.fake.add_application(app)

    async def make_endpoint(self, app_id: str, **fields: Any) -> Endpoint:
        endpoint = dataclasses.replace(
            endpoint_record(ids.new_id(ids.ENDPOINT)), app_id=app_id, **fields
        )
        self.fake.add_endpoint(endpoint)
        return endpoint

    async def disable_endpoint(self, endpoint: Endpoint) -> None:
        self.fake.disable_endpoint(endpoint.id)

    async def make_source(self, uid: str | None = "gh") -> Source:
        source = Source(
            id=ids.new_id(ids.SOURCE),
            uid=uid,
            name="GitHub",
            type="github",
            scheme="github",
            config={},
            metadata={},
            created_at=NOW,
            updated_at=NOW,
            token="",
        )
        self.fake.add_source(source.id, uid)
        return source

    async def app(self, ref: str) -> Application:
        for app in self.fake.applications.values():
            if ref in (app.id, app.uid):
                return app
        raise NotFound("Application")

    async def apps(self) -> list[Application]:
        return list(self.fake.applications.values())

    async def message_count(self) -> int:
        return len(self.fake.stored_messages)

    async def expunge_message(self, app_id: str, msg_id: str) -> None:
        self.fake.expunge_message(msg_id)

    async def deliveries(self) -> dict[str, StoredDelivery]:
        return {
            d.id: StoredDelivery(
                d.msg_id,
                d.endpoint_id,
                d.status,
                d.attempt_count,
                d.next_attempt_at,
                d.lease_until,
            )
            for d in self.fake.deliveries.values()
        }

    async def payloads(self, app_id: str) -> list[bytes]:
        return [
            m.payload
            for m in self.fake.stored_messages.values()
            if m.app_id == app_id and m.payload is not None
        ]

    async def refuse_messages_of_type(self, event_type: str) -> None:
        self.fake.refuse_event_type(event_type)


class SqlContractStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.name = "sqlite" if db.is_sqlite else "postgresql"
        self.accepts: MessageAccept = SqlMessageAccept(db)
        self.inbound: InboundRequests = SqlInboundRequests(db)

    def queue(self) -> DeliveryQueue:
        return SqlDeliveryQueue(self.db)

    def recorder(self) -> Recorder:
        return Recorder(self.inbound)

    async def make_app(self, uid: str | None = None, name: str = "Acme") -> Application:
        app, created = await applications.create(self.db, {"name": name, "uid": uid}, NOW)
        assert created
        return app

    async def make_endpoint(self, app_id: str, **fields: Any) -> Endpoint:
        fields.setdefault("url", "https://hooks.example.com/in")
        return await endpoint_store.create(self.db, app_id, fields, NOW)

    async def disable_endpoint(self, endpoint: Endpoint) -> None:
        await endpoint_store.update_fields(
            self.db, endpoint.app_id, endpoint.id, {"disabled": True}, NOW
        )

    async def make_source(self, uid: str | None = "gh") -> Source:
        scheme, stored = config.parse("github", {"secret": "s3cret"})
        fields = {"uid": uid, "name": "GitHub", "type": "github", "scheme": scheme}
        return await sources.create(self.db, {**fields, "config": stored}, NOW)

    async def app(self, ref: str) -> Application:
        return await applications.get(self.db, ref)

    async def apps(self) -> list[Application]:
        page = await applications.list_page(self.db, iterator=None, limit=None, descending=False)
        return page.items

    async def message_count(self) -> int:
        async with self.db.read() as conn:
            query = select(func.count()).select_from(messages)
            return int((await conn.execute(query)).scalar_one())

    async def expunge_message(self, app_id: str, msg_id: str) -> None:
        await message_store.expunge_message(self.db, app_id, msg_id)

    async def deliveries(self) -> dict[str, StoredDelivery]:
        return {
            i: StoredDelivery(
                d.msg_id, d.endpoint_id, d.status, d.attempt_count, d.next_attempt_at, d.lease_until
            )
            for i, d in (await all_deliveries(self.db)).items()
        }

    async def payloads(self, app_id: str) -> list[bytes]:
        async with self.db.read() as conn:
            result = await conn.execute(
                select(messages.c.payload).where(messages.c.app_id == app_id)
            )
            return [bytes(payload) for (payload,) in result]

    async def refuse_messages_of_type(self, event_type: str) -> None:
        await refuse_messages_of_type(self.db, event_type)


async def refuse_messages_of_type(db: Database, event_type: str) -> None:
    """Make the database itself refuse (roll back) any batch storing a
    message of ``event_type``: a trigger, on either dialect."""
    async with db.write() as conn:
        if db.is_sqlite:
            await conn.exec_driver_sql(
                "CREATE TRIGGER refuse_type BEFORE INSERT ON messages"
                f" WHEN NEW.event_type = '{event_type}'"
                " BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
            )
        else:
            await conn.exec_driver_sql(
                "CREATE FUNCTION refuse_type() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$"
            )
            await conn.exec_driver_sql(
                "CREATE TRIGGER refuse_type BEFORE INSERT ON messages FOR EACH ROW"
                f" WHEN (NEW.event_type = '{event_type}') EXECUTE FUNCTION refuse_type()"
            )
