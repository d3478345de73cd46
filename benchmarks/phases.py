"""The three measured phases: delivery, accept and latency.

Each phase starts its own servers (fresh data directories), measures, and stops
them before returning; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import signal
import statistics
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import free_port, http_json
from benchmarks.procs import PYTHON, PhaseError, Procs, clean_env, cpu_seconds, wait_http

STARTUP_TIMEOUT_S = 30.0


@dataclass
class Context:
    procs: Procs
    work_dir: Path
    receiver_port: int
    concurrency: int = 64
    profile_dir: Path | None = None
    token: str = field(default_factory=lambda: "hg_bench_" + secrets.token_urlsafe(24))

    @property
    def receiver(self) -> str:
        return f"http://127.0.0.1:{self.receiver_port}"


# -- receiver ------------------------------------------------------------------


def start_receiver(procs: Procs) -> int:
    port = free_port()
    proc = procs.start("receiver", [PYTHON, "-m", "benchmarks.receiver", "--port", str(port)])
    wait_http(f"http://127.0.0.1:{port}/count", proc, STARTUP_TIMEOUT_S, what="receiver")
    return port


def receiver_reset(ctx: Context) -> None:
    http_json("POST", f"{ctx.receiver}/reset")


def receiver_count(ctx: Context) -> dict[str, Any]:
    _, body = http_json("GET", f"{ctx.receiver}/count")
    assert isinstance(body, dict)
    return body


def wait_received(
    ctx: Context,
    n: int,
    timeout: float,
    proc: subprocess.Popen[bytes] | Sequence[subprocess.Popen[bytes]],
) -> dict[str, Any]:
    """Poll the receiver until it counted ``n`` requests (or fail after ``timeout``,
    or as soon as one of the delivering processes ``proc`` exits)."""
    watched = [proc] if isinstance(proc, subprocess.Popen) else list(proc)
    deadline = time.monotonic() + timeout
    while True:
        stats = receiver_count(ctx)
        if stats["count"] >= n:
            return stats
        for child in watched:
            if child.poll() is not None:
                raise PhaseError(
                    f"hookgate exited with {child.returncode} after {stats['count']}/{n}"
                )
        if time.monotonic() > deadline:
            raise PhaseError(f"receiver got {stats['count']}/{n} within {timeout:.0f} s")
        time.sleep(0.02)


# -- hookgate ------------------------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    started: float  # time.time() just before the process was spawned
    ready: float  # time.time() when /api/v1/health/ping first answered

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def startup_s(self) -> float:
        return self.ready - self.started


def hookgate_command() -> list[str]:
    hookgate = Path(PYTHON).parent / "hookgate"
    return [str(hookgate)] if hookgate.exists() else [PYTHON, "-m", "hookgate.cli.main"]


def hookgate_env(ctx: Context, settings: dict[str, str | None]) -> dict[str, str]:
    """A child's environment with ``HOOKGATE_<KEY>`` for each setting that is not None."""
    return clean_env(
        HOOKGATE_ADMIN_TOKEN=ctx.token,
        HOOKGATE_ALLOWED_SUBNETS="127.0.0.0/8",
        **{f"HOOKGATE_{k.upper()}": v for k, v in settings.items() if v is not None},
    )


def start_hookgate(
    ctx: Context, name: str, data_dir: Path, *, worker: bool, **settings: str | None
) -> Server:
    """``hookgate serve`` with ``HOOKGATE_<KEY>=value`` for each setting that is not None
    (e.g. ``database_url=...`` for PostgreSQL; then ``data_dir`` is unused)."""
    port = free_port()
    env = hookgate_env(ctx, settings)
    argv = [
        *hookgate_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--worker" if worker else "--no-worker",
    ]
    started = time.time()
    proc = ctx.procs.start(name, argv, env)
    ready = wait_http(
        f"http://127.0.0.1:{port}/api/v1/health/ping", proc, STARTUP_TIMEOUT_S, what=name
    )
    return Server(proc, port, started, ready)


