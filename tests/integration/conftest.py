"""Integration fixtures: a fresh ``Database`` on SQLite and on PostgreSQL.

The PostgreSQL variant connects to ``127.0.0.1:5432/test`` (override with
``HOOKGATE_TEST_PG_URL``, or ``HOOKGATE_TEST_PG_HOST`` / ``_PORT``) and puts
each test in a schema of its own, dropped afterwards. An unreachable
PostgreSQL fails the test: it is never skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from sqlalchemy import event, select, text

from hookgate.store import applications, endpoints, rows
from hookgate.store.database import Database
from hookgate.store.records import Application, Delivery, Endpoint
from hookgate.store.tables import deliveries

if TYPE_CHECKING:
    from tests.integration.queue_backends import QueueStore
    from tests.integration.store_backends import ContractStore

T = TypeVar("T")

PG_URL = os.environ.get(
    "HOOKGATE_TEST_PG_URL",
    "postgresql+asyncpg://root@{}:{}/test".format(
        os.environ.get("HOOKGATE_TEST_PG_HOST", "127.0.0.1"),
        os.environ.get("HOOKGATE_TEST_PG_PORT", "5432"),
    ),
)

#: A fixed "now" (epoch ms) for store calls; ids still use the real clock.
NOW = 1_700_000_000_000


def _use_schema(db: Database, schema: str) -> None:
    """Point every connection of ``db`` at ``schema`` (SQLAlchemy's recipe for
    a per-connection search_path; ``Database`` takes no ``connect_args``)."""

    @event.listens_for(db.engine.sync_engine, "connect", insert=True)
    def _set_search_path(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute(f'SET SESSION search_path TO "{schema}"')
        # Tests need no durability: do not wait for the WAL flush on commit.
        cursor.execute("SET SESSION synchronous_commit TO off")
        cursor.close()
        dbapi_connection.autocommit = autocommit


class PgSchema:
    """A throwaway PostgreSQL schema; ``connect()`` opens a ``Database`` on it
    (more than one for tests that need two connection pools)."""

    def __init__(self) -> None:
        self.name = f"t_{secrets.token_hex(6)}"
        self.databases: list[Database] = []

    def connect(self) -> Database:
        db = Database(PG_URL, pool_size=4)
        _use_schema(db, self.name)
        self.databases.append(db)
        return db

    async def create(self) -> Database:
        """Create the schema and return a ``Database`` on it."""
        db = self.connect()
        try:
            await _execute(db, f'CREATE SCHEMA "{self.name}"')
        except Exception as exc:  # any connection problem fails (never skips) the test
            await db.dispose()
            pytest.fail(f"PostgreSQL at {PG_URL} is not usable: {exc!r}", pytrace=False)
        return db

    async def drop(self) -> None:
        try:
            await _execute(self.databases[0], f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
        finally:
            for db in self.databases:
                await db.dispose()


async def _execute(db: Database, sql: str) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text(sql))


# Running the Alembic migrations on SQLite costs ~0.06 s per test, so they run
# once per session and each SQLite test starts from a copy of the migrated file
# (``db`` still calls ``create_schema()``, which then finds it up to date).
# PostgreSQL tests run the migrations in their own new schema.


def _run_in_thread(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``main()`` on a private event loop in another thread, leaving the
    per-test loops of pytest-asyncio alone."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database file, to copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"

    async def migrate() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await db.create_schema()
        finally:
            await db.dispose()

    _run_in_thread(migrate)
    return path


@contextlib.asynccontextmanager
async def _fresh_store(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], Database]]:
    """Opens ``Database`` objects on one fresh ``kind`` store (``"sqlite"`` or
    ``"postgresql"``), all closed (and the PostgreSQL schema dropped) on exit."""
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "t.db")
        url = f"sqlite+aiosqlite:///{tmp_path}/t.db"
        opened: list[Database] = []

        def open_sqlite() -> Database:
            db = Database(url, sqlite_synchronous="OFF")  # no fsync: tests need no durability
            opened.append(db)
            return db

        try:
            yield open_sqlite
        finally:
            for db in opened:
                await db.dispose()
        return

    schema = PgSchema()
    first = await schema.create()
    opened_first = False

    def open_pg() -> Database:
        nonlocal opened_first
        if not opened_first:
            opened_first = True
            return first
        return schema.connect()

    try:
        yield open_pg
    finally:
        await schema.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], Database]]:
    """Opens ``Database`` objects (each with its own connection pool) on one
    fresh store. Used directly by tests that need two pools."""
    async with _fresh_store(request.param, request, tmp_path) as factory:
        yield factory


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def queue_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[QueueStore]:
    """A fresh store for the delivery queue's behaviour suite: the in-memory
    fake (``hookgate.testing``), SQLite or PostgreSQL, seeded and inspected
    through ``tests.integration.queue_backends``."""
    from tests.integration.queue_backends import MemoryQueueStore, SqlQueueStore

    if request.param == "memory":
        yield MemoryQueueStore()
        return
    async with _fresh_store(request.param, request, tmp_path) as factory:
        db = factory()
        await db.create_schema()
        yield SqlQueueStore(db)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ContractStore]:
    """A fresh store for the accept and inbound behaviour suites: the
    in-memory fake (``hookgate.testing.InMemoryStore``), SQLite or
    PostgreSQL, seeded and inspected through ``tests.integration.store_backends``."""
    from tests.integration.store_backends import MemoryContractStore, SqlContractStore

    if request.param == "memory":
        yield MemoryContractStore()
        return
    async with _fresh_store(request.param, request, tmp_path) as factory:
        db = factory()
        await db.create_schema()
        yield SqlContractStore(db)


@pytest.fixture
async def db(db_factory: Callable[[], Database]) -> Database:
    """A ``Database`` on a fresh, fully migrated store, on SQLite or PostgreSQL."""
    database = db_factory()
    await database.create_schema()
    return database


@pytest.fixture
async def sqlite_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A fully migrated ``Database`` on SQLite alone, for what only the
    embedded mode has (its in-process caches)."""
    async with _fresh_store("sqlite", request, tmp_path) as factory:
        database = factory()
        await database.create_schema()
        yield database


# -- helpers shared by the integration tests ------------------------------------------


async def make_app(db: Database, uid: str | None = None, name: str = "Acme") -> Application:
    app, created = await applications.create(db, {"name": name, "uid": uid}, NOW)
    assert created
    return app


async def make_endpoint(db: Database, app_ref: str, **fields: Any) -> Endpoint:
    fields.setdefault("url", "https://hooks.example.com/in")
    return await endpoints.create(db, app_ref, fields, NOW)


async def all_deliveries(db: Database) -> dict[str, Delivery]:
    async with db.read() as conn:
        result = await conn.execute(select(deliveries).order_by(deliveries.c.id))
        return {d.id: d for d in map(rows.delivery, result)}


async def execute(db: Database, statement: Any) -> None:
    async with db.write() as conn:
        await conn.execute(statement)
