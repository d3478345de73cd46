"""The measured phases: delivery, accept, inbound and latency.

Each phase starts its own servers (fresh data directories), measures, and stops
them before returning; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.common import GITHUB_SECRET, GITHUB_SOURCE_UID, free_port, http_json
from benchmarks.procs import PYTHON, PhaseError, Procs, clean_env, cpu_seconds, wait_http
from hookgate.core.secretbox import generate_key

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


#: The ``HOOKGATE_SECRET_KEY`` of every process this run starts.
SECRET_KEY = generate_key()


def hookgate_command() -> list[str]:
    hookgate = Path(PYTHON).parent / "hookgate"
    return [str(hookgate)] if hookgate.exists() else [PYTHON, "-m", "hookgate.cli.main"]


def hookgate_env(ctx: Context, settings: dict[str, str | None]) -> dict[str, str]:
    """A child's environment with ``HOOKGATE_<KEY>`` for each setting that is not None."""
    return clean_env(
        HOOKGATE_ADMIN_TOKEN=ctx.token,
        HOOKGATE_ALLOWED_SUBNETS="127.0.0.0/8",
        # Required on PostgreSQL; one per run, shared by its servers and workers.
        HOOKGATE_SECRET_KEY=SECRET_KEY,
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
        return _ratios(self.hookgate_rps, self.noop_rps)


def _ratios(measured: list[float], baseline: list[float]) -> list[float]:
    """Round-by-round ratios of ``measured`` to ``baseline``."""
    return [m / b for m, b in zip(measured, baseline, strict=True)]


@dataclass
class _Load:
    rps: float
    server_cpu_s: float
    load_cores: float
    body_bytes: int = 0


def _drive(
    ctx: Context, name: str, pid: int, url: str, n: int, warmup: int, kind: str = "msg"
) -> _Load:
    """``warmup`` then ``n`` timed requests of ``kind`` (``msg``: message creation,
    every answer must be 202; ``inbound``: signed GitHub pushes, every answer 200)."""
    extra = ["--token", ctx.token] if kind == "msg" else ["--secret", GITHUB_SECRET]
    ok = "202" if kind == "msg" else "200"
    args = [*closed_args(url, n, ctx.concurrency, kind, warmup), *extra]
    cpu0 = cpu_seconds(pid)
    result = run_load(ctx, name, args, 300)
    cpu = cpu_seconds(pid) - cpu0
    if ok_count(result, ok) != n:
        raise PhaseError(f"{name}: {result['statuses']}")
    if int(result["warmup_statuses"].get(ok, 0)) != warmup:
        raise PhaseError(f"{name} warm-up: {result['warmup_statuses']}")
    load_cores = float(result["cpu_s"]) / float(result["elapsed"])
    return _Load(float(result["rps"]), cpu, load_cores, int(result["body_bytes"]))


def start_noop(ctx: Context) -> tuple[subprocess.Popen[bytes], str]:
    """The no-op FastAPI app (``noop_app.py``); returns (process, base URL)."""
    port = free_port()
    noop = ctx.procs.start(
        "noop-app", [PYTHON, "-m", "benchmarks.noop_app", "--port", str(port)], clean_env()
    )
    wait_http(f"http://127.0.0.1:{port}/docs", noop, STARTUP_TIMEOUT_S, what="noop app")
    return noop, f"http://127.0.0.1:{port}"


def bench_accept(
    ctx: Context, n: int, warmup: int, rounds: int, database_url: str | None = None
) -> AcceptResult:
    """Alternate the no-op app and Hookgate ``rounds`` times under identical load
    (both servers stay up; only the one being measured gets requests)."""
    noop, noop_base = start_noop(ctx)
    noop_url = f"{noop_base}/api/v1/app/bench/msg"
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


# -- (b') inbound -------------------------------------------------------------------

#: The inbound phase's second source, with one destination (forwarding on).
FORWARD_SOURCE_UID = GITHUB_SOURCE_UID + "-fwd"


@dataclass
class InboundStored:
    """What the database holds after the inbound rounds (counted directly)."""

    requests: dict[str, int]  # source uid -> requests stored
    accepted: dict[str, int]  # source uid -> verified and not rejected (no duplicate)
    messages: int  # forwarded (enqueued) messages, all sources


@dataclass
class InboundResult(AcceptResult):
    """``AcceptResult`` of ``POST /in/{source}`` (source without destinations),
    plus the same requests to a source with one destination."""

    body_bytes: int
    forward_rps: list[float]  # one per round, source with one destination
    forward_cpu_ms: float
    stored: InboundStored

    @property
    def forward(self) -> float:
        return statistics.median(self.forward_rps)

    @property
    def forward_ratio(self) -> float:
        return self.forward / self.noop

    @property
    def forward_round_ratios(self) -> list[float]:
        return _ratios(self.forward_rps, self.noop_rps)


def create_github_source(ctx: Context, server: Server, uid: str) -> dict[str, Any]:
    """A ``github`` source verifying with ``GITHUB_SECRET`` (no destinations).
    The load sends one signed body with a new delivery id each time, so the
    source deduplicates on the delivery id, not on the body's hash."""
    config = {"secret": GITHUB_SECRET, "dedupeOnBodyHash": False}
    body = {"name": uid, "uid": uid, "type": "github", "config": config}
    status, source = http_json("POST", f"{server.base}/ingest/api/v1/source", body, token=ctx.token)
    if status != 201:
        raise PhaseError(f"creating source {uid} answered {status}: {source}")
    assert isinstance(source, dict)
    return source


def add_source_destination(ctx: Context, server: Server, uid: str, url: str) -> None:
    status, endpoint = http_json(
        "POST",
        f"{server.base}/ingest/api/v1/source/{uid}/endpoint",
        {"url": url, "description": "benchmark receiver"},
        token=ctx.token,
    )
    if status != 201:
        raise PhaseError(f"creating the destination of {uid} answered {status}: {endpoint}")


def _check_newest_request(ctx: Context, server: Server, uid: str) -> None:
    """The API lists stored requests for ``uid``; the newest is verified and accepted."""
    status, page = http_json(
        "GET", f"{server.base}/ingest/api/v1/source/{uid}/request?limit=1", token=ctx.token
    )
    items = page.get("data") if status == 200 and isinstance(page, dict) else None
    if not items:
        raise PhaseError(f"listing the requests of {uid} answered {status}: {page}")
    newest = items[0]
    if not newest["verified"] or newest["rejection"] is not None:
        raise PhaseError(f"newest request of {uid} was not accepted: {newest['rejection']}")


_COUNT_REQUESTS = (
    "SELECT s.uid, COUNT(r.id), "
    "COALESCE(SUM(CASE WHEN r.verified AND r.rejection IS NULL THEN 1 ELSE 0 END), 0) "
    "FROM sources s LEFT JOIN inbound_requests r ON r.source_id = s.id GROUP BY s.uid"
)
_COUNT_MESSAGES = "SELECT COUNT(*) FROM messages"


async def _fetch_counts(database_url: str) -> tuple[list[tuple[Any, ...]], int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = [tuple(row) for row in await conn.fetch(_COUNT_REQUESTS)]
        return rows, int(await conn.fetchval(_COUNT_MESSAGES))
    finally:
        await conn.close()


def _count_stored(data_dir: Path, database_url: str | None) -> InboundStored:
    """Count stored requests and messages straight from the database (server stopped)."""
    if database_url is not None:
        rows, messages = asyncio.run(_fetch_counts(database_url))
    else:
        conn = sqlite3.connect(data_dir / "hookgate.db")
        try:
            rows = conn.execute(_COUNT_REQUESTS).fetchall()
            messages = int(conn.execute(_COUNT_MESSAGES).fetchone()[0])
        finally:
            conn.close()
    return InboundStored(
        requests={str(uid): int(total) for uid, total, _ in rows},
        accepted={str(uid): int(good) for uid, _, good in rows},
        messages=messages,
    )


def bench_inbound(
    ctx: Context, n: int, warmup: int, rounds: int, database_url: str | None = None
) -> InboundResult:
    """Signed GitHub pushes to ``/in/{source}``: verified, stored and answered by
    ``hookgate serve --no-worker``, against the no-op app's ``/in/{source}``. Each
    round drives the no-op app, then a source without destinations (the figure),
    then a source with one destination (each request also enqueues a message)."""
    noop, noop_base = start_noop(ctx)
    data_dir = ctx.work_dir / "inbound-data"
    server = start_hookgate(
        ctx, "hookgate-inbound", data_dir, worker=False, database_url=database_url
    )
    create_github_source(ctx, server, GITHUB_SOURCE_UID)
    create_github_source(ctx, server, FORWARD_SOURCE_UID)
    add_source_destination(ctx, server, FORWARD_SOURCE_UID, f"{ctx.receiver}/hook")

    def drive(name: str, pid: int, base: str, uid: str) -> _Load:
        return _drive(ctx, name, pid, f"{base}/in/{uid}", n, warmup, "inbound")

    noop_runs: list[_Load] = []
    stored_runs: list[_Load] = []
    forward_runs: list[_Load] = []
    pid = server.proc.pid
    for index in range(rounds):
        suffix = "" if index == 0 else f"-{index}"
        noop_runs.append(
            drive(f"load-inbound-noop-{index}", noop.pid, noop_base, GITHUB_SOURCE_UID)
        )
        with profiled(ctx, f"inbound{suffix}", pid):
            stored_runs.append(drive(f"load-inbound-{index}", pid, server.base, GITHUB_SOURCE_UID))
        with profiled(ctx, f"inbound-forward{suffix}", pid):
            forward_runs.append(
                drive(f"load-inbound-forward-{index}", pid, server.base, FORWARD_SOURCE_UID)
            )
    for uid in (GITHUB_SOURCE_UID, FORWARD_SOURCE_UID):
        _check_newest_request(ctx, server, uid)
    ctx.procs.stop(noop)
    ctx.procs.stop(server.proc)
    stored = _count_stored(data_dir, database_url)
    expected = rounds * (n + warmup)
    for uid in (GITHUB_SOURCE_UID, FORWARD_SOURCE_UID):
        if stored.accepted.get(uid) != expected or stored.requests.get(uid) != expected:
            raise PhaseError(
                f"{uid}: {stored.requests.get(uid)} requests stored, "
                f"{stored.accepted.get(uid)} verified and accepted; expected {expected}"
            )
    if stored.messages != expected:
        raise PhaseError(f"{stored.messages} messages enqueued for {expected} forwarded requests")
    return InboundResult(
        n=n,
        concurrency=ctx.concurrency,
        warmup=warmup,
        body_bytes=stored_runs[0].body_bytes,
        hookgate_rps=[r.rps for r in stored_runs],
        forward_rps=[r.rps for r in forward_runs],
        noop_rps=[r.rps for r in noop_runs],
        hookgate_cpu_ms=sum(r.server_cpu_s for r in stored_runs) * 1000 / expected,
        forward_cpu_ms=sum(r.server_cpu_s for r in forward_runs) * 1000 / expected,
        noop_cpu_ms=sum(r.server_cpu_s for r in noop_runs) * 1000 / expected,
        load_cores_vs_noop=statistics.median(r.load_cores for r in noop_runs),
        stored=stored,
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
