"""Writing delivery results back to the store in batches, without losing any."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from hookgate.store.errors import is_permanent
from hookgate.store.records import DeliveryResult

log = logging.getLogger(__name__)

_MAX_BATCH = 1000
_MAX_BACKOFF_S = 5.0


class ResultStore(Protocol):
    async def record_results(self, results: Sequence[DeliveryResult], now_ms: int) -> None: ...


class ResultWriter:
    """Collects results and writes them in batches by one background task.

    A failed write is retried with back-off until it succeeds (the database
    may be restarting); ``on_written`` is called with each batch once it is
    durable, so the dispatcher keeps renewing those leases until then.
    """

    def __init__(
        self,
        store: ResultStore,
        on_written: Callable[[Sequence[DeliveryResult]], None],
        clock_ms: Callable[[], int],
    ) -> None:
        self._store = store
        self._on_written = on_written
        self._clock_ms = clock_ms
        self._pending: list[DeliveryResult] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, result: DeliveryResult) -> None:
        self._pending.append(result)
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def drain(self) -> None:
        """Wait until every added result is written."""
        while self._task is not None:
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:_MAX_BATCH]
                del self._pending[:_MAX_BATCH]
                await self._write(batch)
                self._on_written(batch)
        finally:
            self._task = None

    async def _write(self, batch: Sequence[DeliveryResult]) -> None:
        """Write ``batch``; after a failure, write its results one by one so
        that a result the store rejects for good (``is_permanent``) is dropped
        alone, with an error logged: its lease runs out and the delivery is
        attempted again, so nothing is lost. Other failures (the database is
        unreachable) are retried with back-off until they succeed."""
        try:
            await self._store.record_results(batch, self._clock_ms())
            return
        except Exception:
            log.exception("writing %d delivery results failed; retrying one by one", len(batch))
        retry: list[DeliveryResult] = []
        for result in batch:
            try:
                await self._store.record_results([result], self._clock_ms())
            except Exception as exc:
                if not self._dropped(result, exc):
                    retry.append(result)
        for result in retry:
            await self._write_one(result)

    async def _write_one(self, result: DeliveryResult) -> None:
        backoff = 0.1
        while True:
            await asyncio.sleep(backoff)
            try:
                await self._store.record_results([result], self._clock_ms())
                return
            except Exception as exc:
                if self._dropped(result, exc):
                    return
                log.exception("writing a delivery result failed; retrying")
                backoff = min(backoff * 2, _MAX_BACKOFF_S)

    @staticmethod
    def _dropped(result: DeliveryResult, exc: Exception) -> bool:
        """Drop (and log) a result the store rejects for good."""
        if not is_permanent(exc):
            return False
        log.error(
            "dropping the result of delivery %s, which the store rejects: %s",
            result.job.delivery_id,
            exc,
        )
        return True
