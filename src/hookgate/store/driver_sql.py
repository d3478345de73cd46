"""Statements compiled once for the embedded database's driver, for work
run on the database thread in one step (``Database.driver_write``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import Insert


class CompiledInsert:
    """An ``INSERT`` compiled once for the driver, taking rows as the store
    builds them (dicts by column name)."""

    __slots__ = ("_keys", "_processors", "sql")

    def __init__(self, statement: Insert, dialect: Dialect, keys: Sequence[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        self.sql = str(compiled)
        self._keys = tuple(compiled.positiontup or ())
        table = statement.table
        self._processors = tuple(
            table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in self._keys
        )

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
