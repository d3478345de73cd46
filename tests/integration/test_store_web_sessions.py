"""Portal tokens and browser sessions in the store, on SQLite and PostgreSQL:
a session lasts only while what it was made from is valid."""

from __future__ import annotations

from hookgate.core.portal import Capability
from hookgate.store import applications, portal_tokens, tokens, web_sessions
from hookgate.store.database import Database
from tests.integration.conftest import NOW, make_app

HOUR = 3_600_000


async def _portal_token(
    db: Database, app_id: str, *, session_id: str | None = None, read_only: bool = False
) -> str:
    return await portal_tokens.create(
        db,
        app_id,
        capabilities=frozenset({Capability.VIEW_BASE}),
        read_only=read_only,
        session_id=session_id,
        now_ms=NOW,
        expires_at=NOW + HOUR,
    )


async def test_a_portal_token_grants_its_one_app_until_it_expires(db: Database) -> None:
    app = await make_app(db)
    token = await _portal_token(db, app.id, read_only=True)
    grant = await portal_tokens.identify(db, token, NOW)
    assert grant is not None
    assert grant.app_id == app.id
    assert grant.capabilities == {Capability.VIEW_BASE}
    assert grant.read_only
    assert not grant.can_view_secret
    assert not grant.can_create_attempts
    assert await portal_tokens.identify(db, token, NOW + HOUR) is None
    assert await portal_tokens.identify(db, token + "x", NOW) is None


async def test_expire_all_ends_the_apps_tokens_and_their_sessions(db: Database) -> None:
    app = await make_app(db)
    other = await make_app(db)
    token = await _portal_token(db, app.id)
    kept = await _portal_token(db, other.id)
    grant = await portal_tokens.identify(db, token, NOW)
    assert grant is not None
    secret = await web_sessions.create_portal(db, grant, NOW, NOW + HOUR)
    assert await web_sessions.find_portal(db, secret, NOW) == grant

    assert await portal_tokens.expire_all(db, app.id, NOW) == 1
    assert await portal_tokens.identify(db, token, NOW) is None
    assert await web_sessions.find_portal(db, secret, NOW) is None
    assert await portal_tokens.identify(db, kept, NOW) is not None


async def test_expire_all_can_pick_tokens_by_session_id(db: Database) -> None:
    app = await make_app(db)
    first = await _portal_token(db, app.id, session_id="s1")
    second = await _portal_token(db, app.id, session_id="s2")
    assert await portal_tokens.expire_all(db, app.id, NOW + 60_000, ["s1"]) == 1
    assert await portal_tokens.identify(db, first, NOW) is not None  # not yet
    assert await portal_tokens.identify(db, first, NOW + 60_000) is None
    assert await portal_tokens.identify(db, second, NOW + 60_000) is not None


async def test_revoking_a_portal_token_deletes_its_sessions(db: Database) -> None:
    app = await make_app(db)
    grant = await portal_tokens.identify(db, await _portal_token(db, app.id), NOW)
    assert grant is not None
    secret = await web_sessions.create_portal(db, grant, NOW, NOW + HOUR)
    assert await portal_tokens.revoke(db, grant.token_id)
    assert await web_sessions.find_portal(db, secret, NOW) is None
    assert not await portal_tokens.revoke(db, grant.token_id)


async def test_deleting_the_app_deletes_its_portal_tokens(db: Database) -> None:
    app = await make_app(db)
    token = await _portal_token(db, app.id)
    await applications.delete_app(db, app.id)
    assert await portal_tokens.identify(db, token, NOW) is None


async def test_an_operator_session_lasts_while_its_api_token_is_valid(db: Database) -> None:
    api_token = await tokens.create(db, "dashboard", NOW)
    secret = await web_sessions.create_operator(db, api_token, NOW, NOW + HOUR)
    assert await web_sessions.find_operator(db, secret, NOW, None) is not None
    assert await web_sessions.find_operator(db, secret, NOW + HOUR, None) is None
    assert await tokens.revoke(db, api_token)
    assert await web_sessions.find_operator(db, secret, NOW, None) is None


async def test_an_admin_token_session_ends_when_the_admin_token_changes(db: Database) -> None:
    secret = await web_sessions.create_operator(db, "hg_admin", NOW, NOW + HOUR)
    admin_hash = tokens.hash_token("hg_admin")
    assert await web_sessions.find_operator(db, secret, NOW, admin_hash) is not None
    other_hash = tokens.hash_token("hg_other")
    assert await web_sessions.find_operator(db, secret, NOW, other_hash) is None
    await web_sessions.end(db, secret)
    assert await web_sessions.find_operator(db, secret, NOW, admin_hash) is None


async def test_portal_sessions_are_not_operator_sessions(db: Database) -> None:
    app = await make_app(db)
    grant = await portal_tokens.identify(db, await _portal_token(db, app.id), NOW)
    assert grant is not None
    secret = await web_sessions.create_portal(db, grant, NOW, NOW + HOUR)
    assert await web_sessions.find_operator(db, secret, NOW, None) is None


async def test_expired_tokens_and_sessions_are_purged(db: Database) -> None:
    app = await make_app(db)
    grant = await portal_tokens.identify(db, await _portal_token(db, app.id), NOW)
    assert grant is not None
    await web_sessions.create_portal(db, grant, NOW, NOW + 1000)
    assert await web_sessions.purge_expired(db, NOW + 1000) == 1
    assert await portal_tokens.purge_expired(db, NOW + HOUR) == 1
