"""Sources and received requests in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hookgate.inbound import config
from hookgate.store import sources
from hookgate.store.database import Database
from hookgate.store.errors import Conflict, NotFound
from hookgate.store.sources import InboundRequest, Source
from tests.integration.conftest import NOW

WINDOW_MS = 60_000


async def make_source(db: Database, uid: str | None = "gh", source_type: str = "github") -> Source:
    scheme, stored = config.parse(source_type, {"secret": "s3cret"})
    fields = {"uid": uid, "name": "GitHub", "type": source_type, "scheme": scheme}
    return await sources.create(db, {**fields, "config": stored, "metadata": {"a": "b"}}, NOW)


def request(source: Source, at: int = NOW, **fields: object) -> InboundRequest:
    base = InboundRequest(
        id=sources.new_request_id(),
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
    first = await sources.record_request(db, request(source), dedupe_window_ms=WINDOW_MS)
    bad = request(source, verified=False, rejection="bad signature", event_id=None)
    await sources.record_request(db, bad, dedupe_window_ms=WINDOW_MS)

    page = await sources.list_requests(db, "gh", verified=None, iterator=None, limit=None)
    assert [r.id for r in page.items] == [bad.id, first.id]
    assert page.items[1] == first
    assert page.items[1].body == b'{"k":"\xc3\xa9"}\x00\xff'
    assert page.items[1].headers == [("x-b", "2"), ("X-A", "1"), ("x-b", "3")]
    only_bad = await sources.list_requests(db, "gh", verified=False, iterator=None, limit=None)
    assert [r.rejection for r in only_bad.items] == ["bad signature"]


async def test_repeated_event_id_is_a_duplicate_within_the_window(db: Database) -> None:
    source = await make_source(db)
    other = await make_source(db, uid="other")
    first = await sources.record_request(db, request(source), dedupe_window_ms=WINDOW_MS)
    assert first.rejection is None
    again = await sources.record_request(
        db, request(source, at=NOW + 1), dedupe_window_ms=WINDOW_MS
    )
    assert again.rejection == f"duplicate of {first.id}"
    elsewhere = await sources.record_request(db, request(other), dedupe_window_ms=WINDOW_MS)
    assert elsewhere.rejection is None
    # Rejected requests neither claim nor hit the window.
    refused = request(source, event_id="evt-2", verified=False, rejection="stale")
    await sources.record_request(db, refused, dedupe_window_ms=WINDOW_MS)
    fresh = await sources.record_request(
        db, request(source, event_id="evt-2"), dedupe_window_ms=WINDOW_MS
    )
    assert fresh.rejection is None
    # Once the window has passed, the event id is accepted (and claimed) again.
    later = await sources.record_request(
        db, request(source, at=NOW + WINDOW_MS), dedupe_window_ms=WINDOW_MS
    )
    assert later.rejection is None
    after = await sources.record_request(
        db, request(source, at=NOW + WINDOW_MS + 1), dedupe_window_ms=WINDOW_MS
    )
    assert after.rejection == f"duplicate of {later.id}"
    # A window of 0 turns deduplication off.
    off = await sources.record_request(db, request(source), dedupe_window_ms=0)
    assert off.rejection is None

    stored = await sources.list_requests(db, source.id, verified=True, iterator=None, limit=None)
    assert {r.id: r.rejection for r in stored.items}[again.id] == f"duplicate of {first.id}"
    # evt-1 on the other source and evt-2 were first seen at NOW.
    assert await sources.purge_dedupe(db, NOW + WINDOW_MS) == 2


async def test_deleting_a_source_deletes_its_requests(db: Database) -> None:
    source = await make_source(db)
    await sources.record_request(db, request(source), dedupe_window_ms=WINDOW_MS)
    await sources.delete_source(db, source.id)
    again = await make_source(db)
    # The dedupe entry went with the source: the event id is new again.
    fresh = await sources.record_request(db, request(again), dedupe_window_ms=WINDOW_MS)
    assert fresh.rejection is None
    with pytest.raises(NotFound):
        await sources.list_requests(db, source.id, verified=None, iterator=None, limit=None)


async def test_a_released_event_id_is_no_duplicate(db: Database) -> None:
    """Forwarding failed: the provider's retry must be processed again."""
    source = await make_source(db)
    first = await sources.record_request(db, request(source), dedupe_window_ms=WINDOW_MS)
    await sources.release_event_id(db, first)

    retry = await sources.record_request(
        db, request(source, at=NOW + 1), dedupe_window_ms=WINDOW_MS
    )
    assert retry.rejection is None
