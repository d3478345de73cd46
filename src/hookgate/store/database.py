"""The database connection: the one boundary where SQL runs and driver errors
are translated.

``Database.write()`` and ``Database.read()`` are the only ways in (and, for
the embedded database's hottest write, ``Database.driver_write()``). Whatever
the driver raises inside the first two leaves as the store's own vocabulary
(``store.errors``), mapped in one context manager, ``translated_errors``.
What differs between SQLite and PostgreSQL is in ``store.dialect``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, Table
from sqlalchemy import exc as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert

from hookgate.config import Settings
from hookgate.store import secret_key
from hookgate.store.dialect import NOTIFY_CHANNEL, Dialect, dialect_for, display_url
from hookgate.store.errors import ConstraintViolated, InvalidValue, StoreError, StoreUnavailable
from hookgate.store.fanout import FanoutCache
from hookgate.store.listen import DeliveryListener
from hookgate.store.migrate import upgrade_to_head
from hookgate.store.source_lookup import IngestCache

__all__ = ["NOTIFY_CHANNEL", "Database", "display_url", "open_database", "translated_errors"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def open_database(settings: Settings) -> Database:
    """The database ``settings`` configure, with its files private and the
    secret key installed (``store.secret_key``; raises ``SecretKeyError``)."""
    secret_key.prepare_storage(settings)
    return Database(
        settings.resolved_database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=settings.db_pool_size,
        statement_timeout_ms=int(settings.db_statement_timeout * 1000),
    )


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Raise the driver's errors as ``store.errors``: an unreachable database
    (refused, dropped or timed-out connection, pool timeout, statement timeout,
    deadlock, locked file) as ``StoreUnavailable``; refused values as
    ``InvalidValue`` or ``ConstraintViolated``. The message is the database's
    one-line reason, never the statement or its values; the original stays as
    ``__cause__``. Errors that are bugs of ours (SQL the database cannot
    parse) are left as they are, to surface as such."""
    try:
        yield
    except sa.DBAPIError as exc:
        translated = _translate(exc)
        if translated is None:
            raise
        raise translated from exc
    except (sa.TimeoutError, OSError) as exc:  # pool timeout; connecting failed
        raise StoreUnavailable(_reason(exc)) from exc


#: SQLSTATE classes (PostgreSQL) of errors that a later retry can get past:
#: connection exception, transaction rollback (deadlock, serialization),
#: insufficient resources, operator intervention (statement timeout, shutdown).
_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57"})


def _translate(exc: sa.DBAPIError) -> StoreError | None:
    # SQLAlchemy maps some PostgreSQL errors (a NUL in text) to the base
    # DBAPIError; their SQLSTATE still says what they are.
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
    if isinstance(exc, sa.IntegrityError) or sqlstate.startswith("23"):
        return ConstraintViolated(_reason(exc))
    if isinstance(exc, sa.DataError) or sqlstate.startswith("22"):
        return InvalidValue(_reason(exc))
    if (
        exc.connection_invalidated
        or isinstance(exc, sa.OperationalError | sa.InterfaceError)
        or sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES
    ):
        return StoreUnavailable(_reason(exc))
    return None


def _reason(exc: BaseException) -> str:
    """The first line of what the database said, without SQL or parameters."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    reason = lines[0] if lines else type(cause).__name__
    # asyncpg errors arrive as "<class 'asyncpg...Error'>: message".
    return reason.split(">: ", 1)[1] if reason.startswith("<class ") else reason


class DriverSession:
    """What ``Database.driver_write`` yields: runs work on the embedded
    database's own thread (the one ``run_write`` uses) in one step."""

    __slots__ = ("_db",)

    def __init__(self, db: Database) -> None:
        self._db = db

    async def run(self, work: Callable[[Any], T]) -> T:
        """``work(sqlite3_connection)`` on the database thread, in one step;
        ``work`` begins, commits or rolls back its transaction itself."""
        return await self._db._on_db_thread(functools.partial(self._db._with_driver, work))


