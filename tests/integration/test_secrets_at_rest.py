"""Secrets at rest, on SQLite and PostgreSQL: endpoint and source secrets
and ingest tokens are stored sealed with the operator's key (tokens found by
digest), re-encrypted by ``rotate-key``, and migration 0008 seals (and its
downgrade opens) existing rows. Key loading and file modes are at the end."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import JSON, Connection, column, select, table

from hookgate.config import Settings
from hookgate.core.secretbox import SecretBox, SecretKeyError, generate_key, token_digest
from hookgate.store import (
    endpoints,
    idempotency,
    inbound_search,
    reseal,
    secret_key,
    source_lookup,
    sources,
)
from hookgate.store.database import Database
from hookgate.store.migrate import alembic_config
from hookgate.store.tables import applications, idempotency_keys
from hookgate.store.tables import endpoints as endpoints_table
from hookgate.store.tables import sources as sources_table
from tests.integration.conftest import NOW, execute, make_app, make_endpoint
from tests.integration.test_store_sources import make_source

ENDPOINT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ROTATED_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


@pytest.fixture
def use_keys() -> Iterator[type[SecretBox]]:
    """Install boxes by hand (``secret_key.install``); the process's box is
    restored afterwards."""
    before = secret_key.current()
    yield SecretBox
    secret_key.install(before)


async def _raw_rows(db: Database) -> str:
    async with db.read() as conn:
        found = [
            *(await conn.execute(select(endpoints_table))).all(),
            *(await conn.execute(select(sources_table))).all(),
            *(await conn.execute(select(idempotency_keys))).all(),
        ]
    return repr(found)


async def test_secrets_and_tokens_are_never_stored_in_clear(db: Database) -> None:
    app = await make_app(db)
    endpoint = await make_endpoint(db, app.id, secret=ENDPOINT_SECRET)
    await endpoints.rotate_secret(db, app.id, endpoint.id, ROTATED_SECRET, 60_000, NOW)
    source = await make_source(db)
    rotated = await sources.rotate_token(db, source.id, NOW)

    stored = await _raw_rows(db)
    for secret in (ENDPOINT_SECRET, ROTATED_SECRET, "s3cret", source.token, rotated.token):
        assert secret not in stored
    assert token_digest(rotated.token) in stored  # found by digest

    # The store hands them back in clear, and tokens still address the source.
    again = await endpoints.get(db, app.id, endpoint.id)
    assert again.active_secrets(NOW) == [ROTATED_SECRET, ENDPOINT_SECRET]
    assert (await sources.get(db, source.id)).config["secrets"] == ["s3cret"]
    assert await source_lookup.get_for_ingest(db, rotated.token, NOW) == rotated
    assert await source_lookup.get_for_ingest(db, source.token, NOW) == rotated  # previous token
    assert ENDPOINT_SECRET not in repr(again)
    assert "s3cret" not in repr(rotated)


async def test_database_errors_carry_no_bound_values(db: Database) -> None:
    app = await make_app(db)
    duplicate = applications.insert().values(
        id=app.id, uid=None, name="bound-value-3f9a", metadata={}, created_at=NOW, updated_at=NOW
    )
    with pytest.raises(Exception) as caught:  # whatever the store raises
        await execute(db, duplicate)
    chain = []
    error: BaseException | None = caught.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__ or error.__context__
    assert chain
    assert not [text for text in chain if "bound-value-3f9a" in text]


async def test_idempotent_responses_are_stored_sealed(db: Database) -> None:
    body = b'{"key":"%s"}' % ROTATED_SECRET.encode()
    await idempotency.remember(db, "POST /rotate k1", 200, body, NOW)
    assert await idempotency.lookup(db, "POST /rotate k1") == (200, body)
    assert ROTATED_SECRET not in await _raw_rows(db)


async def test_rotate_key_reseals_everything_so_the_old_key_can_go(
    db: Database, use_keys: type[SecretBox]
) -> None:
    old, new = generate_key(), generate_key()
    secret_key.install(use_keys([old]))
    app = await make_app(db)
    made = [await make_endpoint(db, app.id, secret=ENDPOINT_SECRET) for _ in range(3)]
    await endpoints.rotate_secret(db, app.id, made[0].id, ROTATED_SECRET, 60_000, NOW)
    source = await make_source(db)
    others = [await make_source(db, uid=None) for _ in range(2)]

    secret_key.install(use_keys([new]))
    with pytest.raises(SecretKeyError):
        await endpoints.get(db, app.id, made[0].id)
    with pytest.raises(SecretKeyError):
        await reseal.check_key(db)

    secret_key.install(use_keys([new, old]))
    assert await reseal.reseal_all(db, batch=2) == reseal.ResealCounts(endpoints=3, sources=3)
    assert await reseal.reseal_all(db, batch=2) == reseal.ResealCounts(endpoints=0, sources=0)

    secret_key.install(use_keys([new]))
    await reseal.check_key(db)
    first = await endpoints.get(db, app.id, made[0].id)
    assert first.active_secrets(NOW) == [ROTATED_SECRET, ENDPOINT_SECRET]
    assert (await sources.get(db, source.id)).config["secrets"] == ["s3cret"]
    for each in (source, *others):
        found = await source_lookup.get_for_ingest(db, each.token, NOW)
        assert (found.id, found.token) == (each.id, each.token)


async def test_migration_0008_seals_existing_rows_and_its_downgrade_opens_them(
    db: Database,
) -> None:
    app = await make_app(db)
    await _migrate(db, "0007")
    await execute(
        db,
        endpoints_table.insert().values(
            id="ep_old",
            app_id=app.id,
            url="https://example.com/hook",
            description="",
            disabled=False,
            metadata={},
            headers={},
            secrets=[{"key": ENDPOINT_SECRET, "expires_at": None}],
            created_at=NOW,
            updated_at=NOW,
        ),
    )
    old_sources = table(
        "sources",
        *(column(name) for name in ("id", "name", "type", "scheme", "token", "previous_token")),
        *(column(name, JSON) for name in ("config", "metadata")),
        *(column(name) for name in ("created_at", "updated_at", "previous_token_expires_at")),
    )
    await execute(
        db,
        old_sources.insert().values(
            id="src_old",
            name="n",
            type="github",
            scheme="github",
            token="the-token",
            previous_token="the-old-token",
            config={"secrets": ["s3cret"], "scheme": "github"},
            metadata={},
            created_at=NOW,
            updated_at=NOW,
            previous_token_expires_at=NOW + 1000,
        ),
    )

    await execute(
        db,
        idempotency_keys.insert().values(
            key="POST /x k",
            status_code=200,
            body=b'{"key":"%s"}' % ROTATED_SECRET.encode(),
            created_at=NOW,
        ),
    )

    requests = table(
        "inbound_requests",
        *(column(name) for name in ("id", "source_id", "received_at", "method", "path", "query")),
        *(column(name) for name in ("body", "verified", "status")),
        column("headers", JSON),
    )
    await execute(
        db,
        requests.insert().values(
            id="inreq_old",
            source_id="src_old",
            received_at=NOW,
            method="POST",
            path="/in/the-old-token",
            query="",
            headers=[],
            body=b"{}",
            verified=True,
            status="accepted",
        ),
    )

    await db.create_schema()
    assert (await inbound_search.get_request(db, "src_old", "inreq_old")).path == "/in/<token>"
    assert await idempotency.lookup(db, "POST /x k") == (
        200,
        b'{"key":"%s"}' % ROTATED_SECRET.encode(),
    )
    stored = await _raw_rows(db)
    for secret in (ENDPOINT_SECRET, ROTATED_SECRET, "s3cret", "the-token", "the-old-token"):
        assert secret not in stored
    endpoint = await endpoints.get(db, app.id, "ep_old")
    assert endpoint.active_secrets(NOW) == [ENDPOINT_SECRET]
    source = await source_lookup.get_for_ingest(db, "the-token", NOW)
    assert (source.id, source.token, source.config["secrets"]) == (
        "src_old",
        "the-token",
        ["s3cret"],
    )
    assert await source_lookup.get_for_ingest(db, "the-old-token", NOW) == source

    await _migrate(db, "0007")
    async with db.read() as conn:
        secrets = (await conn.execute(select(endpoints_table.c.secrets))).scalar_one()
        token, config = (
            await conn.execute(select(old_sources.c.token, old_sources.c.config))
        ).one()
        body = (await conn.execute(select(idempotency_keys.c.body))).scalar_one()
    assert secrets == [{"key": ENDPOINT_SECRET, "expires_at": None}]
    assert body == b'{"key":"%s"}' % ROTATED_SECRET.encode()
    assert (token, config["secrets"]) == ("the-token", ["s3cret"])


async def _migrate(db: Database, target: str) -> None:
    def run(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), target)

    async with db.write() as conn:
        await conn.run_sync(run)


# -- the key and the files ------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_embedded_mode_generates_a_private_key_file_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, database_url=None, secret_key=None)
    secret_key.secure_sqlite_files(settings)
    first = secret_key.load(settings)
    assert (_mode(data_dir), _mode(data_dir / "secret.key"), _mode(data_dir / "hookgate.db")) == (
        0o700,
        0o600,
        0o600,
    )
    assert secret_key.load(settings).open(first.seal("x")) == "x"

    # A configured key seals from now on; the file's key still opens old values.
    configured = generate_key()
    both = secret_key.load(Settings(data_dir=data_dir, database_url=None, secret_key=configured))
    assert both.open(first.seal("old")) == "old"
    assert SecretBox([configured]).open(both.seal("new")) == "new"


def test_existing_world_readable_files_are_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    for name in ("hookgate.db", "hookgate.db-wal", "hookgate.db-shm"):
        (data_dir / name).touch(mode=0o644)
    secret_key.secure_sqlite_files(Settings(data_dir=data_dir, database_url=None))
    assert _mode(data_dir) == 0o700
    assert {_mode(path) for path in data_dir.iterdir()} == {0o600}


def test_postgresql_needs_a_configured_key(tmp_path: Path) -> None:
    url = "postgresql://db.example/hookgate"
    settings = Settings(data_dir=tmp_path / "data", database_url=url, secret_key=None)
    with pytest.raises(SecretKeyError, match=r"required with PostgreSQL.*generate-key"):
        secret_key.load(settings)
    key = generate_key()
    box = secret_key.load(Settings(data_dir=tmp_path / "data", database_url=url, secret_key=key))
    assert box.key_count == 1
    assert not (tmp_path / "data").exists()


def test_a_damaged_key_file_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "secret.key").write_text("not a key\n")
    with pytest.raises(SecretKeyError, match="does not hold one valid secret key"):
        secret_key.load(Settings(data_dir=data_dir, database_url=None, secret_key=None))
