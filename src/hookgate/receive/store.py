"""Idempotency stores: remember which events were processed.

The protocol is three calls around processing one event key:
``claim`` (False means: already done or in progress, skip it), then
``complete`` after success or ``release`` after failure (so the provider's
retry is processed again). Processing is therefore at-least-once per key.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol


class IdempotencyStore(Protocol):
    """Where a ``Router`` records processed event keys."""

    async def claim(self, key: str) -> bool:
        """Mark ``key`` in progress; False if it is in progress or done already."""

    async def complete(self, key: str) -> None:
        """``key`` was processed: later claims return False."""

    async def release(self, key: str) -> None:
        """Processing ``key`` failed: a later claim may take it again."""


class MemoryStore:
    """An in-process ``IdempotencyStore`` remembering the last ``capacity``
    completed keys (oldest forgotten first). Not shared between processes."""

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._done: OrderedDict[str, None] = OrderedDict()
        self._in_progress: set[str] = set()

    async def claim(self, key: str) -> bool:
        if key in self._done or key in self._in_progress:
            return False
        self._in_progress.add(key)
        return True

    async def complete(self, key: str) -> None:
        self._in_progress.discard(key)
        self._done[key] = None
        self._done.move_to_end(key)
        while len(self._done) > self.capacity:
            self._done.popitem(last=False)

    async def release(self, key: str) -> None:
        self._in_progress.discard(key)

    def __contains__(self, key: object) -> bool:
        """True if ``key`` was completed (and not yet forgotten)."""
        return key in self._done
