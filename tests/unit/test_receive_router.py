"""Router: routing by pattern, middleware, idempotency, concurrent handlers
with collected failures."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hookgate.core.verify import Verified
from hookgate.receive import Event, MemoryStore, Next, Report, Router


def _event(type_: str | None = "invoice.paid", id_: str | None = "evt_1") -> Event:
    return Event(
        provider="stripe",
        id=id_,
        type=type_,
        payload={},
        body=b"{}",
        headers={},
        verified=Verified(scheme="stripe", secret_index=0, event_id=id_, event_type=type_),
    )


async def test_routes_by_exact_type_pattern_and_wildcard() -> None:
    router = Router()
    seen: list[str] = []

    @router.on("invoice.paid")
    async def exact(event: Event) -> None:
        seen.append("exact")

    @router.on("invoice.*", "customer.*")
    async def prefix(event: Event) -> None:
        seen.append("prefix")

    @router.on("*")
    def everything(event: Event) -> None:  # sync: runs in a thread
        assert threading.current_thread() is not threading.main_thread()
        seen.append("all")

    @router.on("charge.failed")
    async def other(event: Event) -> None:
        seen.append("other")

    report = await router.dispatch(_event())
    assert sorted(seen) == ["all", "exact", "prefix"]
    assert report.ok
    assert len(report.handled) == 3
    seen.clear()
    await router.dispatch(_event(type_=None, id_="evt_2"))
    assert seen == ["all"]


async def test_duplicate_event_ids_are_skipped() -> None:
    store = MemoryStore()
    router = Router(store)
    calls: list[str] = []

    @router.on("*")
    async def handler(event: Event) -> None:
        calls.append(event.id or "")

    first = await router.dispatch(_event())
    second = await router.dispatch(_event())
    assert (first.duplicate, second.duplicate) == (False, True)
    assert calls == ["evt_1"]
    assert "stripe:evt_1" in store
    await router.dispatch(_event(id_=None))
    await router.dispatch(_event(id_=None))
    assert calls == ["evt_1", "", ""]  # no id: never deduplicated


async def test_handlers_run_concurrently_and_failures_are_collected() -> None:
    router = Router()
    both_started = asyncio.Event()
    started = 0

    async def wait_for_each_other() -> None:
        nonlocal started
        started += 1
        if started == 2:
            both_started.set()
        await asyncio.wait_for(both_started.wait(), 2)

    @router.on("*")
    async def fails(event: Event) -> None:
        await wait_for_each_other()
        raise RuntimeError("boom")

    @router.on("*")
    async def works(event: Event) -> None:
        await wait_for_each_other()

    report = await router.dispatch(_event())
    assert report.handled == (works.__qualname__,)
    assert [f.handler for f in report.failures] == [fails.__qualname__]
    with pytest.raises(ExceptionGroup) as info:
        report.raise_for_failures()
    assert isinstance(info.value.exceptions[0], RuntimeError)
    # The failed event was released: the provider's retry runs again.
    again = await router.dispatch(_event())
    assert not again.duplicate


async def test_middleware_wraps_dispatch_outermost_first() -> None:
    router = Router()
    order: list[str] = []

    @router.use
    async def outer(event: Event, call_next: Next) -> Report:
        order.append("outer-in")
        report = await call_next(event)
        order.append("outer-out")
        return report

    @router.use
    async def drop_tests(event: Event, call_next: Next) -> Report:
        order.append("inner")
        if event.type == "test":
            return Report(event.id)
        return await call_next(event)

    @router.on("*")
    async def handler(event: Event) -> None:
        order.append("handler")

    await router.dispatch(_event())
    assert order == ["outer-in", "inner", "handler", "outer-out"]
    order.clear()
    await router.dispatch(_event(type_="test", id_="evt_9"))
    assert order == ["outer-in", "inner", "outer-out"]


async def test_memory_store_forgets_oldest_beyond_capacity() -> None:
    store = MemoryStore(capacity=2)
    for key in ("a", "b", "c"):
        assert await store.claim(key)
        await store.complete(key)
    assert "a" not in store
    assert await store.claim("a")
    assert not await store.claim("a")  # in progress
    assert not await store.claim("c")
    with pytest.raises(ValueError, match="capacity"):
        MemoryStore(capacity=0)


def test_on_requires_a_pattern() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Router().on()
