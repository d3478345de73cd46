"""Waking idle workers: PostgreSQL ``LISTEN/NOTIFY`` on one channel.

API processes that do not deliver themselves ``NOTIFY`` the channel when they
commit new deliveries (``Dialect.notify_workers``); every worker ``LISTEN``s
and claims at once instead of waiting for its next poll. The poll stays as the
fallback, so a lost notification only costs one poll interval.
``Database.delivery_listener`` gives one on PostgreSQL (SQLite has no other
processes to hear from).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from hookgate.store.dialect import NOTIFY_CHANNEL, listen_dsn

log = logging.getLogger(__name__)

_MAX_BACKOFF_S = 30.0


class DeliveryListener:
    """Keeps one connection listening on the channel, calling ``on_wake`` for
    every notification (and once after each (re)connection); reconnects with
    back-off."""

    def __init__(self, sqlalchemy_url: str, on_wake: Callable[[], None]) -> None:
        self._dsn = listen_dsn(sqlalchemy_url)
        self._on_wake = on_wake
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hookgate-listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("cannot listen for deliveries (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
                continue
            backoff = 0.5
            try:
                await self._listen(connection)
            finally:
                with contextlib.suppress(Exception):
                    await connection.close(timeout=1)
            log.warning("lost the notification connection; reconnecting")

    async def _listen(self, connection: Any) -> None:
        """Listen until the connection is lost."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        await connection.add_listener(NOTIFY_CHANNEL, self._notified)
        self._on_wake()  # anything committed while we were not listening
        await lost.wait()

    def _notified(self, *_: Any) -> None:
        self._on_wake()
