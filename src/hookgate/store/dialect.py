"""Where SQLite and PostgreSQL differ, and nowhere else.

==========================  ==============================  ==============================
                            SQLite (embedded default)       PostgreSQL (scale-out)
==========================  ==============================  ==============================
processes using the store   one (``single_process``)        any number
writers                     one at a time, serialised in    concurrent
                            process, ``BEGIN IMMEDIATE``
claiming rows               the write lock excludes other   ``FOR UPDATE SKIP LOCKED``
                            claimers                        (``skip_locked``)
keeping rows while writing  the write lock                  ``FOR KEY SHARE``
                                                            (``lock_against_deletes``)
serialising claims          the write lock                  advisory lock
                                                            (``claim_lock``)
waking other workers        nothing to wake                 ``NOTIFY`` / ``LISTEN``
                                                            (``notify``,
                                                            ``listen_dsn``)
hot transactions            on a synchronous connection     on the async connection
(``Database.run_write``)    in one thread (``sync_engine``) (``run_sync``)
``INSERT ... ON CONFLICT``  ``sqlite.insert``               ``postgresql.insert``
a column among listed        ``IN (?, ?, ...)`` (expanding)  ``= ANY($1)``: one statement
values (``any_of``)                                         text whatever the count, so
                                                            prepared once
JSON array contains         ``json_each``                   ``jsonb @>``
bound values per statement  ``max_params`` (900 of 999)     ``max_params`` (30,000)
compound ``SELECT`` arms    ``max_compound_selects`` (400   ``max_compound_selects``
                            of 500)
a transaction in one step   on the raw driver connection   -
(``Database.driver_write``) of the ``sync_engine`` thread
==========================  ==============================  ==============================
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Engine,
    Executable,
    Select,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    exists,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolResetState
from sqlalchemy.sql.dml import Insert

T = TypeVar("T")

#: PostgreSQL channel notified when deliveries are committed for workers.
NOTIFY_CHANNEL = "hookgate_deliveries"

#: Arbitrary key of the advisory lock that serialises claims (PostgreSQL).
CLAIM_LOCK_KEY = 0x686F6F6B  # "hook"


class Dialect(ABC):
    """What a store needs to know about its database; one subclass per dialect."""

    name: str
    #: Only this process uses the database (the embedded mode holds a lock
    #: file to guarantee it): writes are serialised here, in-process caches
    #: stay exact, and leases left by a crash can be taken back at start.
    single_process: bool
    #: Bound values one statement may carry (chunk longer ``IN`` lists).
    max_params: int
    #: Arms one ``UNION ALL`` may have.
    max_compound_selects: int

    @abstractmethod
    def engine_options(self, *, pool_size: int, statement_timeout_ms: int) -> dict[str, Any]:
        """Keyword arguments for ``create_async_engine``."""

    @abstractmethod
    def configure(self, engine: AsyncEngine, *, sqlite_synchronous: str) -> None:
        """Set up every connection ``engine`` opens."""

    @abstractmethod
    def sync_engine(self, url: str, *, sqlite_synchronous: str) -> Engine | None:
        """A synchronous engine on the same database for the hot transactions
        (``Database.run_write``), or None to run them on the async engine."""

    @abstractmethod
    def insert_ignoring_conflicts(self, table: Table) -> Insert:
        """``INSERT ... ON CONFLICT DO NOTHING`` into ``table``."""

    def skip_locked(self, query: Select[Any]) -> Select[Any]:
        """Lock the selected rows, skipping rows other transactions hold."""
        return query

    @abstractmethod
    def any_of(self, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        """SQL condition: ``column`` equals one of the values of the list
        bound as ``name`` (a list, one or more values)."""

    def lock_against_deletes(self, query: Select[Any], table: Table) -> Select[Any]:
        """Lock the rows ``query`` selects from ``table`` against deletes and
        key changes until the transaction ends (others may still update them)."""
        return query

    @abstractmethod
    def claim_lock(self) -> Executable | None:
        """The statement that makes concurrent claiming transactions take
        turns (so that each sees the leases the previous one set when it
        counts); None where claims cannot overlap."""

    @abstractmethod
    def notify(self) -> Executable | None:
        """The statement that wakes listening workers in other processes when
        its transaction commits; None where there are none."""

    async def notify_workers(self, conn: AsyncConnection) -> None:
        """Execute ``notify`` in ``conn``'s transaction, if there is one."""
        statement = self.notify()
        if statement is not None:
            await conn.execute(statement)

    @abstractmethod
    def json_array_contains(self, column: Any, value: str) -> Any:
        """SQL condition: the JSON array in ``column`` contains ``value``."""


