"""Hookgate benchmarks: delivery throughput, accept throughput, end-to-end latency.

Each figure is printed next to a baseline measured in the same run on the same
machine (absolute numbers on a shared machine lie; ratios hold):

(a) delivery: draining a backlog of accepted messages to a fast local receiver,
    vs a raw aiohttp client posting equivalent requests with the same concurrency;
(b) accept: durable message-create requests/s vs a do-nothing FastAPI endpoint
    served with the same uvicorn options;
(b') inbound: verified + stored + acked provider requests/s (signed GitHub pushes
    to ``/in/{source}``) vs a do-nothing FastAPI endpoint reading the same requests;
(c) latency: accept -> received p50/p99 at a steady open-loop rate.

With ``--postgres`` the figures are taken on PostgreSQL (127.0.0.1:5432, one fresh
database per measurement, always dropped): delivery by 1 and 2 ``hookgate worker``
processes, accept and latency through ``hookgate serve`` on that database.

Run from the repository root: ``.venv/bin/python -m benchmarks.run [--quick] [--postgres]``.
Every child process is stopped on exit; every phase has a timeout.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from benchmarks.backlog import LARGE, bench_backlog, report_backlog
from benchmarks.common import mark
from benchmarks.neighbours import NeighboursResult, bench_neighbours
from benchmarks.peers_celery import bench_celery, report_celery
from benchmarks.peers_webhook import bench_webhook, report_webhook
from benchmarks.pg_phases import PgDatabase, PgDeliveryResult, bench_delivery_pg, migrated_database
from benchmarks.phases import (
    AcceptResult,
    Context,
    DeliveryResult,
    InboundResult,
    LatencyResult,
    bench_accept,
    bench_delivery,
    bench_inbound,
    bench_latency,
    start_receiver,
)
from benchmarks.procs import PhaseError, PhaseSkipped, Procs, cpu_pressure_us
from benchmarks.soak import SOAK_RATE, SOAK_SECONDS, bench_soak, report_soak

DELIVERY_TARGET = 0.7
ACCEPT_TARGET = 0.7
INBOUND_TARGET = 0.7
LATENCY_P99_TARGET_MS = 50.0
NEIGHBOURS_TARGET = 0.9
PHASES = ("delivery", "accept", "inbound", "latency", "neighbours", "celery", "webhook")
PEERS = ("celery", "webhook")  # Hookgate on SQLite whatever --postgres says
OPT_IN = ("backlog-1m", "soak")  # only with their flag or --only


@dataclass(frozen=True)
class Plan:
    delivery_messages: int
    accept_requests: int
    accept_warmup: int
    accept_rounds: int
    latency_rate: float
    latency_seconds: float
    latency_warmup_s: float
    pg_delivery_messages: int  # per worker count, --postgres
    inbound_requests: int
    inbound_warmup: int
    inbound_rounds: int
    neighbours_messages: int
    neighbours_rounds: int
    celery_messages: int = 5_000  # each side, after celery_warmup
    celery_warmup: int = 500
    celery_rounds: int = 2
    webhook_seconds: float = 5.0  # per round of each server
    webhook_rounds: int = 3


FULL = Plan(20_000, 10_000, 1_000, 3, 500.0, 10.0, 1.0, 20_000, 2_500, 250, 3, 5_000, 3)
QUICK = Plan(
    20_000, 2_000, 300, 1, 500.0, 3.0, 0.5, 5_000, 1_500, 300, 1, 2_000, 2,
    celery_messages=2_000, celery_warmup=200, celery_rounds=1,
    webhook_seconds=3.0, webhook_rounds=2,
)  # fmt: skip
_mark = mark


def report_delivery(r: DeliveryResult) -> list[str]:
    ok = r.ratio >= DELIVERY_TARGET
    before, after = r.raw_e2e_each
    return [
        f"delivery: hookgate {r.hookgate_e2e_rps:,.0f}/s vs raw aiohttp {r.raw_e2e_rps:,.0f}/s "
        f"-> ratio {r.ratio:.2f} (target >= {DELIVERY_TARGET}) [{_mark(ok)}]",
        f"    {r.n:,} messages, concurrency {r.concurrency}; end to end (process start -> last "
        f"request received, nothing subtracted); raw = mean of runs before/after "
        f"({before:,.0f}/s, {after:,.0f}/s)",
        f"    drain only (first -> last request at the receiver): hookgate "
        f"{r.hookgate_drain_rps:,.0f}/s vs raw {r.raw_drain_rps:,.0f}/s -> ratio "
        f"{r.drain_ratio:.2f}",
        f"    hookgate startup (spawn -> /health/ping) {r.startup_s:.2f} s, spawn -> first "
        f"delivery {r.first_delivery_s:.2f} s; received {r.received:,} "
        f"(+{r.extra_received} duplicates); backlog accepted at {r.backlog_accept_rps:,.0f}/s",
        f"    CPU per request: hookgate {r.hookgate_cpu_ms:.3f} ms "
        f"({r.hookgate_cores:.2f} cores while draining) vs raw client {r.raw_client_cpu_ms:.3f} ms",
    ]


def report_delivery_pg(r: PgDeliveryResult) -> list[str]:
    lines: list[str] = []
    for d in r.drains:
        run = d.run
        plural = "" if run.workers == 1 else "s"
        before, after = (x.e2e_rps for x in d.raws)
        lines += [
            f"delivery (PostgreSQL, {run.workers} worker{plural}): hookgate "
            f"{run.e2e_rps:,.0f}/s vs raw aiohttp {d.raw_e2e_rps:,.0f}/s -> ratio {d.ratio:.2f} "
            f"(target >= {DELIVERY_TARGET}) [{_mark(d.ratio >= DELIVERY_TARGET)}]",
            f"    drain only: {run.drain_rps:,.0f}/s vs raw {d.raw_drain_rps:,.0f}/s -> ratio "
            f"{d.drain_ratio:.2f}; raw before/after {before:,.0f}/s, {after:,.0f}/s; spawn -> "
            f"first delivery {run.first_delivery_s:.2f} s; received {run.received:,} "
            f"(+{run.extra_received} duplicates); backlog accepted at "
            f"{d.backlog_accept_rps:,.0f}/s",
            f"    CPU per delivery: hookgate workers {run.worker_cpu_ms:.3f} ms "
            f"({run.worker_cores:.2f} cores while draining) + PostgreSQL backends "
            f"{run.postgres_cpu_ms:.3f} ms vs raw client {d.raw_cpu_ms:.3f} ms",
        ]
    lines.append(
        f"    {r.n:,} messages per run, one fresh database per run, total endpoint cap "
        f"{r.concurrency} = raw client concurrency; end to end = first worker spawned -> last "
        "request received; CPU from first to last delivery"
    )
    return lines


def report_accept(r: AcceptResult, where: str = "") -> list[str]:
    ok = r.ratio >= ACCEPT_TARGET
    rounds = len(r.hookgate_rps)
    per_round = ", ".join(f"{x:.2f}" for x in r.round_ratios)
    return [
        f"accept{where}: hookgate {r.hookgate:,.0f}/s vs no-op FastAPI {r.noop:,.0f}/s "
        f"-> ratio {r.ratio:.2f} (target >= {ACCEPT_TARGET}) [{_mark(ok)}]",
        f"    {r.n:,} POST /api/v1/app/{{app}}/msg per round after {r.warmup:,} warm-up, "
        f"{r.concurrency} keep-alive connections, 1 endpoint (fan-out), server --no-worker; "
        f"median of {rounds} alternating round(s), per-round ratios {per_round}",
        f"    server CPU per request: hookgate {r.hookgate_cpu_ms:.3f} ms vs no-op "
        f"{r.noop_cpu_ms:.3f} ms; load generator used {r.load_cores_vs_noop:.2f} cores "
        "driving the no-op app",
    ]


def report_inbound(r: InboundResult, where: str = "") -> list[str]:
    ok = r.ratio >= INBOUND_TARGET
    rounds = len(r.hookgate_rps)
    per_round = ", ".join(f"{x:.2f}" for x in r.round_ratios)
    forward_per_round = ", ".join(f"{x:.2f}" for x in r.forward_round_ratios)
    stored = sum(r.stored.requests.values())
    return [
        f"inbound{where}: hookgate {r.hookgate:,.0f}/s vs no-op FastAPI {r.noop:,.0f}/s "
        f"-> ratio {r.ratio:.2f} (target >= {INBOUND_TARGET}) [{_mark(ok)}]",
        f"    {r.n:,} POST /in/{{source}} per round after {r.warmup:,} warm-up: GitHub push, "
        f"{r.body_bytes:,}-byte body, X-Hub-Signature-256 verified, unique X-GitHub-Delivery; "
        f"{r.concurrency} keep-alive connections, source without destinations, server "
        f"--no-worker; median of {rounds} alternating round(s), per-round ratios {per_round}",
        f"    with 1 destination (each request also enqueues a message): hookgate "
        f"{r.forward:,.0f}/s -> ratio {r.forward_ratio:.2f}; per-round ratios "
        f"{forward_per_round}",
        f"    server CPU per request: hookgate {r.hookgate_cpu_ms:.3f} ms "
        f"({r.forward_cpu_ms:.3f} ms forwarding) vs no-op {r.noop_cpu_ms:.3f} ms; load "
        f"generator used {r.load_cores_vs_noop:.2f} cores driving the no-op app",
        f"    checked: every answer 200; {stored:,} requests stored, all verified and "
        f"accepted (no duplicate); {r.stored.messages:,} messages enqueued",
    ]


def report_latency(r: LatencyResult, where: str = "") -> list[str]:
    ok = r.p99_ms <= LATENCY_P99_TARGET_MS and r.received == r.sent
    return [
        f"latency{where} @{r.rate:,.0f}/s: p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, "
        f"max {r.max_ms:.1f} ms (target p99 <= {LATENCY_P99_TARGET_MS:.0f} ms) [{_mark(ok)}]",
        f"    {r.duration:g} s open loop: sent {r.sent:,}, accepted {r.accepted:,}, "
        f"received {r.received:,}; accept response p50 {r.accept_p50_ms:.1f} ms, "
        f"p99 {r.accept_p99_ms:.1f} ms; sender max lag {r.max_schedule_lag_ms:.1f} ms",
        f"    hookgate used {r.hookgate_cores:.2f} cores = "
        f"{r.hookgate_cores / r.rate * 1000:.2f} ms CPU per message (accept + delivery)",
    ]


def report_neighbours(r: NeighboursResult, where: str = "") -> list[str]:
    ok = r.ratio >= NEIGHBOURS_TARGET
    tried = ", ".join(f"{k} {v:,}" for k, v in sorted(r.sick_requests.items()))
    per_round = ", ".join(f"{x:.2f}" for x in r.round_ratios)
    return [
        f"neighbours{where}: healthy endpoints {r.with_sick_rps:,.0f} deliveries/s with "
        f"{r.sick} misbehaving neighbours vs {r.alone_rps:,.0f}/s alone -> ratio "
        f"{r.ratio:.2f} (target >= {NEIGHBOURS_TARGET}) [{_mark(ok)}]",
        f"    {r.n:,} messages to {r.healthy} healthy endpoints (+ hang, slow drip, reset, 500, "
        f"10 MB answer, refused); backlog drained by serve, spawn -> last healthy delivery; "
        f"median of {len(r.alone)} alternating round(s), per-round ratios {per_round}; "
        f"drain only (first -> last) ratio {r.drain_ratio:.2f}",
        f"    requests the misbehaving receivers got: {tried or 'none'}",
    ]


class Pressure:
    """Share of wall time some task waited for a CPU (Linux PSI), as a noise gauge."""

    def __init__(self) -> None:
        self._start = cpu_pressure_us()
        self._t0 = time.monotonic()

    def line(self) -> str | None:
        end = cpu_pressure_us()
        if self._start is None or end is None:
            return None
        share = (end - self._start) / 1e6 / max(time.monotonic() - self._t0, 1e-9)
        return f"    machine: CPU pressure {share:.0%} (tasks waiting for a CPU; ours included)"


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks below


def _database(
    ctx: Context, postgres: bool, phase: str
) -> AbstractContextManager[PgDatabase | None]:
    """A fresh migrated PostgreSQL database for ``phase`` (``--postgres``), else SQLite."""
    return migrated_database(ctx, phase) if postgres else nullcontext()


@contextmanager
def _pg_url(database: AbstractContextManager[PgDatabase]) -> Iterator[str | None]:
    with database as db:
        yield db.url


def _phase_runner(
    ctx: Context, plan: Plan, phase: str, args: argparse.Namespace
) -> Callable[[], list[str]]:
    postgres: bool = args.postgres
    where = " (PostgreSQL)" if postgres else ""
    if phase == "backlog-1m":
        return lambda: report_backlog(bench_backlog(ctx, args.backlog_messages))
    if phase == "soak":
        return lambda: report_soak(bench_soak(ctx, args.soak_seconds, args.soak_rate))
    if phase == "delivery" and postgres:
        return lambda: report_delivery_pg(bench_delivery_pg(ctx, plan.pg_delivery_messages))
    if phase == "delivery":
        return lambda: report_delivery(bench_delivery(ctx, plan.delivery_messages))
    if phase == "celery":
        sizes = (plan.celery_messages, plan.celery_warmup, plan.celery_rounds)
        return lambda: report_celery(bench_celery(ctx, *sizes))
    if phase == "webhook":
        return lambda: report_webhook(bench_webhook(ctx, plan.webhook_seconds, plan.webhook_rounds))
    if phase == "neighbours":
        n, rounds = plan.neighbours_messages, plan.neighbours_rounds

        def fresh_pg(label: str) -> AbstractContextManager[str | None]:
            return _pg_url(migrated_database(ctx, label))

        if postgres:
            return lambda: report_neighbours(bench_neighbours(ctx, n, rounds, fresh_pg), where)
        return lambda: report_neighbours(bench_neighbours(ctx, n, rounds), where)

    def on_database(
        bench: Callable[..., Any], args: tuple[Any, ...], report: Callable[[Any, str], list[str]]
    ) -> Callable[[], list[str]]:
        """Run ``bench(ctx, *args)`` on a database of its own and report it."""

        def run() -> list[str]:
            with _database(ctx, postgres, phase) as db:
                result = bench(ctx, *args, database_url=db.url if db else None)
            return report(result, where)

        return run

    if phase == "accept":
        sizes = (plan.accept_requests, plan.accept_warmup, plan.accept_rounds)
        return on_database(bench_accept, sizes, report_accept)
    if phase == "inbound":
        sizes = (plan.inbound_requests, plan.inbound_warmup, plan.inbound_rounds)
        return on_database(bench_inbound, sizes, report_inbound)
    latency = (plan.latency_rate, plan.latency_seconds, plan.latency_warmup_s)
    return on_database(bench_latency, latency, report_latency)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts, shorter runs")
    parser.add_argument(
        "--only", choices=PHASES + OPT_IN, action="append", help="run only this phase (repeatable)"
    )
    parser.add_argument(
        "--backlog-1m",
        action="store_true",
        help="also drain a 1,000,000-message backlog vs a 10,000 one (~8 min)",
    )
    parser.add_argument(
        "--backlog-messages", type=int, default=LARGE, help="the large backlog's size (smoke runs)"
    )
    parser.add_argument(
        "--soak", action="store_true", help="also hold a steady rate and watch the server's RSS"
    )
    parser.add_argument("--soak-seconds", type=float, default=SOAK_SECONDS)
    parser.add_argument("--soak-rate", type=float, default=SOAK_RATE, help="messages/s")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="measure on PostgreSQL at 127.0.0.1:5432 (fresh hg_bench_* databases, dropped)",
    )
    parser.add_argument(
        "--profile", type=Path, help="write py-spy samples (collapsed stacks) of the server here"
    )
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    phases = args.only or [p for p in PHASES if not (args.postgres and p in PEERS)]
    flags = zip(OPT_IN, (args.backlog_1m, args.soak), strict=True)
    phases += [p for p, on in flags if on and p not in phases]
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)  # also when started with SIGINT ignored

    work_dir = Path(tempfile.mkdtemp(prefix="hookgate-bench-"))
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    failed = False
    completed = False
    began = time.monotonic()
    try:
        with Procs(work_dir) as procs:
            ctx = Context(
                procs=procs,
                work_dir=work_dir,
                receiver_port=start_receiver(procs),
                concurrency=args.concurrency,
                profile_dir=args.profile,
            )
            for phase in phases:
                print(f"[bench] {phase} ...", file=sys.stderr, flush=True)
                pressure = Pressure()
                try:
                    lines += _phase_runner(ctx, plan, phase, args)()
                except PhaseSkipped as exc:
                    lines.append(f"{phase}: skipped: {exc}")
                except PhaseError as exc:
                    failed = True
                    lines.append(f"{phase}: FAILED: {exc} (logs: {work_dir})")
                    procs.close()
                    ctx.receiver_port = start_receiver(procs)
                noise = pressure.line()
                if noise:
                    lines.append(noise)
        completed = True
    finally:
        if completed and not failed:
            shutil.rmtree(work_dir, ignore_errors=True)
        else:
            print(f"[bench] logs kept in {work_dir}", file=sys.stderr)
    mode = ("quick" if args.quick else "full") + (", PostgreSQL" if args.postgres else "")
    print(f"\nHookgate benchmark ({mode}, {time.monotonic() - began:.0f} s)")
    for line in lines:
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