def create_app_and_endpoint(ctx: Context, server: Server, endpoint_url: str) -> str:
    status, app = http_json(
        "POST", f"{server.base}/api/v1/app", {"name": "bench", "uid": "bench"}, token=ctx.token
    )
    if status not in (200, 201):
        raise PhaseError(f"creating the application answered {status}: {app}")
    status, endpoint = http_json(
        "POST",
        f"{server.base}/api/v1/app/{app['id']}/endpoint",
        {"url": endpoint_url, "description": "benchmark receiver"},
        token=ctx.token,
    )
    if status != 201:
        raise PhaseError(f"creating the endpoint answered {status}: {endpoint}")
    return str(app["id"])


def run_load(ctx: Context, name: str, args: list[str], timeout: float) -> dict[str, Any]:
    out = ctx.procs.run(name, [PYTHON, "-m", "benchmarks.load", *args], timeout)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def closed_args(url: str, count: int, concurrency: int, kind: str, warmup: int = 0) -> list[str]:
    return [
        "closed",
        "--url",
        url,
        "--count",
        str(count),
        "--concurrency",
        str(concurrency),
        "--kind",
        kind,
        "--warmup",
        str(warmup),
    ]


def ok_count(result: dict[str, Any], ok: str) -> int:
    return int(result["statuses"].get(ok, 0))


@contextlib.contextmanager
def profiled(ctx: Context, name: str, pid: int) -> Iterator[None]:
    """Record py-spy samples of ``pid`` (collapsed stacks, one file per phase)
    while the block runs (``--profile``)."""
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    if ctx.profile_dir is None or not Path(spy).exists():
        yield
        return
    out = ctx.profile_dir / f"{name}.folded"  # collapsed stacks: speedscope, flamegraph.pl
    argv = [spy, "record", "--pid", str(pid), "--threads", "--format", "raw", "-o", str(out)]
    proc = ctx.procs.start(f"py-spy-{name}", argv)
    try:
        yield
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # py-spy writes the file on SIGINT
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30.0)
        ctx.procs.stop(proc)


# -- (a) delivery --------------------------------------------------------------


@dataclass
class DeliveryResult:
    n: int
    concurrency: int
    raw_e2e_rps: float  # mean of the runs before and after Hookgate
    raw_drain_rps: float
    raw_e2e_each: tuple[float, float]
    backlog_accept_rps: float
    startup_s: float
    first_delivery_s: float
    hookgate_e2e_rps: float
    hookgate_drain_rps: float
    received: int
    extra_received: int
    raw_client_cpu_ms: float  # CPU per request of the raw client process
    hookgate_cpu_ms: float  # CPU per delivery of the hookgate process (ready -> done)
    hookgate_cores: float  # hookgate CPU / wall time over the same window

    @property
    def ratio(self) -> float:
        return self.hookgate_e2e_rps / self.raw_e2e_rps

    @property
    def drain_ratio(self) -> float:
        return self.hookgate_drain_rps / self.raw_drain_rps


@dataclass
class RawRun:
    e2e_rps: float
    drain_rps: float
    cpu_ms: float


def raw_baseline(ctx: Context, n: int, name: str) -> RawRun:
    receiver_reset(ctx)
    started = time.time()
    args = closed_args(f"{ctx.receiver}/hook", n, ctx.concurrency, "raw")
    raw = run_load(ctx, name, args, timeout=180)
    if ok_count(raw, "200") != n:
        raise PhaseError(f"raw client: {raw['statuses']}")
    stats = receiver_count(ctx)
    return RawRun(
        e2e_rps=n / (stats["last"] - started),
        drain_rps=n / (stats["last"] - stats["first"]),
        cpu_ms=float(raw["cpu_s"]) * 1000 / n,
    )


