"""Group commit: many concurrent callers, one flush at a time.

Callers ``await submit(item)``; a single flusher task takes every item that is
waiting (up to ``max_batch``), runs ``flush`` once for all of them and hands
each caller its own result. Under load batches grow by themselves; when idle a
lone item is flushed at once, so there is no added latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommitter(Generic[T, R]):
    """Batches concurrent ``submit`` calls into calls of ``flush``.

    ``flush`` must return one result per item, in order; an exception in the
    place of a result is raised to that caller alone. If ``flush`` raises,
    every caller of that batch receives the exception.
    """

    def __init__(
        self,
        flush: Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]],
        max_batch: int,
    ):
        self._flush = flush
        self._max_batch = max_batch
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                try:
                    results = await self._flush([item for item, _ in batch])
                except Exception as exc:  # handed to every caller of the batch
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._flusher = None

    async def drain(self) -> None:
        """Wait until everything submitted so far has been flushed."""
        while self._flusher is not None:
            await asyncio.shield(self._flusher)


async def isolating_failures(
    run: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
    items: Sequence[T],
    refused: type[Exception] | tuple[type[Exception], ...],
) -> list[R | BaseException]:
    """``run(items)`` as one batch; if it raises ``refused``, run each item
    alone so that only the items the batch failed on fail (their exception in
    their place). A lone item's exception is raised."""
    try:
        return list(await run(items))
    except refused:
        if len(items) == 1:
            raise
    results: list[R | BaseException] = []
    for item in items:
        try:
            results.extend(await run([item]))
        except refused as exc:
            results.append(exc)
    return results
