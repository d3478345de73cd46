"""The opt-in ``--backlog-1m`` phase: does a huge backlog drain as fast as a small one?

Two backlogs to the delivery phase's setup (one application, one endpoint on the
receiver, ``HOOKGATE_ENDPOINT_CONCURRENCY`` = ``--concurrency``), each on a fresh
SQLite data directory: ``SMALL`` (10,000) and ``LARGE`` (1,000,000) messages.
The application and endpoint are created through the API (``serve --no-worker``);
with the server stopped, the messages are then written by ``python -m
benchmarks.backlog load`` through the store's ``SqlMessageAccept.accept_batch``
(what the engine's group committer stores accepted requests with, given the
same payload bytes and ``lease_until`` 0 as under ``serve --no-worker``) in
batches of ``LOAD_BATCH``:
the same rows the API writes, 20-50x faster than a million HTTP requests.

Then ``hookgate serve`` (worker on) drains it, and the receiver's count is
sampled every ``SAMPLE_S``; a rate is deliveries over a window of the count,
interpolated between samples: the small backlog's ``SMALL_WINDOW``, the large
one's first ``WINDOW`` deliveries after the same warm-up and ``WINDOW`` from its
middle (half-way through the million: the table still holds every row, half of
them delivered). The server is stopped once the middle window is
passed, rather than draining the whole million (~8 min less). The small backlog
is drained before and after the large one (the mean is the baseline, so drift
on the shared machine shows). The figure is the slower large-backlog window ÷
the small backlog's rate; target >= 0.8. CPU per delivery over the same windows
is printed too (it is steadier than rates when the machine is busy).
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import itertools
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from benchmarks.common import EVENT_TYPE, event_payload, mark
from benchmarks.phases import (
    Context,
    Server,
    create_app_and_endpoint,
    hookgate_env,
    profiled,
    receiver_count,
    receiver_reset,
    start_hookgate,
)
from benchmarks.procs import PYTHON, PhaseError, cpu_seconds

SMALL, LARGE = 10_000, 1_000_000
SMALL_WINDOW = (1_000, 9_000)
WINDOW = 20_000  # deliveries per window of the large backlog
BACKLOG_TARGET = 0.8
LOAD_BATCH = 2_000
SAMPLE_S = 0.05


@dataclass
class Drain:
    messages: int
    load_rps: float  # backlog written by the loader
    first_delivery_s: float  # serve spawned -> first delivery received
    windows: list[tuple[tuple[int, int], float, float]]  # (window, rate, CPU ms/delivery)


@dataclass
class BacklogResult:
    small: tuple[Drain, Drain]  # drained before and after the large one
    large: Drain

    @property
    def small_rps(self) -> float:
        return statistics.mean(d.windows[0][1] for d in self.small)

    @property
    def large_rps(self) -> float:
        return min(rate for _, rate, _ in self.large.windows)

    @property
    def ratio(self) -> float:
        return self.large_rps / self.small_rps

    @property
    def cpu_ratio(self) -> float:
        """Small backlog CPU per delivery ÷ the large one's costlier window (1.0: same cost)."""
        small = statistics.mean(d.windows[0][2] for d in self.small)
        return small / max(cpu for _, _, cpu in self.large.windows)


def _crossing(samples: list[tuple[float, int, float]], count: int) -> tuple[float, float]:
    """(time, server CPU seconds) when the receiver's count reached ``count``,
    interpolated between the two samples around it."""
    for (t0, c0, cpu0), (t1, c1, cpu1) in itertools.pairwise(samples):
        if c0 <= count <= c1 and c1 > c0:
            f = (count - c0) / (c1 - c0)
            return t0 + f * (t1 - t0), cpu0 + f * (cpu1 - cpu0)
    raise PhaseError(f"the receiver's count never reached {count}")


def _drain(ctx: Context, name: str, n: int, windows: list[tuple[int, int]]) -> Drain:
    data_dir = ctx.work_dir / f"{name}-data"
    settings = {"endpoint_concurrency": str(ctx.concurrency)}
    server = start_hookgate(ctx, f"{name}-setup", data_dir, worker=False, **settings)
    app_id = create_app_and_endpoint(ctx, server, f"{ctx.receiver}/hook")
    ctx.procs.stop(server.proc)
    argv = [PYTHON, "-m", "benchmarks.backlog", "load", "--data-dir", str(data_dir)]
    argv += ["--app", app_id, "--count", str(n)]
    began = time.monotonic()
    ctx.procs.run(f"{name}-load", argv, 1800, hookgate_env(ctx, {}))
    load_rps = n / (time.monotonic() - began)

    receiver_reset(ctx)
    server = start_hookgate(ctx, f"{name}-drain", data_dir, worker=True, **settings)
    end = max(stop for _, stop in windows)
    with profiled(ctx, name, server.proc.pid):
        samples = _sample_until(ctx, server, end, timeout=1500.0)
    ctx.procs.stop(server.proc)
    first = receiver_count(ctx)["first"]
    rates = []
    for start, stop in windows:
        (t0, cpu0), (t1, cpu1) = _crossing(samples, start), _crossing(samples, stop)
        rates.append(
            ((start, stop), (stop - start) / (t1 - t0), (cpu1 - cpu0) * 1000 / (stop - start))
        )
    return Drain(n, load_rps, first - server.started, rates)


