"""GroupCommitter: concurrent submits share flushes, each caller gets its own answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from hookgate.delivery.batcher import GroupCommitter, isolating_failures


class Flusher:
    """A flush function that records its batches; ``gate`` holds a flush
    running and items named in ``poison`` make the whole flush raise."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate: asyncio.Event | None = None
        self.poison: set[str] = set()

    async def __call__(self, items: Sequence[str]) -> list[str]:
        self.batches.append(list(items))
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0)
        if self.poison.intersection(items):
            raise ValueError(f"cannot store {sorted(self.poison.intersection(items))}")
        return [f"stored:{item}" for item in items]


async def started(flusher: Flusher, batches: int) -> None:
    """Wait (bounded) until ``flush`` has been called ``batches`` times."""
    for _ in range(1000):
        if len(flusher.batches) >= batches:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"flush was not called {batches} times")


async def test_concurrent_submits_share_flushes_and_get_their_own_results() -> None:
    flusher = Flusher()
    committer: GroupCommitter[str, str] = GroupCommitter(flusher, max_batch=100)
    items = [f"item{i}" for i in range(50)]

    results = await asyncio.wait_for(
        asyncio.gather(*(committer.submit(item) for item in items)), 5.0
    )

    assert results == [f"stored:{item}" for item in items]
    assert len(flusher.batches) < len(items)
    assert sorted(i for batch in flusher.batches for i in batch) == sorted(items)


async def test_items_arriving_during_a_flush_form_the_next_batch() -> None:
    flusher = Flusher()
    flusher.gate = asyncio.Event()
    committer: GroupCommitter[str, str] = GroupCommitter(flusher, max_batch=100)

    first = asyncio.create_task(committer.submit("a"))
    await started(flusher, 1)
    rest = [asyncio.create_task(committer.submit(x)) for x in ("b", "c", "d")]
    await asyncio.sleep(0)
    flusher.gate.set()

    assert await asyncio.wait_for(first, 5.0) == "stored:a"
    assert await asyncio.wait_for(asyncio.gather(*rest), 5.0) == [
        "stored:b",
        "stored:c",
        "stored:d",
    ]
    assert flusher.batches == [["a"], ["b", "c", "d"]]


async def test_batches_never_exceed_max_batch() -> None:
    flusher = Flusher()
    committer: GroupCommitter[str, str] = GroupCommitter(flusher, max_batch=4)
    items = [str(i) for i in range(10)]

    results = await asyncio.wait_for(
        asyncio.gather(*(committer.submit(item) for item in items)), 5.0
    )

    assert results == [f"stored:{item}" for item in items]
    assert [len(batch) for batch in flusher.batches] == [4, 4, 2]


async def test_a_failed_flush_fails_every_caller_of_that_batch_only() -> None:
    flusher = Flusher()
    flusher.gate = asyncio.Event()
    flusher.poison = {"bad"}
    committer: GroupCommitter[str, str] = GroupCommitter(flusher, max_batch=100)

    # Batch 1 = ["ok1"] (held open), batch 2 = everything submitted meanwhile.
    first = asyncio.create_task(committer.submit("ok1"))
    await started(flusher, 1)
    doomed = [asyncio.create_task(committer.submit(x)) for x in ("x", "bad", "y")]
    await asyncio.sleep(0)
    flusher.gate.set()

    assert await asyncio.wait_for(first, 5.0) == "stored:ok1"
    outcomes = await asyncio.wait_for(asyncio.gather(*doomed, return_exceptions=True), 5.0)
    assert all(isinstance(o, ValueError) for o in outcomes)
    assert flusher.batches == [["ok1"], ["x", "bad", "y"]]

    # The committer keeps working for the next batch.
    flusher.gate = None
    later = await asyncio.wait_for(
        asyncio.gather(committer.submit("z1"), committer.submit("z2")), 5.0
    )
    assert later == ["stored:z1", "stored:z2"]


async def test_a_lone_failing_item_raises_to_its_caller() -> None:
    flusher = Flusher()
    flusher.poison = {"bad"}
    committer: GroupCommitter[str, str] = GroupCommitter(flusher, max_batch=10)

    with pytest.raises(ValueError, match="cannot store"):
        await asyncio.wait_for(committer.submit("bad"), 5.0)
    assert await asyncio.wait_for(committer.submit("good"), 5.0) == "stored:good"


async def test_drain_waits_for_everything_submitted() -> None:
    flusher = Flusher()
    flusher.gate = asyncio.Event()
    committer: GroupCommitter[str, str] = GroupCommitter(flusher, max_batch=2)
    tasks = [asyncio.create_task(committer.submit(str(i))) for i in range(5)]
    await started(flusher, 1)

    draining = asyncio.create_task(committer.drain())
    await asyncio.sleep(0)
    assert not draining.done()
    flusher.gate.set()
    await asyncio.wait_for(draining, 5.0)

    assert all(task.done() for task in tasks)
    assert [len(batch) for batch in flusher.batches] == [2, 2, 1]


async def test_a_cancelled_caller_does_not_break_its_batch() -> None:
    flusher = Flusher()
    flusher.gate = asyncio.Event()
    committer: GroupCommitter[str, str] = GroupCommitter(flusher, max_batch=10)
    first = asyncio.create_task(committer.submit("a"))
    await started(flusher, 1)
    quitter = asyncio.create_task(committer.submit("b"))
    stayer = asyncio.create_task(committer.submit("c"))
    await asyncio.sleep(0)

    quitter.cancel()
    flusher.gate.set()

    assert await asyncio.wait_for(first, 5.0) == "stored:a"
    assert await asyncio.wait_for(stayer, 5.0) == "stored:c"
    with pytest.raises(asyncio.CancelledError):
        await quitter


async def test_isolating_failures_fails_only_the_refused_items() -> None:
    batches: list[list[int]] = []

    async def run(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        if 13 in items:
            raise ValueError("13 refused")
        return [i * 10 for i in items]

    results = await isolating_failures(run, [1, 13, 2], ValueError)
    assert results[0::2] == [10, 20]
    assert isinstance(results[1], ValueError)
    assert batches == [[1, 13, 2], [1], [13], [2]]
    with pytest.raises(ValueError):
        await isolating_failures(run, [13], ValueError)

    async def broken(items: Sequence[int]) -> list[int]:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):  # not a refusal: the whole batch fails
        await isolating_failures(broken, [1, 2], ValueError)
