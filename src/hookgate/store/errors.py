"""Every error the store raises, and nothing of the database driver's.

The whole tree::

    StoreError                 anything the store cannot do
    ├── StoreUnavailable       the database cannot be reached for now (refused or
    │                          dropped connection, pool timeout, statement timeout,
    │                          locked SQLite file): retry later, unchanged
    ├── StoreRejected          the database refused these values: retrying the
    │   │                      same write can never succeed
    │   ├── InvalidValue       a value the column cannot hold (a NUL character
    │   │                      in PostgreSQL text, a string too long)
    │   └── ConstraintViolated a constraint failed (unique, foreign key, not null)
    │       └── Conflict       a uniqueness rule, named by the store ("uid taken")
    └── NotFound               the referenced record does not exist

The driver's exceptions are translated in one place, ``Database.write()`` and
``Database.read()`` (see ``translated_errors``), so code outside ``store/``
catches these and never imports SQLAlchemy. Messages carry the database's
one-line reason, never the statement or its bound values.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every store error."""


class StoreUnavailable(StoreError):
    """The database cannot be reached for now; the same call may succeed later."""


class StoreRejected(StoreError):
    """The database refused the values written; the same write never succeeds."""


class InvalidValue(StoreRejected):
    """A value the column cannot hold."""


class ConstraintViolated(StoreRejected):
    """The write breaks a constraint (unique, foreign key, not null, check)."""


class Conflict(ConstraintViolated):
    """The write would break a uniqueness rule the store names."""


class NotFound(StoreError):
    """The referenced record does not exist."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying the same write can never succeed (``StoreRejected``),
    as opposed to a database that is unreachable for now."""
    return isinstance(exc, StoreRejected)