class SqliteDialect(Dialect):
    name = "sqlite"
    single_process = True
    max_params = 900
    max_compound_selects = 400

    def engine_options(self, *, pool_size: int, statement_timeout_ms: int) -> dict[str, Any]:
        # Connections are reset on return by ``_on_reset`` (``configure``) instead.
        return {"hide_parameters": True, "pool_reset_on_return": None}

    def configure(self, engine: AsyncEngine, *, sqlite_synchronous: str) -> None:
        _configure_sqlite(engine.sync_engine, sqlite_synchronous)

        @event.listens_for(engine.sync_engine, "reset")
        def _on_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
            # The pool's own reset rolls back every connection it gets back, a
            # round trip to aiosqlite's thread even after a commit (most
            # returns); SQLite knows whether a transaction is open.
            if state.terminate_only or not state.asyncio_safe:
                return
            try:
                open_transaction = dbapi_connection.driver_connection.in_transaction
            except ValueError:  # closed
                return
            if open_transaction:
                dbapi_connection.rollback()

    def sync_engine(self, url: str, *, sqlite_synchronous: str) -> Engine | None:
        """A pysqlite engine on the same file: a hot transaction then costs one
        hop to a thread instead of several per statement through aiosqlite.
        None for an in-memory database (another engine would not share it)."""
        parsed = make_url(url)
        if parsed.database in (None, "", ":memory:"):
            return None
        engine = create_engine(parsed.set(drivername="sqlite+pysqlite"), hide_parameters=True)
        _configure_sqlite(engine, sqlite_synchronous)
        return engine

    def insert_ignoring_conflicts(self, table: Table) -> Insert:
        return sqlite.insert(table).on_conflict_do_nothing()

    def any_of(self, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        return column.in_(bindparam(name, expanding=True))

    def claim_lock(self) -> Executable | None:
        """None: SQLite has one writer, and claims are writes."""
        return None

    def notify(self) -> Executable | None:
        """None: no other process uses an embedded database."""
        return None

    def json_array_contains(self, column: Any, value: str) -> Any:
        each = func.json_each(column).table_valued("value")
        return exists(select(literal(1)).select_from(each).where(each.c.value == value))


def _configure_sqlite(engine: Engine, sqlite_synchronous: str) -> None:
    """Set up every connection ``engine`` opens (async engines: their
    ``sync_engine``)."""
    synchronous = sqlite_synchronous.upper()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun by ``_on_begin`` below, not by the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Write transactions take SQLite's write lock up front, so that what
        # they read (leases, counts) cannot change before they write, even
        # with another process on the same file; reads stay deferred.
        immediate = conn.get_execution_options().get("hookgate_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class PostgresDialect(Dialect):
    name = "postgresql"
    single_process = False
    # asyncpg allows 32,767 bound values per statement.
    max_params = 30_000
    max_compound_selects = 1_000

    def engine_options(self, *, pool_size: int, statement_timeout_ms: int) -> dict[str, Any]:
        options: dict[str, Any] = {
            "hide_parameters": True,
            "pool_size": pool_size,
            "max_overflow": pool_size,
            "pool_pre_ping": True,
        }
        if statement_timeout_ms:
            options["connect_args"] = {
                "server_settings": {"statement_timeout": str(statement_timeout_ms)}
            }
        return options

    def insert_ignoring_conflicts(self, table: Table) -> Insert:
        return postgresql.insert(table).on_conflict_do_nothing()

    def skip_locked(self, query: Select[Any]) -> Select[Any]:
        return query.with_for_update(skip_locked=True)

    def lock_against_deletes(self, query: Select[Any], table: Table) -> Select[Any]:
        return query.with_for_update(key_share=True, of=table)

    def configure(self, engine: AsyncEngine, *, sqlite_synchronous: str) -> None:
        """Nothing to set up per connection (the statement timeout travels in
        the engine options)."""

    def sync_engine(self, url: str, *, sqlite_synchronous: str) -> Engine | None:
        """None: asyncpg costs no thread hops; hot transactions run on the
        async connection."""
        return None

    def any_of(self, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        # An expanding IN renders one statement text per list length, and
        # asyncpg prepares each text anew once its cache is full.
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))

    def claim_lock(self) -> Executable | None:
        return _CLAIM_LOCK

    def notify(self) -> Executable | None:
        return _NOTIFY

    def json_array_contains(self, column: Any, value: str) -> Any:
        return column.cast(postgresql.JSONB).contains([value])


_CLAIM_LOCK = text(f"SELECT pg_advisory_xact_lock({CLAIM_LOCK_KEY})")
_NOTIFY = text(f"NOTIFY {NOTIFY_CHANNEL}")


def dialect_for(url: str) -> Dialect:
    """The dialect of a SQLAlchemy database URL."""
    return SqliteDialect() if url.startswith("sqlite") else PostgresDialect()


def listen_dsn(sqlalchemy_url: str) -> str:
    """The plain ``postgresql://`` DSN asyncpg accepts for a SQLAlchemy URL."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def display_url(url: str) -> str:
    """A database URL without its password, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)
