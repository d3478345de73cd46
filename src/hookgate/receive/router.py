"""``Router``: run handlers per event type, once per event id.

::

    router = Router()                      # MemoryStore by default

    @router.on("invoice.paid")
    async def paid(event: Event) -> None: ...

    @router.on("*")                        # fnmatch patterns: "*", "invoice.*"
    def audit(event: Event) -> None: ...   # sync handlers run in a thread

    report = await router.dispatch(event)
    report.raise_for_failures()            # ExceptionGroup if any handler failed

Middleware wraps the whole dispatch (dedupe included), first registered
outermost: ``async def mw(event, call_next) -> Report``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .event import Event
from .store import IdempotencyStore, MemoryStore

Handler = Callable[[Event], Awaitable[None]] | Callable[[Event], None]
Next = Callable[[Event], Awaitable["Report"]]
Middleware = Callable[[Event, Next], Awaitable["Report"]]
H = TypeVar("H", bound=Handler)
M = TypeVar("M", bound=Middleware)


@dataclass(frozen=True)
class HandlerFailure:
    """A handler that raised: its name and the exception."""

    handler: str
    error: Exception


@dataclass(frozen=True)
class Report:
    """What ``dispatch`` did with one event.

    ``duplicate``: the event id was already processed (or in progress), so no
    handler ran. ``handled``: names of handlers that succeeded.
    ``failures``: handlers that raised.
    """

    event_id: str | None
    duplicate: bool = False
    handled: tuple[str, ...] = ()
    failures: tuple[HandlerFailure, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no handler failed."""
        return not self.failures

    def raise_for_failures(self) -> None:
        """Raise an ``ExceptionGroup`` of the handlers' exceptions, if any."""
        if self.failures:
            names = ", ".join(f.handler for f in self.failures)
            raise ExceptionGroup(
                f"{len(self.failures)} handler(s) failed for event {self.event_id}: {names}",
                [f.error for f in self.failures],
            )


class Router:
    """Handlers by event-type pattern, middleware, and idempotent dispatch."""

    def __init__(self, store: IdempotencyStore | None = None) -> None:
        self.store: IdempotencyStore = store if store is not None else MemoryStore()
        self._routes: list[tuple[str, Handler]] = []
        self._middleware: list[Middleware] = []

    def on(self, *patterns: str) -> Callable[[H], H]:
        """Decorator: run the handler for events whose type matches any of
        ``patterns`` (``fnmatch``; ``"*"`` matches every event, including ones
        without a type)."""
        if not patterns:
            raise ValueError("give at least one event type pattern")

        def register(handler: H) -> H:
            for pattern in patterns:
                self.add(pattern, handler)
            return handler

        return register

    def add(self, pattern: str, handler: Handler) -> None:
        """Register ``handler`` for event types matching ``pattern``."""
        self._routes.append((pattern, handler))

    def use(self, middleware: M) -> M:
        """Register middleware (usable as a decorator)."""
        self._middleware.append(middleware)
        return middleware

    def handlers_for(self, event_type: str | None) -> list[Handler]:
        """The handlers an event of ``event_type`` goes to, each once, in
        registration order."""
        found: list[Handler] = []
        for pattern, handler in self._routes:
            matches = pattern == "*" or (
                event_type is not None and fnmatch.fnmatchcase(event_type, pattern)
            )
            if matches and handler not in found:
                found.append(handler)
        return found

    async def dispatch(self, event: Event) -> Report:
        """Run ``event`` through the middleware, then (unless its id was seen)
        every matching handler concurrently. Never raises for a handler's
        failure: failures are collected in the ``Report`` and the event id is
        released so a retry runs again."""
        call: Next = self._process
        for middleware in reversed(self._middleware):
            call = _bind(middleware, call)
        return await call(event)

    async def _process(self, event: Event) -> Report:
        key = event.dedupe_key
        if key is not None and not await self.store.claim(key):
            return Report(event.id, duplicate=True)
        try:
            handlers = self.handlers_for(event.type)
            results = await asyncio.gather(*(_run(h, event) for h in handlers))
        except BaseException:
            if key is not None:
                await self.store.release(key)
            raise
        failures = tuple(r for r in results if isinstance(r, HandlerFailure))
        handled = tuple(r for r in results if isinstance(r, str))
        if key is not None:
            await (self.store.release(key) if failures else self.store.complete(key))
        return Report(event.id, handled=handled, failures=failures)


def _bind(middleware: Middleware, call_next: Next) -> Next:
    async def call(event: Event) -> Report:
        return await middleware(event, call_next)

    return call


async def _run(handler: Handler, event: Event) -> str | HandlerFailure:
    name = getattr(handler, "__qualname__", repr(handler))
    try:
        if inspect.iscoroutinefunction(handler):
            await handler(event)
        else:
            result = await asyncio.to_thread(handler, event)
            if inspect.isawaitable(result):
                await result
    except Exception as exc:
        return HandlerFailure(name, exc)
    return name
