"""Sources, their ingest tokens and received requests in the store (dedupe,
retention), on SQLite and PostgreSQL. The request search is in
``test_store_inbound_search``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from alembic import command
from sqlalchemy import JSON, Connection, column, select, table, text

from hookgate.core.secretbox import token_digest
from hookgate.inbound import config
from hookgate.store import inbound_requests, sources
from hookgate.store.database import Database
from hookgate.store.errors import Conflict, NotFound
from hookgate.store.inbound_requests import InboundRequest, RequestFilter
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


async def test_requests_are_stored_byte_for_byte_newest_first(db: Database) -> None:
    source = await make_source(db)
    first = await inbound_requests.record_request(db, request(source), dedupe_window_ms=WINDOW_MS)
    bad = request(source, verified=False, rejection="bad signature", event_id=None)
    await inbound_requests.record_request(db, bad, dedupe_window_ms=WINDOW_MS)

    page = await inbound_requests.list_requests(db, "gh", iterator=None, limit=None)
    assert [r.id for r in page.items] == [bad.id, first.id]
    assert page.items[1] == first
    assert page.items[1].body == b'{"k":"\xc3\xa9"}\x00\xff'
    assert page.items[1].headers == [("x-b", "2"), ("X-A", "1"), ("x-b", "3")]
    unverified = RequestFilter(verified=False)
    only_bad = await inbound_requests.list_requests(db, "gh", unverified, iterator=None, limit=None)
    assert [r.rejection for r in only_bad.items] == ["bad signature"]


async def test_repeated_event_id_is_a_duplicate_within_the_window(db: Database) -> None:
    source = await make_source(db)
    other = await make_source(db, uid="other")
    first = await inbound_requests.record_request(db, request(source), dedupe_window_ms=WINDOW_MS)
    assert first.rejection is None
    again = await inbound_requests.record_request(
        db, request(source, at=NOW + 1), dedupe_window_ms=WINDOW_MS
    )
    assert again.rejection == f"duplicate of {first.id}"
    elsewhere = await inbound_requests.record_request(
        db, request(other), dedupe_window_ms=WINDOW_MS
    )
    assert elsewhere.rejection is None
    # Rejected requests neither claim nor hit the window.
    refused = request(source, event_id="evt-2", verified=False, rejection="stale")
    await inbound_requests.record_request(db, refused, dedupe_window_ms=WINDOW_MS)
    fresh = await inbound_requests.record_request(
        db, request(source, event_id="evt-2"), dedupe_window_ms=WINDOW_MS
    )
    assert fresh.rejection is None
    # Once the window has passed, the event id is accepted (and claimed) again.
    later = await inbound_requests.record_request(
        db, request(source, at=NOW + WINDOW_MS), dedupe_window_ms=WINDOW_MS
    )
    assert later.rejection is None
    after = await inbound_requests.record_request(
        db, request(source, at=NOW + WINDOW_MS + 1), dedupe_window_ms=WINDOW_MS
    )
    assert after.rejection == f"duplicate of {later.id}"
    # A window of 0 turns deduplication off.
    off = await inbound_requests.record_request(db, request(source), dedupe_window_ms=0)
    assert off.rejection is None

    verified = RequestFilter(verified=True)
    stored = await inbound_requests.list_requests(
        db, source.id, verified, iterator=None, limit=None
    )
    assert {r.id: r.rejection for r in stored.items}[again.id] == f"duplicate of {first.id}"
    # evt-1 on the other source and evt-2 were first seen at NOW: expired.
    assert await inbound_requests.purge_expired_dedupe(db, NOW + WINDOW_MS - 1) == 0
    assert await inbound_requests.purge_expired_dedupe(db, NOW + WINDOW_MS) == 2


async def test_deleting_a_source_deletes_its_requests(db: Database) -> None:
    source = await make_source(db)
    await inbound_requests.record_request(db, request(source), dedupe_window_ms=WINDOW_MS)
    await sources.delete_source(db, source.id)
    again = await make_source(db)
    # The dedupe entry went with the source: the event id is new again.
    fresh = await inbound_requests.record_request(db, request(again), dedupe_window_ms=WINDOW_MS)
    assert fresh.rejection is None
    with pytest.raises(NotFound):
        await inbound_requests.list_requests(db, source.id, iterator=None, limit=None)


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
        assert await sources.get_for_ingest(db, key, NOW) == source
    for key in ("", "nope", source.token[:-1], source.token.upper()):
        with pytest.raises(NotFound):
            await sources.get_for_ingest(db, key, NOW)


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

    assert await sources.get_for_ingest(db, rotated.token, NOW + 10 + GRACE) == rotated
    assert await sources.get_for_ingest(db, old, NOW + 10) == rotated
    assert await sources.get_for_ingest(db, old, NOW + 10 + GRACE - 1) == rotated
    with pytest.raises(NotFound):
        await sources.get_for_ingest(db, old, NOW + 10 + GRACE)
    # Id and uid are unaffected.
    assert await sources.get_for_ingest(db, source.id, NOW + 10 + GRACE) == rotated


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
        await sources.get_for_ingest(db, source.token, NOW + 2)
    assert await sources.get_for_ingest(db, once.token, NOW + 2) == twice
    with pytest.raises(NotFound):
        await sources.rotate_token(db, "src_nope", NOW)


async def test_id_and_uid_take_precedence_over_tokens(db: Database) -> None:
    """Keys are unique per kind, not across kinds: the order is documented."""
    holder = await make_source(db, uid=None)
    squatter = await make_source(db, uid=holder.token)
    assert await sources.get_for_ingest(db, holder.token, NOW) == squatter
    assert await sources.get_for_ingest(db, holder.id, NOW) == holder


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
    assert sources.matched_by_token(source, "new-token")
    assert sources.matched_by_token(source, "old-token")
    for key in ("src_1", "gh", "", "new-token ", "nëw"):
        assert not sources.matched_by_token(source, key)
    assert not sources.matched_by_token(replace(source, previous_token_hash=None), "old-token")


# -- dedupe expiry and retention ---------------------------------------------------


async def dedupe_expiries(db: Database) -> dict[str, int]:
    async with db.read() as conn:
        result = await conn.execute(select(inbound_dedupe.c.event_id, inbound_dedupe.c.expires_at))
        return {row[0]: row[1] for row in result}


async def test_a_claim_lasts_for_the_window_it_was_made_with(db: Database) -> None:
    source = await make_source(db)
    day, minute = 86_400_000, 60_000
    first = await inbound_requests.record_request(db, request(source), dedupe_window_ms=day)
    await inbound_requests.record_request(
        db, request(source, event_id="evt-2"), dedupe_window_ms=minute
    )
    assert await dedupe_expiries(db) == {"evt-1": NOW + day, "evt-2": NOW + minute}
    # The source's window was shortened since: the claim still holds.
    again = await inbound_requests.record_request(
        db, request(source, at=NOW + 2 * minute), dedupe_window_ms=minute
    )
    assert again.rejection == f"duplicate of {first.id}"
    # An expired claim is taken over with the new window.
    retaken = await inbound_requests.record_request(
        db, request(source, at=NOW + minute, event_id="evt-2"), dedupe_window_ms=day
    )
    assert retaken.rejection is None
    assert (await dedupe_expiries(db))["evt-2"] == NOW + minute + day

    assert await inbound_requests.purge_expired_dedupe(db, NOW + day - 1) == 0
    assert await inbound_requests.purge_expired_dedupe(db, NOW + day, batch=1) == 1
    assert await dedupe_expiries(db) == {"evt-2": NOW + minute + day}


async def test_purge_expired_dedupe_works_in_batches(db: Database) -> None:
    source = await make_source(db)
    for n in range(5):
        await inbound_requests.record_request(
            db, request(source, event_id=f"e{n}"), dedupe_window_ms=n + 1
        )
    assert await inbound_requests.purge_expired_dedupe(db, NOW + 3, batch=2) == 3
    assert sorted(await dedupe_expiries(db)) == ["e3", "e4"]
    with pytest.raises(ValueError):
        await inbound_requests.purge_expired_dedupe(db, NOW, batch=0)


async def test_purge_requests_in_batches_keeps_dedupe(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, other = await make_source(db), await make_source(db, uid="other")
    made = [
        await inbound_requests.record_request(
            db, request(at_source, at=NOW + n, event_id=f"e{n}"), dedupe_window_ms=WINDOW_MS
        )
        for n, at_source in enumerate([source, other, source, other, source, source])
    ]
    transactions = 0
    write = db.write

    def counting_write(**options: bool) -> Any:
        nonlocal transactions
        transactions += 1
        return write(**options)

    monkeypatch.setattr(db, "write", counting_write)
    assert await inbound_requests.purge_requests(db, NOW + 5, batch=2) == 5
    assert transactions == 3  # 2 + 2 + 1 rows, one transaction each
    monkeypatch.undo()

    left = await inbound_requests.list_requests(db, source.id, iterator=None, limit=None)
    assert [r.id for r in left.items] == [made[5].id]
    assert (
        await inbound_requests.list_requests(db, other.id, iterator=None, limit=None)
    ).items == []
    # The claim of a purged request still holds, naming the purged request.
    repeat = await inbound_requests.record_request(
        db, request(source, at=NOW + 10, event_id="e0"), dedupe_window_ms=WINDOW_MS
    )
    assert repeat.rejection == f"duplicate of {made[0].id}"
    assert await inbound_requests.purge_requests(db, NOW) == 0
    with pytest.raises(ValueError):
        await inbound_requests.purge_requests(db, NOW, batch=0)


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
    assert await sources.get_for_ingest(db, found[0].token, NOW) == found[0]

    await migrate(db, "0003")
    assert (await count(db, "sources"), await count(db, "inbound_requests")) == (3, 1)
    await migrate(db, "head")
    assert await count(db, "inbound_dedupe") == 1
