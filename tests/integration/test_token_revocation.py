"""API tokens: listing never shows a secret, and a revoked token stops
working at once even where valid tokens are cached (``api.auth.ApiTokens``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event

from hookgate.api.auth import ApiTokens
from hookgate.store import tokens
from hookgate.store.database import Database
from hookgate.store.tokens import Revocations
from tests.fakes import wait_until

NOW = 1_700_000_000_000


@pytest.fixture
async def revocations(db: Database) -> AsyncIterator[Revocations]:
    watching = Revocations(db)
    await watching.start()
    # On PostgreSQL nothing is cached until the process listens for revocations.
    await wait_until(lambda: watching.generation() is not None, what="listening")
    try:
        yield watching
    finally:
        await watching.stop()


async def test_tokens_are_listed_without_secrets(db: Database) -> None:
    first = await tokens.create(db, "ci", NOW)
    await tokens.create(db, "deploy", NOW + 1)
    listed = await tokens.list_tokens(db)
    assert [t.name for t in listed] == ["ci", "deploy"]
    assert all(t.id.startswith("tok_") for t in listed)
    assert [t.created_at for t in listed] == [NOW, NOW + 1]
    assert first not in repr(listed)
    assert tokens.hash_token(first) not in repr(listed)


@pytest.mark.parametrize("by", ["token", "id"])
async def test_a_revoked_token_stops_working_at_once(
    db: Database, revocations: Revocations, by: str
) -> None:
    api_tokens = ApiTokens(db, revocations)
    token = await tokens.create(db, "ci", NOW)
    kept = await tokens.create(db, "other", NOW)
    principal = await api_tokens.identify(token)
    assert principal is not None
    assert await api_tokens.identify(token) == principal  # now from the cache
    assert await api_tokens.identify(kept) is not None

    assert await tokens.revoke(db, token if by == "token" else str(principal.token_id))

    assert await api_tokens.identify(token) is None
    assert await api_tokens.identify(kept) is not None
    assert [t.name for t in await tokens.list_tokens(db)] == ["other"]


async def test_revoking_an_unknown_token_changes_nothing(db: Database) -> None:
    await tokens.create(db, "ci", NOW)
    assert not await tokens.revoke(db, "hg_unknown")
    assert not await tokens.revoke(db, "tok_unknown")
    assert len(await tokens.list_tokens(db)) == 1


async def test_concurrent_first_uses_of_a_token_read_it_once(
    db: Database, revocations: Revocations
) -> None:
    """After a start, every connection's first request presents a token not
    cached yet: they share one database read instead of queueing 64."""
    api_tokens = ApiTokens(db, revocations)
    token = await tokens.create(db, "ci", NOW)
    reads: list[str] = []

    def count_token_reads(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM api_tokens" in statement:
            reads.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count_token_reads)
    try:
        principals = await asyncio.gather(*(api_tokens.identify(token) for _ in range(64)))
        unknown = await asyncio.gather(*(api_tokens.identify("hg_unknown") for _ in range(8)))
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count_token_reads)
    assert principals[0] is not None
    assert set(principals) == {principals[0]}
    assert unknown == [None] * 8
    assert len(reads) == 2
