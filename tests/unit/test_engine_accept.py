"""The engine's accept path over the ``MessageAccept`` Protocol, on the
in-memory store (``hookgate.testing.InMemoryStore``): concurrent messages are
group-committed into one batch, and a batch the store refuses is retried one
message at a time so that only the refused message fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from hookgate.config import Settings
from hookgate.delivery.engine import Engine
from hookgate.store.accept_messages import AcceptItem, AcceptOutcome, AcceptStatus
from hookgate.store.database import Database
from hookgate.store.errors import StoreRejected
from hookgate.store.records import Application
from hookgate.testing import InMemoryStore

APP = Application("app_1", "acme", "Acme", None, {}, 0, 0)


class CountingStore(InMemoryStore):
    """Remembers the size of every batch it was asked to accept."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    async def accept_batch(
        self,
        batch: Sequence[AcceptItem],
        now_ms: int,
        lease_until_ms: int,
        *,
        notify_workers: bool = False,
    ) -> list[AcceptOutcome]:
        self.batches.append(len(batch))
        return await super().accept_batch(
            batch, now_ms, lease_until_ms, notify_workers=notify_workers
        )


@pytest.fixture
def store() -> CountingStore:
    store = CountingStore()
    store.add_application(APP)
    return store


@pytest.fixture
async def engine(store: CountingStore, tmp_path: Path) -> AsyncIterator[Engine]:
    # The database is never connected to: messages go to the in-memory store.
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/unused.db")
    engine = Engine(
        Settings(data_dir=tmp_path, database_url=None),
        db,
        run_worker=False,
        message_accept=store,
    )
    try:
        yield engine
    finally:
        await engine.stop()
        await db.dispose()


def message(event_type: str = "invoice.paid") -> AcceptItem:
    return AcceptItem(app_ref="acme", event_type=event_type, payload=b"{}")


async def test_concurrent_messages_are_stored_in_one_batch(
    engine: Engine, store: CountingStore
) -> None:
    outcomes = await asyncio.gather(*(engine.accept(message()) for _ in range(5)))

    assert [o.status for o in outcomes] == [AcceptStatus.CREATED] * 5
    assert store.batches == [5]
    assert {o.message.id for o in outcomes if o.message} == set(store.stored_messages)


async def test_a_refused_message_fails_alone(engine: Engine, store: CountingStore) -> None:
    store.refuse_event_type("poison")

    good, bad, other = await asyncio.gather(
        engine.accept(message()),
        engine.accept(message("poison")),
        engine.accept(message()),
        return_exceptions=True,
    )

    assert isinstance(bad, StoreRejected)
    assert isinstance(good, AcceptOutcome)
    assert isinstance(other, AcceptOutcome)
    assert (good.status, other.status) == (AcceptStatus.CREATED, AcceptStatus.CREATED)
    assert store.batches == [3, 1, 1, 1]
    assert len(store.stored_messages) == 2