def _sample_until(
    ctx: Context, server: Server, count: int, timeout: float
) -> list[tuple[float, int, float]]:
    """(time, received, server CPU) every ``SAMPLE_S`` until ``count`` were received."""
    samples: list[tuple[float, int, float]] = []
    deadline = time.monotonic() + timeout
    while True:
        cpu = cpu_seconds(server.proc.pid)
        seen = int(receiver_count(ctx)["count"])
        samples.append((time.time(), seen, cpu))
        if seen >= count:
            return samples
        if server.proc.poll() is not None:
            raise PhaseError(f"hookgate exited with {server.proc.returncode} after {seen}")
        if time.monotonic() > deadline:
            raise PhaseError(f"receiver got {seen}/{count} within {timeout:.0f} s")
        time.sleep(SAMPLE_S)


def bench_backlog(ctx: Context, large: int = LARGE) -> BacklogResult:
    """Drain ``SMALL`` then ``large`` messages (``--backlog-messages``, for a smoke run)."""
    if large < 2 * WINDOW + 2 * SMALL_WINDOW[0]:
        raise PhaseError(
            f"--backlog-messages must be at least {2 * WINDOW + 2 * SMALL_WINDOW[0]:,}"
        )
    first = (SMALL_WINDOW[0], SMALL_WINDOW[0] + WINDOW)
    middle = (large // 2, large // 2 + WINDOW)
    before = _drain(ctx, "backlog-small-before", SMALL, [SMALL_WINDOW])
    large_drain = _drain(ctx, "backlog-large", large, [first, middle])
    after = _drain(ctx, "backlog-small-after", SMALL, [SMALL_WINDOW])
    return BacklogResult((before, after), large_drain)


def report_backlog(r: BacklogResult) -> list[str]:
    def window(w: tuple[tuple[int, int], float, float]) -> str:
        (start, stop), rate, cpu = w
        return f"deliveries {start:,}-{stop:,}: {rate:,.0f}/s, {cpu:.3f} ms CPU each"

    before, after = r.small
    return [
        f"backlog {r.large.messages:,}: {r.large_rps:,.0f}/s (slower window) vs "
        f"{r.small_rps:,.0f}/s for a {before.messages:,} backlog -> ratio {r.ratio:.2f} "
        f"(target >= {BACKLOG_TARGET}) [{mark(r.ratio >= BACKLOG_TARGET)}]; CPU per delivery "
        f"ratio {r.cpu_ratio:.2f} (small ÷ large, 1.0 = same cost)",
        f"    {before.messages:,} backlog, drained before and after the large one: "
        f"{window(before.windows[0])}; {window(after.windows[0])}; spawn -> first delivery "
        f"{before.first_delivery_s:.2f} s, {after.first_delivery_s:.2f} s",
        f"    {r.large.messages:,} backlog: "
        f"{'; '.join(window(w) for w in r.large.windows)}; spawn -> first delivery "
        f"{r.large.first_delivery_s:.2f} s; stopped after the middle window",
        f"    backlogs written through the store's accept_batch at {before.load_rps:,.0f}/s "
        f"and {r.large.load_rps:,.0f}/s; drained by serve (SQLite), rates from the "
        f"receiver's count sampled every {SAMPLE_S * 1000:.0f} ms",
    ]


# -- the loader (its own process) ---------------------------------------------------


async def _load(data_dir: Path, app_id: str, count: int) -> None:
    # Imported here: the benchmark runner itself never loads the store.
    from hookgate.config import Settings
    from hookgate.store.accept_messages import AcceptItem, AcceptStatus
    from hookgate.store.database import open_database
    from hookgate.store.message_accept import SqlMessageAccept

    db = open_database(Settings(data_dir=data_dir))
    accept = SqlMessageAccept(db)  # what the engine stores accepted batches with
    try:
        for start in range(0, count, LOAD_BATCH):
            items = [
                AcceptItem(app_id, EVENT_TYPE, orjson.dumps(event_payload(seq)))
                for seq in range(start, min(start + LOAD_BATCH, count))
            ]
            outcomes = await accept.accept_batch(items, int(time.time() * 1000), 0)
            bad = [o.status for o in outcomes if o.status is not AcceptStatus.CREATED]
            if bad:
                raise SystemExit(f"accept_batch refused {len(bad)} messages: {bad[0]}")
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load", help="write a backlog through store.accept_batch")
    load.add_argument("--data-dir", type=Path, required=True)
    load.add_argument("--app", required=True)
    load.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    with (args.data_dir / "hookgate.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as serve does: no server running
        asyncio.run(_load(args.data_dir, args.app, args.count))


if __name__ == "__main__":
    main()
