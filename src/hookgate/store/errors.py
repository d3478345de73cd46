"""Errors the store raises; the API turns them into Svix-shaped 4xx answers."""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError


class StoreError(Exception):
    """Base class of store errors."""


class NotFound(StoreError):
    """The referenced record does not exist."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class Conflict(StoreError):
    """The write would break a uniqueness rule."""


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying the same write can never succeed (it breaks a
    constraint or carries invalid data), as opposed to a database that is
    unreachable for now."""
    return isinstance(exc, IntegrityError | DataError)