def bench_delivery(ctx: Context, n: int) -> DeliveryResult:
    c = ctx.concurrency
    hook_url = f"{ctx.receiver}/hook"

    # Baseline: a raw aiohttp client, same bodies, same header count, same concurrency.
    # Measured before and after Hookgate so that drift on a shared machine shows.
    raw_before = raw_baseline(ctx, n, "load-raw-before")

    # Build the backlog with a server that does not deliver.
    data_dir = ctx.work_dir / "delivery-data"
    settings = {"endpoint_concurrency": str(c)}
    server = start_hookgate(ctx, "hookgate-backlog", data_dir, worker=False, **settings)
    app_id = create_app_and_endpoint(ctx, server, hook_url)
    msg_url = f"{server.base}/api/v1/app/{app_id}/msg"
    backlog = run_load(
        ctx, "load-backlog", [*closed_args(msg_url, n, c, "msg"), "--token", ctx.token], 300
    )
    if ok_count(backlog, "202") != n:
        raise PhaseError(f"building the backlog: {backlog['statuses']}")
    ctx.procs.stop(server.proc)

    # Drain it: from process start until the receiver has counted n.
    receiver_reset(ctx)
    server = start_hookgate(ctx, "hookgate-drain", data_dir, worker=True, **settings)
    cpu0, t0 = cpu_seconds(server.proc.pid), time.time()
    with profiled(ctx, "delivery", server.proc.pid):
        stats = wait_received(ctx, n, timeout=240.0, proc=server.proc)
    cpu = cpu_seconds(server.proc.pid) - cpu0
    time.sleep(1.0)  # anything beyond n would be a duplicate delivery
    extra = receiver_count(ctx)["count"] - n
    ctx.procs.stop(server.proc)
    raw_after = raw_baseline(ctx, n, "load-raw-after")
    return DeliveryResult(
        n=n,
        concurrency=c,
        raw_e2e_rps=statistics.mean([raw_before.e2e_rps, raw_after.e2e_rps]),
        raw_drain_rps=statistics.mean([raw_before.drain_rps, raw_after.drain_rps]),
        raw_e2e_each=(raw_before.e2e_rps, raw_after.e2e_rps),
        backlog_accept_rps=float(backlog["rps"]),
        startup_s=server.startup_s,
        first_delivery_s=stats["first"] - server.started,
        hookgate_e2e_rps=n / (stats["last"] - server.started),
        hookgate_drain_rps=n / (stats["last"] - stats["first"]),
        received=int(stats["count"]),
        extra_received=extra,
        raw_client_cpu_ms=statistics.mean([raw_before.cpu_ms, raw_after.cpu_ms]),
        hookgate_cpu_ms=cpu * 1000 / n,
        hookgate_cores=cpu / max(stats["last"] - t0, 1e-9),
    )


# -- (b) accept ------------------------------------------------------------------


@dataclass
class AcceptResult:
    n: int
    concurrency: int
    warmup: int
    hookgate_rps: list[float]  # one per round
    noop_rps: list[float]
    hookgate_cpu_ms: float  # server CPU per request (warm-ups included), all rounds
    noop_cpu_ms: float
    load_cores_vs_noop: float  # load generator CPU / wall time while driving the no-op app

    @property
    def hookgate(self) -> float:
        return statistics.median(self.hookgate_rps)

    @property
    def noop(self) -> float:
        return statistics.median(self.noop_rps)

    @property
    def ratio(self) -> float:
        return self.hookgate / self.noop

    @property
    def round_ratios(self) -> list[float]:
        return [h / b for h, b in zip(self.hookgate_rps, self.noop_rps, strict=True)]


@dataclass
class _Load:
    rps: float
    server_cpu_s: float
    load_cores: float


def _drive(ctx: Context, name: str, pid: int, url: str, n: int, warmup: int) -> _Load:
    args = [*closed_args(url, n, ctx.concurrency, "msg", warmup), "--token", ctx.token]
    cpu0 = cpu_seconds(pid)
    result = run_load(ctx, name, args, 300)
    cpu = cpu_seconds(pid) - cpu0
    if ok_count(result, "202") != n:
        raise PhaseError(f"{name}: {result['statuses']}")
    return _Load(float(result["rps"]), cpu, float(result["cpu_s"]) / float(result["elapsed"]))


