"""Sources, their ingest tokens, what deleting a source takes with it, purges
in short transactions and migration 0004, on SQLite and PostgreSQL: these are
management and SQL details, not part of the store contract. Recording,
deduplication, search and purges of received requests are the contract's and
run on the in-memory fake too (``test_store_inbound_dedupe``,
``test_store_inbound_search``, ``test_inbound_recorder``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from alembic import command
from sqlalchemy import JSON, Connection, column, select, table, text

from hookgate.core.secretbox import token_digest
from hookgate.inbound import config
from hookgate.store import inbound_requests, inbound_search, source_lookup, sources
from hookgate.store.database import Database
from hookgate.store.errors import Conflict, NotFound
from hookgate.store.inbound_requests import InboundRequest
from hookgate.store.migrate import alembic_config
from hookgate.store.sources import Source
from hookgate.store.tables import inbound_dedupe
from tests.integration.conftest import NOW

WINDOW_MS = 60_000


async def make_source(db: Database, uid: str | None = "gh", source_type: str = "github") -> Source:
    scheme, stored = config.parse(source_type, {"secret": "s3cret"})
    fields = {"uid": uid, "name": "GitHub", "type": source_type, "scheme": scheme}
    return await sources.create(db, {**fields, "config": stored, "metadata": {"a": "b"}}, NOW)


def request(source: Source, at: int = NOW, **fields: object) -> InboundRequest:
    base = InboundRequest(
        id=inbound_requests.new_request_id(),
        source_id=source.id,
        received_at=at,
        method="POST",
        path=f"/in/{source.id}",
        query="a=1&a=2",
        headers=[("x-b", "2"), ("X-A", "1"), ("x-b", "3")],
        body=b'{"k":"\xc3\xa9"}\x00\xff',
        source_ip="203.0.113.9",
        verified=True,
        rejection=None,
        event_id="evt-1",
        event_type="push",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


async def test_create_get_list_update_delete(db: Database) -> None:
    created = await make_source(db)
    assert created.id.startswith("src_")
    assert (created.scheme, created.config["secrets"]) == ("github", ["s3cret"])
    assert await sources.get(db, created.id) == created
    assert await sources.get(db, "gh") == created
    other = await make_source(db, uid=None)

    page = await sources.list_page(db, iterator=None, limit=1, descending=False)
    assert [s.id for s in page.items] == [created.id]
    assert not page.done
    page = await sources.list_page(db, iterator=page.iterator, limit=1, descending=False)
    assert [s.id for s in page.items] == [other.id]

    scheme, stored = config.parse("stripe", {"secret": "whsec_x"})
    fields = {"name": "Stripe", "type": "stripe", "scheme": scheme, "config": stored}
    updated, made = await sources.upsert(db, "gh", {**fields, "uid": "gh"}, NOW + 5)
    assert not made
    assert (updated.id, updated.type, updated.scheme, updated.updated_at) == (
        created.id,
        "stripe",
        "stripe",
        NOW + 5,
    )
    fresh, made = await sources.upsert(db, "new-uid", fields, NOW)
    assert made
    assert fresh.uid == "new-uid"

    await sources.delete_source(db, "gh")
    with pytest.raises(NotFound):
        await sources.get(db, created.id)


async def test_uid_is_unique(db: Database) -> None:
    await make_source(db)
    with pytest.raises(Conflict):
        await make_source(db)


async def test_deleting_a_source_deletes_its_requests(db: Database) -> None:
    source = await make_source(db)
    await inbound_requests.record_request(db, request(source), dedupe_window_ms=WINDOW_MS)
    await sources.delete_source(db, source.id)
    again = await make_source(db)
    # The dedupe entry went with the source: the event id is new again.
    fresh = await inbound_requests.record_request(db, request(again), dedupe_window_ms=WINDOW_MS)
    assert fresh.rejection is None
    with pytest.raises(NotFound):
        await inbound_search.list_requests(db, source.id, iterator=None, limit=None)


# -- ingest tokens ---------------------------------------------------------------

GRACE = sources.TOKEN_GRACE_MS


async def test_each_source_gets_its_own_secret_token(db: Database) -> None:
    first, second = await make_source(db), await make_source(db, uid=None)
    assert len(first.token) == 32
    assert first.token != second.token
    assert (first.previous_token_hash, first.previous_token_expires_at) == (None, None)
    assert await sources.get(db, first.id) == first
    assert first.token not in repr(first)
    # The token addresses the source for ingestion only, never for management.
    with pytest.raises(NotFound):
        await sources.get(db, first.token)
    # A PUT replaces the configuration but keeps the URL.
    updated, _ = await sources.upsert(
        db, first.id, {"name": "x", "type": "t", "scheme": "none", "config": {}}, NOW
    )
    assert updated.token == first.token


async def test_get_for_ingest_by_id_uid_or_token(db: Database) -> None:
    source = await make_source(db)
    for key in (source.id, "gh", source.token):
        assert await source_lookup.get_for_ingest(db, key, NOW) == source
    for key in ("", "nope", source.token[:-1], source.token.upper()):
        with pytest.raises(NotFound):
            await source_lookup.get_for_ingest(db, key, NOW)


async def test_rotated_token_works_for_the_grace_period_only(db: Database) -> None:
    source = await make_source(db)
    old = source.token
    rotated = await sources.rotate_token(db, "gh", NOW + 10)
    assert rotated.token not in (old, "")
    assert (rotated.previous_token_hash, rotated.previous_token_expires_at) == (
        token_digest(old),
        NOW + 10 + GRACE,
    )
    assert rotated.updated_at == NOW + 10
    assert await sources.get(db, source.id) == rotated

    assert await source_lookup.get_for_ingest(db, rotated.token, NOW + 10 + GRACE) == rotated
    assert await source_lookup.get_for_ingest(db, old, NOW + 10) == rotated
    assert await source_lookup.get_for_ingest(db, old, NOW + 10 + GRACE - 1) == rotated
    with pytest.raises(NotFound):
        await source_lookup.get_for_ingest(db, old, NOW + 10 + GRACE)
    # Id and uid are unaffected.
    assert await source_lookup.get_for_ingest(db, source.id, NOW + 10 + GRACE) == rotated


async def test_rotating_again_retires_the_previous_token_at_once(db: Database) -> None:
    source = await make_source(db)
    once = await sources.rotate_token(db, source.id, NOW)
    twice = await sources.rotate_token(db, source.id, NOW + 1)
    assert len({source.token, once.token, twice.token}) == 3
    assert (twice.previous_token_hash, twice.previous_token_expires_at) == (
        token_digest(once.token),
        NOW + 1 + GRACE,
    )
    with pytest.raises(NotFound):
        await source_lookup.get_for_ingest(db, source.token, NOW + 2)
    assert await source_lookup.get_for_ingest(db, once.token, NOW + 2) == twice
    with pytest.raises(NotFound):
        await sources.rotate_token(db, "src_nope", NOW)


async def test_id_and_uid_take_precedence_over_tokens(db: Database) -> None:
    """Keys are unique per kind, not across kinds: the order is documented."""
    holder = await make_source(db, uid=None)
    squatter = await make_source(db, uid=holder.token)
    assert await source_lookup.get_for_ingest(db, holder.token, NOW) == squatter
    assert await source_lookup.get_for_ingest(db, holder.id, NOW) == holder


def test_matched_by_token() -> None:
    source = Source(
        id="src_1",
        uid="gh",
        name="n",
        type="github",
        scheme="github",
        config={},
        metadata={},
        created_at=NOW,
        updated_at=NOW,
        token="new-token",
        previous_token_hash=token_digest("old-token"),
        previous_token_expires_at=NOW,
    )
    assert source_lookup.matched_by_token(source, "new-token")
    assert source_lookup.matched_by_token(source, "old-token")
    for key in ("src_1", "gh", "", "new-token ", "nëw"):
        assert not source_lookup.matched_by_token(source, key)
    assert not source_lookup.matched_by_token(
        replace(source, previous_token_hash=None), "old-token"
    )


# -- retention in short transactions ---------------------------------------------------


async def test_purge_requests_takes_one_transaction_per_batch(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = await make_source(db)
    for n in range(6):
        await inbound_requests.record_request(
            db, request(source, at=NOW + n, event_id=f"e{n}"), dedupe_window_ms=WINDOW_MS
        )
    transactions = 0
    write = db.write

    def counting_write(**options: bool) -> Any:
        nonlocal transactions
        transactions += 1
        return write(**options)

    monkeypatch.setattr(db, "write", counting_write)
    assert await inbound_requests.purge_requests(db, NOW + 5, batch=2) == 5
    assert transactions == 3  # 2 + 2 + 1 rows, one transaction each


# -- migration 0004 on existing data ------------------------------------------------------


async def migrate(db: Database, target: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config(connection)
        if target == "head":
            command.upgrade(config, target)
        else:
            command.downgrade(config, target)

    async with db.write() as conn:
        await conn.run_sync(run)


async def count(db: Database, name: str) -> int:
    async with db.read() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {name}"))).scalar_one())


async def test_migration_0004_round_trip_keeps_the_data(db: Database) -> None:
    """Down to 0003, data in, up and down again: nothing stored is lost (on
    SQLite, rebuilding ``sources`` would cascade-delete the requests)."""
    await migrate(db, "0003")
    rows = {
        "sources": [
            {"id": f"src_{n}", "uid": None, "name": "n", "type": "github", "scheme": "github"}
            | {"config": {}, "metadata": {}, "created_at": NOW, "updated_at": NOW}
            for n in range(3)
        ],
        "inbound_requests": [
            {"id": "inreq_1", "source_id": "src_0", "received_at": NOW, "method": "POST"}
            | {"path": "/in/src_0", "query": "", "headers": [], "body": b"{}"}
            | {"source_ip": None, "verified": True, "rejection": None}
            | {"event_id": "e", "event_type": None}
        ],
        "inbound_dedupe": [
            {"source_id": "src_0", "event_id": "e", "request_id": "inreq_1", "created_at": NOW}
        ],
    }
    async with db.write() as conn:
        for name, values in rows.items():
            columns = [
                column(key, JSON if key in ("config", "metadata", "headers") else None)
                for key in values[0]
            ]
            await conn.execute(table(name, *columns).insert(), values)

    await migrate(db, "head")
    async with db.read() as conn:
        expiry = (await conn.execute(select(inbound_dedupe.c.expires_at))).scalar_one()
    found = (await sources.list_page(db, iterator=None, limit=None, descending=False)).items
    tokens = {source.token for source in found}
    assert len(tokens) == 3
    assert all(len(token) == 32 for token in tokens)
    assert expiry == NOW + 86_400_000
    assert await count(db, "inbound_requests") == 1
    assert await source_lookup.get_for_ingest(db, found[0].token, NOW) == found[0]

    await migrate(db, "0003")
    assert (await count(db, "sources"), await count(db, "inbound_requests")) == (3, 1)
    await migrate(db, "head")
    assert await count(db, "inbound_dedupe") == 1
