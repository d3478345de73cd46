"""``--postgres`` mode: the delivery figure on PostgreSQL with 1 and 2 worker processes.

For each worker count: a fresh database (``hookgate migrate``), a backlog built
through ``hookgate serve --no-worker``, the API stopped, then ``hookgate worker``
processes timed from spawn until the receiver counted the whole backlog. The raw
aiohttp baseline runs before, between and after the two drains; each drain is
compared with the mean of the two raw runs around it.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

from benchmarks.pg import backends_cpu, cpu_delta, fresh_database, url_of
from benchmarks.phases import (
    STARTUP_TIMEOUT_S,
    Context,
    RawRun,
    closed_args,
    create_app_and_endpoint,
    hookgate_command,
    hookgate_env,
    ok_count,
    profiled,
    raw_baseline,
    receiver_count,
    receiver_reset,
    run_load,
    start_hookgate,
    wait_received,
)
from benchmarks.procs import PhaseError, cpu_seconds

WORKER_COUNTS = (1, 2)


@dataclass(frozen=True)
class PgDatabase:
    name: str

    @property
    def url(self) -> str:
        return url_of(self.name)


@contextlib.contextmanager
def migrated_database(ctx: Context, label: str) -> Iterator[PgDatabase]:
    """A fresh database with Hookgate's schema (``hookgate migrate``); dropped afterwards."""
    with fresh_database() as name:
        db = PgDatabase(name)
        env = hookgate_env(ctx, {"database_url": db.url})
        ctx.procs.run(f"migrate-{label}", [*hookgate_command(), "migrate"], 120, env)
        yield db


@dataclass
class DrainRun:
    workers: int
    first_delivery_s: float  # first worker spawned -> first request received
    e2e_rps: float  # first worker spawned -> last request received
    drain_rps: float  # first -> last request received
    received: int
    extra_received: int
    worker_cpu_ms: float  # all workers, first -> last delivery, per delivery
    worker_cores: float
    postgres_cpu_ms: float  # this database's backends over the same window


@dataclass
class PgDrain:
    run: DrainRun
    backlog_accept_rps: float
    raws: tuple[RawRun, RawRun]  # the raw runs just before and just after this drain

    @property
    def raw_e2e_rps(self) -> float:
        return statistics.mean(r.e2e_rps for r in self.raws)

    @property
    def raw_drain_rps(self) -> float:
        return statistics.mean(r.drain_rps for r in self.raws)

    @property
    def raw_cpu_ms(self) -> float:
        return statistics.mean(r.cpu_ms for r in self.raws)

    @property
    def ratio(self) -> float:
        return self.run.e2e_rps / self.raw_e2e_rps

    @property
    def drain_ratio(self) -> float:
        return self.run.drain_rps / self.raw_drain_rps


@dataclass
class PgDeliveryResult:
    n: int
    concurrency: int
    raw_e2e_each: list[float]  # before, between, after
    drains: list[PgDrain]


def _build_backlog(ctx: Context, db: PgDatabase, n: int, label: str) -> float:
    """``n`` messages accepted by ``serve --no-worker`` (stopped afterwards); returns req/s."""
    server = start_hookgate(
        ctx,
        f"hookgate-pg-backlog-{label}",
        ctx.work_dir / "pg-unused",
        worker=False,
        database_url=db.url,
        endpoint_concurrency=str(ctx.concurrency),
    )
    app_id = create_app_and_endpoint(ctx, server, f"{ctx.receiver}/hook")
    url = f"{server.base}/api/v1/app/{app_id}/msg"
    args = [*closed_args(url, n, ctx.concurrency, "msg"), "--token", ctx.token]
    backlog = run_load(ctx, f"load-pg-backlog-{label}", args, 300)
    ctx.procs.stop(server.proc)
    if ok_count(backlog, "202") != n:
        raise PhaseError(f"building the PostgreSQL backlog: {backlog['statuses']}")
    return float(backlog["rps"])


def _drain(ctx: Context, db: PgDatabase, n: int, workers: int) -> DrainRun:
    """Spawn ``workers`` ``hookgate worker`` processes and time them draining ``n``."""
    # The endpoint cap is enforced across workers: the same total as the raw client.
    env = hookgate_env(ctx, {"database_url": db.url, "endpoint_concurrency": str(ctx.concurrency)})
    receiver_reset(ctx)
    started = time.time()
    procs: list[subprocess.Popen[bytes]] = [
        ctx.procs.start(f"hookgate-pg-worker-{workers}-{i}", [*hookgate_command(), "worker"], env)
        for i in range(workers)
    ]
    try:
        # CPU is counted from the first delivery on (process start-up is not delivery work).
        first = wait_received(ctx, 1, timeout=STARTUP_TIMEOUT_S, proc=procs)
        cpu0 = sum(cpu_seconds(p.pid) for p in procs)
        pg0 = backends_cpu(db.name)
        t0, done0 = time.time(), int(first["count"])
        with profiled(ctx, f"delivery-pg-{workers}w", procs[0].pid):
            stats = wait_received(ctx, n, timeout=240.0, proc=procs)
        cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu0
        pg_cpu = cpu_delta(pg0, backends_cpu(db.name))
        time.sleep(1.0)  # anything beyond n would be a duplicate delivery
        extra = receiver_count(ctx)["count"] - n
    finally:
        for proc in procs:
            ctx.procs.stop(proc)
    measured = max(n - done0, 1)
    return DrainRun(
        workers=workers,
        first_delivery_s=stats["first"] - started,
        e2e_rps=n / (stats["last"] - started),
        drain_rps=n / (stats["last"] - stats["first"]),
        received=int(stats["count"]),
        extra_received=extra,
        worker_cpu_ms=cpu * 1000 / measured,
        worker_cores=cpu / max(stats["last"] - t0, 1e-9),
        postgres_cpu_ms=pg_cpu * 1000 / measured,
    )


def bench_delivery_pg(ctx: Context, n: int) -> PgDeliveryResult:
    raws = [raw_baseline(ctx, n, "load-raw-pg-0")]
    drains: list[PgDrain] = []
    for workers in WORKER_COUNTS:
        with migrated_database(ctx, f"delivery-{workers}w") as db:
            accept_rps = _build_backlog(ctx, db, n, f"{workers}w")
            run = _drain(ctx, db, n, workers)
        raws.append(raw_baseline(ctx, n, f"load-raw-pg-{len(raws)}"))
        drains.append(PgDrain(run, accept_rps, (raws[-2], raws[-1])))
    return PgDeliveryResult(
        n=n,
        concurrency=ctx.concurrency,
        raw_e2e_each=[r.e2e_rps for r in raws],
        drains=drains,
    )