def bench_accept(
    ctx: Context, n: int, warmup: int, rounds: int, database_url: str | None = None
) -> AcceptResult:
    """Alternate the no-op app and Hookgate ``rounds`` times under identical load
    (both servers stay up; only the one being measured gets requests)."""
    port = free_port()
    noop = ctx.procs.start(
        "noop-app", [PYTHON, "-m", "benchmarks.noop_app", "--port", str(port)], clean_env()
    )
    wait_http(f"http://127.0.0.1:{port}/docs", noop, STARTUP_TIMEOUT_S, what="noop app")
    noop_url = f"http://127.0.0.1:{port}/api/v1/app/bench/msg"
    server = start_hookgate(
        ctx,
        "hookgate-accept",
        ctx.work_dir / "accept-data",
        worker=False,
        database_url=database_url,
    )
    app_id = create_app_and_endpoint(ctx, server, f"{ctx.receiver}/hook")
    url = f"{server.base}/api/v1/app/{app_id}/msg"

    noop_runs: list[_Load] = []
    hookgate_runs: list[_Load] = []
    for index in range(rounds):
        noop_runs.append(_drive(ctx, f"load-noop-{index}", noop.pid, noop_url, n, warmup))
        with profiled(ctx, "accept" if index == 0 else f"accept-{index}", server.proc.pid):
            hookgate_runs.append(
                _drive(ctx, f"load-accept-{index}", server.proc.pid, url, n, warmup)
            )
    ctx.procs.stop(noop)
    ctx.procs.stop(server.proc)
    requests = rounds * (n + warmup)
    return AcceptResult(
        n=n,
        concurrency=ctx.concurrency,
        warmup=warmup,
        hookgate_rps=[r.rps for r in hookgate_runs],
        noop_rps=[r.rps for r in noop_runs],
        hookgate_cpu_ms=sum(r.server_cpu_s for r in hookgate_runs) * 1000 / requests,
        noop_cpu_ms=sum(r.server_cpu_s for r in noop_runs) * 1000 / requests,
        load_cores_vs_noop=statistics.median(r.load_cores for r in noop_runs),
    )


# -- (c) latency -------------------------------------------------------------------


@dataclass
class LatencyResult:
    rate: float
    duration: float
    sent: int
    accepted: int
    received: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    accept_p50_ms: float
    accept_p99_ms: float
    max_schedule_lag_ms: float
    hookgate_cores: float  # hookgate CPU / wall time during the measured run


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def bench_latency(
    ctx: Context, rate: float, duration: float, warmup_s: float, database_url: str | None = None
) -> LatencyResult:
    server = start_hookgate(
        ctx,
        "hookgate-latency",
        ctx.work_dir / "latency-data",
        worker=True,
        database_url=database_url,
    )
    app_id = create_app_and_endpoint(ctx, server, f"{ctx.receiver}/lat")
    url = f"{server.base}/api/v1/app/{app_id}/msg"

    def open_args(seconds: float) -> list[str]:
        return ["open", "--url", url, "--rate", str(rate), "--duration", str(seconds)]

    if warmup_s > 0:
        warm = run_load(
            ctx, "load-latency-warmup", [*open_args(warmup_s), "--token", ctx.token], 60
        )
        wait_received(ctx, int(warm["sent"]), timeout=30.0, proc=server.proc)
    receiver_reset(ctx)
    cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
    with profiled(ctx, "latency", server.proc.pid):
        result = run_load(
            ctx, "load-latency", [*open_args(duration), "--token", ctx.token], duration + 60
        )
    cores = (cpu_seconds(server.proc.pid) - cpu0) / (time.monotonic() - t0)
    accepted = ok_count(result, "202")
    with contextlib.suppress(PhaseError):  # a shortfall is reported, not fatal
        wait_received(ctx, accepted, timeout=10.0, proc=server.proc)
    _, body = http_json("GET", f"{ctx.receiver}/latencies")
    latencies: list[float] = body["latencies_ms"]
    ctx.procs.stop(server.proc)
    return LatencyResult(
        rate=rate,
        duration=duration,
        sent=int(result["sent"]),
        accepted=accepted,
        received=len(latencies),
        p50_ms=statistics.median(latencies) if latencies else float("nan"),
        p99_ms=_percentile(latencies, 0.99),
        max_ms=max(latencies) if latencies else float("nan"),
        accept_p50_ms=float(result["response_p50_ms"]),
        accept_p99_ms=float(result["response_p99_ms"]),
        max_schedule_lag_ms=float(result["max_schedule_lag_ms"]),
        hookgate_cores=cores,
    )
