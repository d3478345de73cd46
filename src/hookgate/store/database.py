"""The database connection, and the one place where SQLite and PostgreSQL differ.

SQLite is the embedded default: WAL mode, one writer at a time (serialised here
by an asyncio lock, so writers queue in-process instead of spinning on
``SQLITE_BUSY``). PostgreSQL allows concurrent writers and row-level claiming
with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Select, Table, event, exists, func, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert

from hookgate.config import Settings
from hookgate.store.fanout import FanoutCache
from hookgate.store.migrate import upgrade_to_head
from hookgate.store.sources import IngestCache

log = logging.getLogger(__name__)


#: PostgreSQL channel notified when deliveries are committed for workers.
NOTIFY_CHANNEL = "hookgate_deliveries"


def open_database(settings: Settings) -> Database:
    """The database ``settings`` configure."""
    return Database(
        settings.resolved_database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=settings.db_pool_size,
        statement_timeout_ms=int(settings.db_statement_timeout * 1000),
    )


class Database:
    """An async SQLAlchemy engine plus dialect helpers.

    ``write()`` yields a connection inside a transaction that commits on exit;
    ``read()`` yields a connection for queries. All Hookgate SQL goes through
    these two.
    """

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "FULL",
        pool_size: int = 10,
        statement_timeout_ms: int = 0,
    ) -> None:
        """``pool_size`` connections are kept (and as many more opened under
        load) and ``statement_timeout_ms`` (0 = none) bounds every statement,
        on PostgreSQL; SQLite needs neither."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {}
        if not self.is_sqlite:
            options.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
            if statement_timeout_ms:
                options["connect_args"] = {
                    "server_settings": {"statement_timeout": str(statement_timeout_ms)}
                }
        self.engine: AsyncEngine = create_async_engine(url, **options)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        #: Bumped by every write that changes applications, endpoints or sources.
        self.config_generation = 0
        #: Applications and endpoints by reference, for the accept path. Only
        #: the embedded SQLite mode, where every writer is in this process,
        #: can keep it exact; PostgreSQL reads them in each batch.
        self.fanout_cache: FanoutCache | None = FanoutCache() if self.is_sqlite else None
        #: Sources by ``/in/{key}``, likewise (``sources.get_for_ingest``).
        self.ingest_cache: IngestCache | None = IngestCache() if self.is_sqlite else None
        if self.is_sqlite:
            _configure_sqlite(self.engine, sqlite_synchronous)

    @contextlib.asynccontextmanager
    async def write(self, *, changes_config: bool = False) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits when the block exits without error.

        ``changes_config`` marks writes to applications, endpoints or
        sources: they invalidate the in-process caches (``fanout_cache``,
        ``ingest_cache``).
        """
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock:
            try:
                async with self.engine.connect() as conn:
                    await conn.execution_options(hookgate_immediate=True)
                    async with conn.begin():
                        yield conn
            finally:
                if changes_config:
                    self.config_generation += 1

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def create_schema(self) -> None:
        """Bring the schema up to date by running the Alembic migrations."""
        async with self.write() as conn:
            await conn.run_sync(upgrade_to_head)

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def wait_until_ready(self, *, max_backoff: float = 30.0) -> None:
        """Bring the schema up to date, retrying with back-off (and a clear log
        line each time) while the database is unreachable."""
        backoff = 0.5
        while True:
            try:
                await self.create_schema()
                return
            except (OperationalError, OSError) as exc:
                log.error(
                    "database %s unreachable (%s); retrying in %.1f s",
                    self.display_url,
                    getattr(exc, "orig", None) or exc,
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, max_backoff)

    @property
    def display_url(self) -> str:
        """The URL without its password, for messages."""
        return display_url(self.url)

    # -- dialect differences -------------------------------------------------

    async def notify_workers(self, conn: AsyncConnection) -> None:
        """Wake listening workers when this transaction commits (PostgreSQL;
        SQLite has no other processes to wake)."""
        if not self.is_sqlite:
            await conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))

    def insert_ignoring_conflicts(self, table: Table) -> Insert:
        """``INSERT ... ON CONFLICT DO NOTHING`` for this dialect."""
        if self.is_sqlite:
            return sqlite.insert(table).on_conflict_do_nothing()
        return postgresql.insert(table).on_conflict_do_nothing()

    def skip_locked(self, query: Select[Any]) -> Select[Any]:
        """Lock the selected rows, skipping rows other workers hold (PostgreSQL).

        SQLite has a single writer, so the enclosing write transaction already
        excludes every other claimer.
        """
        if self.is_sqlite:
            return query
        return query.with_for_update(skip_locked=True)


def display_url(url: str) -> str:
    """A database URL without its password, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _configure_sqlite(engine: AsyncEngine, synchronous: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun by ``_on_begin`` below, not by the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Write transactions take SQLite's write lock up front, so that what
        # they read (leases, counts) cannot change before they write, even
        # with another process on the same file; reads stay deferred.
        immediate = conn.get_execution_options().get("hookgate_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def json_array_contains(db: Database, column: Any, value: str) -> Any:
    """SQL condition: the JSON array in ``column`` contains the string ``value``."""
    if db.is_sqlite:
        each = func.json_each(column).table_valued("value")
        return exists(select(literal(1)).select_from(each).where(each.c.value == value))
    return column.cast(postgresql.JSONB).contains([value])
