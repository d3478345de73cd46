"""Statements compiled once for the embedded database's driver, for work
run on the database thread in one step (``Database.driver_write``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import Insert

#: Bound parameters per statement at most (SQLite's default limit is 32766).
MAX_PARAMETERS = 32_000


class CompiledInsert:
    """An ``INSERT`` compiled once for the driver, taking rows as the store
    builds them (dicts by column name)."""

    __slots__ = ("_keys", "_many", "_processors", "_row_sql", "_sql_head", "_sql_tail", "sql")

    def __init__(self, statement: Insert, dialect: Dialect, keys: Sequence[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        self.sql = str(compiled)
        self._keys = tuple(compiled.positiontup or ())
        table = statement.table
        self._processors = tuple(
            table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in self._keys
        )
        head, _, tail = self.sql.partition(" VALUES ")
        row_sql, _, rest = tail.partition(")")
        self._sql_head = f"{head} VALUES "
        self._row_sql = f"{row_sql})"
        self._sql_tail = rest
        self._many: dict[int, str] = {}

    def processor(self, key: str) -> Callable[[Any], Any] | None:
        """How SQLAlchemy converts a value of column ``key`` for the driver
        (None: passed as it is)."""
        return self._processors[self._keys.index(key)]

    @property
    def keys(self) -> tuple[str, ...]:
        """The column names of the statement's parameters, in order."""
        return self._keys

    def params(self, row: dict[str, Any]) -> tuple[Any, ...]:
        """The driver's parameters of ``row``, in the statement's order and
        converted as SQLAlchemy converts them (JSON columns, binary)."""
        return tuple(
            row[key] if process is None else process(row[key])
            for key, process in zip(self._keys, self._processors, strict=True)
        )

    def insert_many(self, connection: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert ``rows`` (``params`` tuples) with one multi-row statement
        per chunk and return how many rows were inserted. One statement
        step for many rows: ``executemany`` steps once per row, and the
        driver lets go of the interpreter lock at every step, which the
        database thread may then wait up to a switch interval to get back
        while the event loop is busy."""
        per_chunk = max(1, MAX_PARAMETERS // max(1, len(self._keys)))
        inserted = 0
        for start in range(0, len(rows), per_chunk):
            chunk = rows[start : start + per_chunk]
            sql = self._many.get(len(chunk))
            if sql is None:
                sql = self._many[len(chunk)] = (
                    self._sql_head + ", ".join([self._row_sql] * len(chunk)) + self._sql_tail
                )
            inserted += connection.execute(sql, [v for row in chunk for v in row]).rowcount
        return inserted


def in_transaction(connection: sqlite3.Connection, work: Callable[[], bool]) -> bool:
    """``work()`` in a ``BEGIN IMMEDIATE`` transaction on ``connection``:
    committed when it returns True, rolled back when it returns False (the
    batch takes the usual way) or raises (the error is raised again)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        done = work()
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT" if done else "ROLLBACK")
    return done
