"""The noisy-neighbours phase: healthy endpoints' delivery rate with and without
misbehaving endpoints in the same application.

Drains in the same run, each on a fresh data directory, alternating for
``rounds`` rounds: an application with ``HEALTHY`` endpoints on the fast
receiver, then the same plus as many misbehaving ones
(``benchmarks.misbehaving``: hang, slow drip, reset, 500, 10 MB answer, and a
port that refuses connections). Each drain builds a
backlog of ``n`` messages with ``serve --no-worker``, then starts ``serve``
with the worker and times the healthy deliveries (``n * HEALTHY``, counted by
the receiver, which only the healthy endpoints point at). The figure is the
ratio of the median healthy deliveries/s with the misbehaving half present to
the median alone.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import free_port, http_json
from benchmarks.phases import (
    STARTUP_TIMEOUT_S,
    Context,
    Server,
    closed_args,
    ok_count,
    profiled,
    receiver_reset,
    run_load,
    start_hookgate,
    wait_received,
)
from benchmarks.procs import PYTHON, PhaseError, clean_env, wait_http

HEALTHY = 6
#: Short, so that the hanging and dripping endpoints time out (and are retried)
#: during the drain instead of merely sitting on their connections.
REQUEST_TIMEOUT_S = "2"
SICK_PATHS = ("hang", "drip", "reset", "error", "huge")


@dataclass
class Drain:
    e2e_rps: float  # healthy deliveries / (worker spawn -> last healthy delivery)
    drain_rps: float  # healthy deliveries / (first -> last healthy delivery)


@dataclass
class NeighboursResult:
    n: int
    healthy: int
    sick: int
    alone: list[Drain]  # one per round
    with_sick: list[Drain]
    sick_requests: dict[str, int]

    @property
    def alone_rps(self) -> float:
        return statistics.median(d.e2e_rps for d in self.alone)

    @property
    def with_sick_rps(self) -> float:
        return statistics.median(d.e2e_rps for d in self.with_sick)

    @property
    def ratio(self) -> float:
        return self.with_sick_rps / self.alone_rps

    @property
    def round_ratios(self) -> list[float]:
        return [s.e2e_rps / a.e2e_rps for a, s in zip(self.alone, self.with_sick, strict=True)]

    @property
    def drain_ratio(self) -> float:
        sick = statistics.median(d.drain_rps for d in self.with_sick)
        return sick / statistics.median(d.drain_rps for d in self.alone)


def start_misbehaving(ctx: Context) -> str:
    """The misbehaving receivers as their own process; returns their base URL."""
    port = free_port()
    argv = [PYTHON, "-m", "benchmarks.misbehaving", "--port", str(port)]
    proc = ctx.procs.start("misbehaving", argv, clean_env())
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/stats", proc, STARTUP_TIMEOUT_S, what="misbehaving receivers")
    return base


def _create_endpoints(ctx: Context, server: Server, urls: list[str]) -> str:
    status, app = http_json(
        "POST", f"{server.base}/api/v1/app", {"name": "bench", "uid": "bench"}, token=ctx.token
    )
    if status not in (200, 201):
        raise PhaseError(f"creating the application answered {status}: {app}")
    for url in urls:
        status, endpoint = http_json(
            "POST", f"{server.base}/api/v1/app/{app['id']}/endpoint", {"url": url}, token=ctx.token
        )
        if status != 201:
            raise PhaseError(f"creating endpoint {url} answered {status}: {endpoint}")
    return str(app["id"])


#: Gives each drain a fresh database: a context yielding its URL (None: SQLite).
DatabaseFactory = Callable[[str], AbstractContextManager[str | None]]


def _sqlite(_: str) -> AbstractContextManager[str | None]:
    return nullcontext()


def _drain(ctx: Context, name: str, n: int, urls: list[str], database: DatabaseFactory) -> Drain:
    with database(name) as database_url:
        return _drain_on(ctx, name, n, urls, database_url)


def _drain_on(ctx: Context, name: str, n: int, urls: list[str], database_url: str | None) -> Drain:
    data_dir: Path = ctx.work_dir / f"{name}-data"
    settings = {"request_timeout": REQUEST_TIMEOUT_S, "database_url": database_url}
    server = start_hookgate(ctx, f"{name}-backlog", data_dir, worker=False, **settings)
    app_id = _create_endpoints(ctx, server, urls)
    msg_url = f"{server.base}/api/v1/app/{app_id}/msg"
    args = [*closed_args(msg_url, n, ctx.concurrency, "msg"), "--token", ctx.token]
    backlog = run_load(ctx, f"load-{name}", args, 300)
    if ok_count(backlog, "202") != n:
        raise PhaseError(f"building the backlog: {backlog['statuses']}")
    ctx.procs.stop(server.proc)

    receiver_reset(ctx)
    expected = n * HEALTHY
    server = start_hookgate(ctx, f"{name}-drain", data_dir, worker=True, **settings)
    with profiled(ctx, name, server.proc.pid):
        stats = wait_received(ctx, expected, timeout=240.0, proc=server.proc)
    ctx.procs.stop(server.proc)
    return Drain(
        e2e_rps=expected / (stats["last"] - server.started),
        drain_rps=expected / (stats["last"] - stats["first"]),
    )


def bench_neighbours(
    ctx: Context, n: int, rounds: int, database: DatabaseFactory = _sqlite
) -> NeighboursResult:
    healthy = [f"{ctx.receiver}/healthy-{i}" for i in range(HEALTHY)]
    sick_base = start_misbehaving(ctx)
    sick = [f"{sick_base}/{path}" for path in SICK_PATHS]
    sick.append(f"http://127.0.0.1:{free_port()}/refused")  # nothing listens there
    alone: list[Drain] = []
    with_sick: list[Drain] = []
    for index in range(rounds):
        alone.append(_drain(ctx, f"neighbours-alone-{index}", n, healthy, database))
        # Misbehaving endpoints first: they come first in every turn.
        urls = [*sick, *healthy]
        with_sick.append(_drain(ctx, f"neighbours-sick-{index}", n, urls, database))
    _, stats = http_json("GET", f"{sick_base}/stats")
    requests = stats.get("requests", {}) if isinstance(stats, dict) else {}
    return NeighboursResult(
        n=n,
        healthy=HEALTHY,
        sick=len(sick),
        alone=alone,
        with_sick=with_sick,
        sick_requests={k: int(v) for k, v in requests.items()},
    )
