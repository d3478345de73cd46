"""The Celery peer phase: end to end, create via HTTP + deliver, Hookgate vs Celery.

Both sides get the same load (``load.py``, closed loop, the same message-create
bodies over ``--concurrency`` keep-alive connections) over HTTP and deliver to
the same receiver (``receiver.py``); the figure is messages per second from the
load's first timed request to the receiver counting the last delivery.

- Hookgate: ``hookgate serve`` (API and worker in one process, SQLite),
  ``POST /api/v1/app/{app}/msg``.
- Celery: ``celery_peer.py``, a FastAPI app that enqueues a Celery task per
  request on Redis (127.0.0.1:6379, database ``REDIS_DB``, flushed before and
  after) and one ``celery worker`` (thread pool, ``CELERY_CONCURRENCY`` threads:
  the fastest of prefork 2/4, solo and threads 8/16/64 measured on the 2-core
  machine) whose task signs and posts with ``requests``.

Each side first gets ``warmup`` messages (delivered before the clock starts);
the sides alternate for ``rounds`` rounds and the medians are compared.
Skipped, saying why, when Celery or the Redis client is not installed (the
``bench`` extra) or Redis does not answer.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import secrets
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import free_port, mark
from benchmarks.phases import (
    STARTUP_TIMEOUT_S,
    Context,
    closed_args,
    create_app_and_endpoint,
    ok_count,
    profiled,
    receiver_reset,
    run_load,
    start_hookgate,
    wait_received,
)
from benchmarks.procs import PYTHON, PhaseError, PhaseSkipped, clean_env, cpu_seconds, wait_http

REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 11
CELERY_CONCURRENCY = 8
CELERY_TARGET = 10.0
REPO = Path(__file__).resolve().parent.parent


@dataclass
class E2eRun:
    """One side's timed run."""

    rps: float  # n / (first timed request sent -> last delivery received)
    accept_rps: float  # n / time the load generator took to get every 202
    cpu_ms: float  # CPU per message of the side's own processes over the run
    broker_cpu_ms: float = 0.0  # redis-server, Celery only


@dataclass
class CeleryResult:
    n: int
    warmup: int
    concurrency: int
    hookgate_runs: list[E2eRun]  # one per round
    celery_runs: list[E2eRun]

    @property
    def hookgate(self) -> E2eRun:
        return _median_run(self.hookgate_runs)

    @property
    def celery(self) -> E2eRun:
        return _median_run(self.celery_runs)

    @property
    def ratio(self) -> float:
        return self.hookgate.rps / self.celery.rps

    @property
    def round_ratios(self) -> list[float]:
        return [h.rps / c.rps for h, c in zip(self.hookgate_runs, self.celery_runs, strict=True)]


def _median_run(runs: list[E2eRun]) -> E2eRun:
    """Each figure's median over the rounds."""
    return E2eRun(
        rps=statistics.median(r.rps for r in runs),
        accept_rps=statistics.median(r.accept_rps for r in runs),
        cpu_ms=statistics.median(r.cpu_ms for r in runs),
        broker_cpu_ms=statistics.median(r.broker_cpu_ms for r in runs),
    )


def _redis_client() -> object:
    """A client on the dedicated database, or ``PhaseSkipped`` saying what is missing."""
    for module in ("celery", "redis"):
        if importlib.util.find_spec(module) is None:
            raise PhaseSkipped(
                f"{module} is not installed (pip install -e '.[bench]' into this venv)"
            )
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise PhaseSkipped(f"Redis at {REDIS_HOST}:{REDIS_PORT} does not answer ({exc})") from None
    return client


def _redis_cpu_seconds(client: object) -> float:
    """CPU used so far by the redis-server process (0 if it cannot be read)."""
    try:
        pid = int(client.info("server")["process_id"])  # type: ignore[attr-defined]
        return cpu_seconds(pid)
    except (OSError, KeyError, ValueError):
        return 0.0


def _timed(
    ctx: Context,
    name: str,
    url: str,
    n: int,
    warmup: int,
    watched: list[subprocess.Popen[bytes]],
    token: str | None,
) -> tuple[dict[str, Any], float, float]:
    """Warm up (delivered, then the receiver reset), then ``n`` timed messages until
    all are received. Returns (load result, e2e rate, CPU seconds of ``watched``)."""
    auth = ["--token", token] if token else []
    pids = [p.pid for p in watched]
    if warmup:
        warm = run_load(
            ctx, f"{name}-warmup", [*closed_args(url, warmup, ctx.concurrency, "msg"), *auth], 120
        )
        if ok_count(warm, "202") != warmup:
            raise PhaseError(f"{name} warm-up: {warm['statuses']}")
        wait_received(ctx, warmup, timeout=120.0, proc=watched)
    receiver_reset(ctx)
    cpu0 = sum(cpu_seconds(pid) for pid in pids)
    result = run_load(ctx, name, [*closed_args(url, n, ctx.concurrency, "msg"), *auth], 300)
    if ok_count(result, "202") != n:
        raise PhaseError(f"{name}: {result['statuses']}")
    stats = wait_received(ctx, n, timeout=300.0, proc=watched)
    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu0
    return result, n / (stats["last"] - float(result["started"])), cpu


