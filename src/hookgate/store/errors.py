"""Errors the store raises; the API turns them into Svix-shaped 4xx answers."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of store errors."""


class NotFound(StoreError):
    """The referenced record does not exist."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class Conflict(StoreError):
    """The write would break a uniqueness rule."""