class Database:
    """An async SQLAlchemy engine behind two context managers.

    ``write()`` yields a connection inside a transaction that commits on exit;
    ``read()`` yields a connection for queries. All Hookgate SQL goes through
    these two, and both raise only ``store.errors`` for what the database
    refuses or cannot do (``translated_errors``).
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
        self.dialect: Dialect = dialect_for(url)
        self.engine: AsyncEngine = create_async_engine(
            url,
            **self.dialect.engine_options(
                pool_size=pool_size, statement_timeout_ms=statement_timeout_ms
            ),
        )
        self.dialect.configure(self.engine, sqlite_synchronous=sqlite_synchronous)
        # Hot transactions (``run_write``) on SQLite, in a thread of their own.
        self._sync_engine = self.dialect.sync_engine(url, sqlite_synchronous=sqlite_synchronous)
        self._sync_thread: ThreadPoolExecutor | None = None
        single = self.dialect.single_process
        # One writer at a time on SQLite, queued here instead of spinning on
        # SQLITE_BUSY.
        self._write_lock = asyncio.Lock() if single else None
        #: Bumped by every write that changes applications, endpoints or sources.
        self.config_generation = 0
        #: Applications and endpoints by reference, for the accept path. Only
        #: the embedded SQLite mode, where every writer is in this process,
        #: can keep it exact; PostgreSQL reads them in each batch.
        self.fanout_cache: FanoutCache | None = FanoutCache() if single else None
        #: Sources by ``/in/{key}``, likewise (``source_lookup.get_for_ingest``).
        self.ingest_cache: IngestCache | None = IngestCache() if single else None

    @property
    def is_sqlite(self) -> bool:
        """Whether this is SQLite; prefer the capabilities on ``dialect``."""
        return self.dialect.name == "sqlite"

    @property
    def single_process(self) -> bool:
        """Only this process uses the database (see ``Dialect.single_process``)."""
        return self.dialect.single_process

    @contextlib.asynccontextmanager
    async def write(self, *, changes_config: bool = False) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits when the block exits without error.

        ``changes_config`` marks writes to applications, endpoints or
        sources: they invalidate the in-process caches (``fanout_cache``,
        ``ingest_cache``).
        """
        with translated_errors():
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

    async def run_write(self, fn: Callable[[Connection], T], *, changes_config: bool = False) -> T:
        """``fn(conn)`` in a transaction like ``write()``'s, for the delivery
        hot path: ``fn`` runs statements on a synchronous connection.

        On SQLite it runs in a thread of its own on the dialect's
        ``sync_engine``: one hop to that thread per transaction, where the
        async driver hops to its thread several times per statement. The
        write lock is held until the transaction has ended, even if the
        caller is cancelled meanwhile (then it commits or rolls back
        unseen). Elsewhere it runs on the async connection (``run_sync``).
        """
        if self._sync_engine is None or self._write_lock is None:
            async with self.write(changes_config=changes_config) as conn:
                return await conn.run_sync(fn)
        with translated_errors():
            async with self._write_lock:
                try:
                    return await self._on_db_thread(functools.partial(self._write_in_thread, fn))
                finally:
                    if changes_config:
                        self.config_generation += 1

    async def _on_db_thread(self, fn: Callable[[], T]) -> T:
        """``fn()`` on the database thread. A cancelled caller waits for it
        to end (so the write lock is held until then) and is cancelled after."""
        if self._sync_thread is None:
            self._sync_thread = ThreadPoolExecutor(1, "hookgate-db")
        done = asyncio.get_running_loop().run_in_executor(self._sync_thread, fn)
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            await asyncio.wait([done])
            raise

    def _write_in_thread(self, fn: Callable[[Connection], T]) -> T:
        assert self._sync_engine is not None
        with self._sync_engine.connect() as conn:
            conn.execution_options(hookgate_immediate=True)
            with conn.begin():
                return fn(conn)

    def _with_driver(self, work: Callable[[Any], T]) -> T:
        assert self._sync_engine is not None
        with self._sync_engine.connect() as conn:
            return work(conn.connection.driver_connection)

    @property
    def has_driver_writes(self) -> bool:
        """Whether ``driver_write`` is available (embedded SQLite on a file)."""
        return self._write_lock is not None and self._sync_engine is not None

    @contextlib.asynccontextmanager
    async def driver_write(self) -> AsyncIterator[DriverSession]:
        """Embedded SQLite (``has_driver_writes``): the write lock, and a
        session running work on the raw driver connection of the database
        thread in one step (``DriverSession``). The work begins, commits or
        rolls back its transaction itself, and its driver errors
        (``sqlite3.Error``) reach the caller untranslated."""
        if not self.has_driver_writes:
            raise RuntimeError("driver_write is for the embedded database on a file")
        async with self._write_lock:  # type: ignore[union-attr]
            yield DriverSession(self)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for queries (no transaction is committed)."""
        with translated_errors():
            async with self.engine.connect() as conn:
                yield conn

    async def create_schema(self) -> None:
        """Bring the schema up to date by running the Alembic migrations."""
        async with self.write() as conn:
            await conn.run_sync(upgrade_to_head)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._sync_thread is not None and self._sync_engine is not None:
            # Its connections were opened in that thread: closed there too.
            await asyncio.get_running_loop().run_in_executor(
                self._sync_thread, self._sync_engine.dispose
            )
            self._sync_thread.shutdown()
            self._sync_thread = None

    async def wait_until_ready(self, *, max_backoff: float = 30.0) -> None:
        """Bring the schema up to date, retrying with back-off (and a clear log
        line each time) while the database is unreachable."""
        backoff = 0.5
        while True:
            try:
                await self.create_schema()
                return
            except StoreUnavailable as exc:
                log.error(
                    "database %s unreachable (%s); retrying in %.1f s",
                    self.display_url,
                    exc,
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, max_backoff)

    async def ping(self) -> None:
        """Run a trivial query; raises ``StoreError`` if the database cannot."""
        async with self.read() as conn:
            await conn.exec_driver_sql("SELECT 1")

    @property
    def display_url(self) -> str:
        """The URL without its password, for messages."""
        return display_url(self.url)

    # -- what differs between dialects (see ``store.dialect``) ---------------------

    async def notify_workers(self, conn: AsyncConnection) -> None:
        """Wake listening workers when this transaction commits (PostgreSQL;
        SQLite has no other processes to wake)."""
        await self.dialect.notify_workers(conn)

    async def wake_workers(self) -> None:
        """Wake listening workers in other processes now (nothing on SQLite)."""
        if not self.single_process:
            async with self.write() as conn:
                await self.notify_workers(conn)

    def delivery_listener(self, on_wake: Callable[[], None]) -> DeliveryListener | None:
        """A listener calling ``on_wake`` when another process commits new
        deliveries; None where no other process can (SQLite)."""
        if self.single_process:
            return None
        return DeliveryListener(self.url, on_wake)

    def insert_ignoring_conflicts(self, table: Table) -> Insert:
        """``INSERT ... ON CONFLICT DO NOTHING`` for this dialect."""
        return self.dialect.insert_ignoring_conflicts(table)

    def skip_locked(self, query: Select[Any]) -> Select[Any]:
        """Lock the selected rows, skipping rows other workers hold (PostgreSQL).

        SQLite has a single writer, so the enclosing write transaction already
        excludes every other claimer.
        """
        return self.dialect.skip_locked(query)


def json_array_contains(db: Database, column: Any, value: str) -> Any:
    """SQL condition: the JSON array in ``column`` contains the string ``value``."""
    return db.dialect.json_array_contains(column, value)