def _hookgate(ctx: Context, n: int, warmup: int, index: int) -> E2eRun:
    server = start_hookgate(
        ctx,
        f"hookgate-e2e-{index}",
        ctx.work_dir / f"e2e-data-{index}",
        worker=True,
        endpoint_concurrency=str(ctx.concurrency),
    )
    app_id = create_app_and_endpoint(ctx, server, f"{ctx.receiver}/hook")
    url = f"{server.base}/api/v1/app/{app_id}/msg"
    with profiled(ctx, "e2e" if index == 0 else f"e2e-{index}", server.proc.pid):
        result, rps, cpu = _timed(
            ctx, f"load-e2e-{index}", url, n, warmup, [server.proc], ctx.token
        )
    ctx.procs.stop(server.proc)
    return E2eRun(rps=rps, accept_rps=float(result["rps"]), cpu_ms=cpu * 1000 / n)


def _celery(ctx: Context, n: int, warmup: int, client: object, index: int) -> E2eRun:
    client.flushdb()  # type: ignore[attr-defined]
    env = clean_env(
        CELERY_PEER_BROKER=f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
        CELERY_PEER_TARGET=f"{ctx.receiver}/hook",
        CELERY_PEER_SECRET="whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    worker_argv = [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "benchmarks.celery_peer",
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        str(CELERY_CONCURRENCY),
        "--loglevel",
        "warning",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    worker = ctx.procs.start(f"celery-worker-{index}", worker_argv, env)
    port = free_port()
    app = ctx.procs.start(
        f"celery-app-{index}", [PYTHON, "-m", "benchmarks.celery_peer", "--port", str(port)], env
    )
    wait_http(f"http://127.0.0.1:{port}/docs", app, STARTUP_TIMEOUT_S, what="celery enqueue app")
    url = f"http://127.0.0.1:{port}/api/v1/app/bench/msg"
    redis0 = _redis_cpu_seconds(client)
    try:
        result, rps, cpu = _timed(ctx, f"load-celery-{index}", url, n, warmup, [worker, app], None)
        redis_cpu = _redis_cpu_seconds(client) - redis0
    finally:
        ctx.procs.stop(app)
        ctx.procs.stop(worker)
        client.flushdb()  # type: ignore[attr-defined]
    return E2eRun(
        rps=rps,
        accept_rps=float(result["rps"]),
        cpu_ms=cpu * 1000 / n,
        broker_cpu_ms=redis_cpu * 1000 / (n + warmup),
    )


def report_celery(r: CeleryResult) -> list[str]:
    ok = r.ratio >= CELERY_TARGET
    h, c = r.hookgate, r.celery
    return [
        f"end to end vs Celery: hookgate {h.rps:,.0f}/s vs Celery + requests {c.rps:,.0f}/s "
        f"-> ratio {r.ratio:.1f} (target >= {CELERY_TARGET:g}) [{mark(ok)}]",
        f"    {r.n:,} messages each after {r.warmup:,} warm-up, load generator closed loop "
        f"over {r.concurrency} connections to the HTTP API (Celery: a FastAPI app that "
        f"enqueues), first request sent -> last delivery received by the same receiver; "
        f"median of {len(r.hookgate_runs)} alternating round(s), per-round ratios "
        f"{', '.join(f'{x:.1f}' for x in r.round_ratios)}",
        f"    accepted (every 202 answered): hookgate {h.accept_rps:,.0f}/s, Celery app "
        f"{c.accept_rps:,.0f}/s; Celery worker: thread pool, {CELERY_CONCURRENCY} threads, "
        f"Redis broker db {REDIS_DB}",
        f"    CPU per message: hookgate serve {h.cpu_ms:.3f} ms vs Celery app + worker "
        f"{c.cpu_ms:.3f} ms (+ redis-server {c.broker_cpu_ms:.3f} ms)",
    ]


def bench_celery(ctx: Context, n: int, warmup: int, rounds: int) -> CeleryResult:
    """Hookgate, then Celery, ``rounds`` times: each ``warmup`` + ``n`` messages
    end to end, fresh processes (and a fresh Hookgate data directory) each round."""
    client = _redis_client()
    ours: list[E2eRun] = []
    theirs: list[E2eRun] = []
    for index in range(rounds):
        ours.append(_hookgate(ctx, n, warmup, index))
        theirs.append(_celery(ctx, n, warmup, client, index))
    return CeleryResult(n, warmup, ctx.concurrency, ours, theirs)
