"""Scale-out crash tests on PostgreSQL: several API and worker processes share
one fresh database while workers (and an API process) are SIGKILLed.

Everything is driven over real HTTP and real processes; the database is only
read directly to compare the attempt log with what the receiver really got.
The helpers are local on purpose: ``harness.ServerProcess`` runs the embedded
(SQLite) mode only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import pytest
from svix.api import ApplicationIn, EndpointIn, Svix, SvixOptions

from tests.e2e.harness import PG_ENV

pytestmark = pytest.mark.slow

#: Where test databases are created from (same variables as tests/integration).
PG_ADMIN_DSN = "postgresql://root@{}:{}/test".format(
    os.environ.get("HOOKGATE_TEST_PG_HOST", "127.0.0.1"),
    os.environ.get("HOOKGATE_TEST_PG_PORT", "5432"),
)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

LEASE_SECONDS = 2.0
WORKER_CONCURRENCY = 20
CLAIM_BATCH_SIZE = 50
#: What one worker holds at most (leased to it: queued, in flight or with its
#: result not yet written), as ``engine.dispatch_settings`` computes it.
MAX_HELD = max(WORKER_CONCURRENCY * 5, CLAIM_BATCH_SIZE * 2)

#: Event type -> receiver paths of the endpoints subscribed to it.
ROUTES: dict[str, frozenset[str]] = {
    "t.ab": frozenset({"/a", "/b"}),
    "t.c": frozenset({"/c"}),
    "t.all": frozenset({"/a", "/b", "/c"}),
}
EVENT_TYPES = sorted(ROUTES)
PATHS = ("/a", "/b", "/c")


# --- PostgreSQL -------------------------------------------------------------------------


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class PgDatabase:
    name: str

    @property
    def url(self) -> str:
        base = PG_ADMIN_DSN.rsplit("/", 1)[0]
        return f"{base}/{self.name}"

    def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async def run() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(self.url, timeout=10)
            try:
                return list(await conn.fetch(sql, *args))
            finally:
                await conn.close()

        result: list[asyncpg.Record] = _run(run())
        return result


@pytest.fixture
def pg_database() -> Iterator[PgDatabase]:
    """A fresh database; PostgreSQL being unreachable fails the test (never skips)."""
    db = PgDatabase(f"hg_crash_{secrets.token_hex(6)}")
    try:
        _run(_admin(f'CREATE DATABASE "{db.name}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {PG_ADMIN_DSN} is not usable: {exc!r}", pytrace=False)
    try:
        # Hookgate processes are killed here, not PostgreSQL: a commit that
        # does not wait for the WAL flush is just as durable for these tests,
        # and much cheaper on a shared CI disk.
        _run(_admin(f'ALTER DATABASE "{db.name}" SET synchronous_commit TO off'))
        yield db
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)'))


# --- processes --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hookgate() -> list[str]:
    script = Path(sys.executable).with_name("hookgate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hookgate.cli.main"]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text("utf-8", "replace")
    except OSError as exc:
        return f"<{exc}>"
    return "\n".join(text.splitlines()[-lines:])


class HookgateProcess:
    """One ``hookgate`` command (API or worker), restartable; every incarnation
    writes stdout and stderr straight to its own log file, so no pipe can fill."""

    def __init__(self, name: str, args: Sequence[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.args = list(args)
        self.env = env
        self.log_dir = log_dir
        self.logs: list[Path] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None

    @property
    def log(self) -> Path:
        return self.logs[-1]

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        assert not self.running, f"{self.name} is already running"
        args = list(self.args)
        if "serve" in args:
            self.port = _free_port()
            args += ["--port", str(self.port)]
        path = self.log_dir / f"{self.name}-{len(self.logs) + 1}.log"
        self.logs.append(path)
        with path.open("wb") as out:
            self.proc = subprocess.Popen(
                [*_hookgate(), *args],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(
        self, timeout: float = START_TIMEOUT, stop: threading.Event | None = None
    ) -> None:
        """API: ``/health/ping`` answers 204; worker: it printed that it delivers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.proc.returncode} before it was ready:\n"
                    + _tail(self.log)
                )
            if self.port is not None:
                try:
                    response = httpx.get(f"{self.url}/api/v1/health/ping", timeout=2)
                    if response.status_code == 204:
                        return
                except httpx.TransportError:
                    pass
            elif b"Hookgate worker delivering" in self.log.read_bytes():
                return
            time.sleep(0.05)
        if stop is None or not stop.is_set():
            raise AssertionError(f"{self.name} not ready after {timeout} s:\n" + _tail(self.log))

    def start_ready(self) -> None:
        for attempt in range(3):  # a free port can be taken in between (API only)
            self.start()
            try:
                self.wait_ready()
                return
            except AssertionError:
                self.kill()
                if attempt == 2 or "address already in use" not in _tail(self.log).lower():
                    raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL and reap: the process gets no chance to clean up."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)

    def stop(self, *, signalled: bool = False) -> None:
        """SIGTERM (unless ``signalled`` already), then SIGKILL if it does not
        exit in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if not signalled:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()


class Cluster:
    """A migrated database, API processes (``serve --no-worker``) and workers."""

    def __init__(self, db: PgDatabase, log_dir: Path) -> None:
        self.db = db
        self.log_dir = log_dir
        self.token = "hg_crash_" + secrets.token_urlsafe(24)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
        env.update(
            HOOKGATE_DATABASE_URL=db.url,
            HOOKGATE_SECRET_KEY=PG_ENV["HOOKGATE_SECRET_KEY"],
            HOOKGATE_ADMIN_TOKEN=self.token,
            HOOKGATE_ALLOWED_SUBNETS="127.0.0.0/8",
            HOOKGATE_LEASE_SECONDS=f"{LEASE_SECONDS:g}",  # a killed worker's leases run out fast
            HOOKGATE_POLL_INTERVAL="0.2",
            HOOKGATE_RETRY_SCHEDULE="0.5,1,1,2,2,5",
            HOOKGATE_CLAIM_BATCH_SIZE=str(CLAIM_BATCH_SIZE),
            PYTHONUNBUFFERED="1",
            COLUMNS="200",
        )
        self.env = env
        self.apis: list[HookgateProcess] = []
        self.workers: list[HookgateProcess] = []

    def migrate(self) -> None:
        done = subprocess.run(
            [*_hookgate(), "migrate"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()

    def start(self, apis: int, workers: int) -> None:
        self.migrate()
        for i in range(apis):
            self.apis.append(
                HookgateProcess(f"api{i + 1}", ["serve", "--no-worker"], self.env, self.log_dir)
            )
        for i in range(workers):
            args = ["worker", "--concurrency", str(WORKER_CONCURRENCY)]
            self.workers.append(HookgateProcess(f"worker{i + 1}", args, self.env, self.log_dir))
        for proc in self.apis + self.workers:
            proc.start()  # all at once: they boot in parallel
        for proc in self.apis + self.workers:
            try:
                proc.wait_ready()
            except AssertionError:
                proc.kill()
                proc.start_ready()  # e.g. its port was taken meanwhile

    def stop(self) -> dict[str, int | None]:
        """SIGTERM to all at once, then wait (SIGKILL the late); the exit codes."""
        procs = self.apis + self.workers
        for proc in procs:
            if proc.running:
                assert proc.proc is not None
                proc.proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.stop(signalled=True)
            except Exception:
                proc.kill()
        return {proc.name: proc.proc and proc.proc.returncode for proc in procs}

    def svix(self, api: HookgateProcess) -> Svix:
        return Svix(self.token, SvixOptions(server_url=api.url, retry_schedule=[]))

    def log_tails(self) -> str:
        parts = []
        for proc in self.apis + self.workers:
            for path in proc.logs:
                parts.append(f"----- {path.name} -----\n{_tail(path, 25)}")
        return "\n".join(parts)


@pytest.fixture
def cluster(pg_database: PgDatabase, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(pg_database, tmp_path)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def explain(cluster: Cluster) -> Callable[[str], str]:
    """``explain(text)``: the text plus the tails of every process log."""
    return lambda text: f"{text}\n\nprocess logs (tails):\n{cluster.log_tails()}"


# --- the receiver -----------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    path: str
    msg_id: str
    at: float  # time.monotonic()


@dataclass
class Recorder:
    """A threaded HTTP server on 127.0.0.1 recording (path, webhook-id) of every
    request before answering 200 after a random 0-20 ms, so that deliveries
    are in flight when workers die."""

    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive; the server never closes idle ones

            def handle(self) -> None:
                with contextlib.suppress(OSError):  # a worker killed mid-connection
                    super().handle()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                hit = Hit(self.path, self.headers.get("webhook-id", ""), time.monotonic())
                with recorder.lock:
                    recorder.hits.append(hit)
                time.sleep(random.uniform(0, 0.02))
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass  # the worker died meanwhile

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def snapshot(self) -> list[Hit]:
        with self.lock:
            return list(self.hits)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    try:
        yield rec
    finally:
        rec.close()


# --- helpers ----------------------------------------------------------------------------


def _setup_app(cluster: Cluster, recorder: Recorder) -> tuple[str, dict[str, str]]:
    """One application and the endpoints /a, /b, /c via the svix SDK on API 1;
    returns the app id and endpoint id -> path."""
    client = cluster.svix(cluster.apis[0])
    try:
        app = client.application.create(ApplicationIn(name="crash", uid=secrets.token_hex(6)))
        paths: dict[str, str] = {}
        for path in PATHS:
            types = sorted(t for t, subscribed in ROUTES.items() if path in subscribed)
            ep = client.endpoint.create(
                app.id, EndpointIn(url=recorder.url(path), event_types=types)
            )
            assert sorted(ep.event_types or []) == types
            paths[ep.id] = path
    finally:
        client._httpx_client.close()
    return app.id, paths


def _send(
    urls: Sequence[str],
    token: str,
    app_id: str,
    count: int,
    allowed: Callable[[], int] | None = None,
) -> dict[str, str]:
    """Create ``count`` messages over real HTTP, 32 at a time and in order,
    alternating between the API processes at ``urls``; each must answer 202.
    Message ``i`` waits until ``i < allowed()`` (pacing). Returns msg id -> event
    type. (aiohttp rather than httpx: the test process shares two cores with
    the cluster, and aiohttp costs about half the CPU per request.)"""

    async def run() -> dict[str, str]:
        limit = asyncio.Semaphore(32)
        headers = {"Authorization": f"Bearer {token}"}
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:

            async def one(i: int) -> tuple[str, str]:
                event_type = EVENT_TYPES[i % len(EVENT_TYPES)]
                body = {"eventType": event_type, "payload": {"i": i}}
                try:
                    url = f"{urls[i % len(urls)]}/api/v1/app/{app_id}/msg"
                    async with session.post(url, json=body) as r:
                        text = await r.text()
                        assert r.status == 202, f"message {i}: {r.status} {text}"
                        return str(json.loads(text)["id"]), event_type
                finally:
                    limit.release()

            tasks = []
            for i in range(count):
                while allowed is not None and i >= allowed():
                    await asyncio.sleep(0.02)
                await limit.acquire()
                tasks.append(asyncio.create_task(one(i)))
            return dict(await asyncio.gather(*tasks))

    sent: dict[str, str] = _run(run())
    assert len(sent) == count, "message ids are not unique"
    return sent


def _expected_pairs(sent: dict[str, str]) -> set[tuple[str, str]]:
    return {(msg_id, path) for msg_id, event_type in sent.items() for path in ROUTES[event_type]}


def _wait(predicate: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what()}")
        time.sleep(0.1)


def _pending(db: PgDatabase) -> int:
    return int(db.fetch("SELECT count(*) FROM deliveries WHERE status = 1")[0][0])


# --- the tests --------------------------------------------------------------------------

MESSAGES = 5000
KILLS = 10


class Chaos(threading.Thread):
    """SIGKILLs a random worker ``KILLS`` times at random moments and restarts it
    at once; the next kill waits until it is ready again, so at most one worker
    is down at a time.

    Restarting takes seconds on a loaded machine, so left alone the sender
    would be done long before the kills are: ``allowed`` paces it instead, one
    slice of the messages per kill, so that each kill lands while deliveries
    are flowing and the last ones while the backlog drains."""

    def __init__(self, workers: list[HookgateProcess], rng: random.Random, messages: int):
        super().__init__(name="chaos", daemon=True)
        self.workers = workers
        self.rng = rng
        self.slice = -(-messages // KILLS)
        self.stop = threading.Event()
        self.kill_times: list[float] = []
        self.restarted = 0
        self.error: BaseException | None = None

    def allowed(self) -> int:
        """How many messages may be sent by now."""
        if not self.is_alive():  # done (or failed: the test reports it)
            return sys.maxsize
        return (self.restarted + 1) * self.slice

    def run(self) -> None:
        try:
            for _ in range(KILLS):
                if self.stop.wait(self.rng.uniform(0.2, 1.2)):
                    return
                victim = self.rng.choice(self.workers)
                victim.kill()
                self.kill_times.append(time.monotonic())  # it is dead (reaped) by now
                victim.start()
                victim.wait_ready(stop=self.stop)
                self.restarted += 1
        except BaseException as exc:
            self.error = exc


@pytest.mark.timeout(240)
def test_workers_sigkilled_while_delivering_lose_nothing(
    cluster: Cluster, recorder: Recorder, explain: Callable[[str], str]
) -> None:
    started = time.monotonic()
    seed = random.randrange(1 << 30)
    chaos = Chaos(cluster.workers, random.Random(seed), MESSAGES)
    try:
        cluster.start(apis=2, workers=3)
        app_id, endpoint_paths = _setup_app(cluster, recorder)
        ready = time.monotonic()
        chaos.start()
        urls = [api.url for api in cluster.apis]
        sent = _send(urls, cluster.token, app_id, MESSAGES, chaos.allowed)
        sent_at = time.monotonic()
        expected = _expected_pairs(sent)

        def missing() -> set[tuple[str, str]]:
            return expected - {(h.msg_id, h.path) for h in recorder.snapshot()}

        _wait(
            lambda: not missing(),
            60,
            lambda: (
                f"{len(missing())} of {len(expected)} deliveries (e.g. {sorted(missing())[:3]})"
            ),
        )
        chaos.join(60)
        assert not chaos.is_alive(), "the chaos thread did not finish"
        assert chaos.error is None, f"chaos failed: {chaos.error!r}"
        assert len(chaos.kill_times) == KILLS
        # Quiescent: every delivery recorded as done (so no redelivery can follow).
        _wait(lambda: _pending(cluster.db) == 0, 30, lambda: f"{_pending(cluster.db)} pending")
        drained_at = time.monotonic()

        hits = recorder.snapshot()
        seen = Counter((h.msg_id, h.path) for h in hits)
        unexpected = set(seen) - expected
        assert not unexpected, f"delivered to unsubscribed/unknown: {sorted(unexpected)[:10]}"
        assert not (expected - set(seen)), "lost deliveries"

        # Duplicates. A worker records a result only after the request was
        # answered, so a SIGKILL makes the deliveries it had sent but whose
        # result was not yet committed go out again once their lease runs out.
        # Those are among the jobs it held: at most MAX_HELD (its in-flight
        # sends, <= --concurrency, plus finished ones waiting for the result
        # writer, all counted in ``held``). So: <= KILLS x MAX_HELD in total,
        # and each duplicated pair must straddle a kill: first seen before
        # (or just after: bytes already in the socket) a kill, again after it.
        duplicates = {pair: n - 1 for pair, n in seen.items() if n > 1}
        total_duplicates = sum(duplicates.values())
        first: dict[tuple[str, str], float] = {}
        last: dict[tuple[str, str], float] = {}
        for h in hits:
            first.setdefault((h.msg_id, h.path), h.at)
            last[(h.msg_id, h.path)] = h.at
        unexplained = [
            pair
            for pair in duplicates
            if not any(first[pair] - LEASE_SECONDS <= k <= last[pair] for k in chaos.kill_times)
        ]
        assert not unexplained, (
            f"{len(unexplained)} duplicated deliveries not explained by any kill, e.g. "
            f"{[(p, first[p], last[p]) for p in unexplained[:5]]}; kills at {chaos.kill_times}"
        )
        assert total_duplicates <= KILLS * MAX_HELD, f"{total_duplicates} duplicates"

        # The attempt log agrees with the receiver, for every pair.
        rows = cluster.db.fetch(
            "SELECT msg_id, endpoint_id, status, response_status_code, count(*) AS n"
            " FROM attempts GROUP BY msg_id, endpoint_id, status, response_status_code"
        )
        successes: Counter[tuple[str, str]] = Counter()
        other: Counter[tuple[int, int]] = Counter()
        for row in rows:
            pair = (row["msg_id"], endpoint_paths[row["endpoint_id"]])
            if row["status"] == 0:
                assert row["response_status_code"] == 200, dict(row)
                successes[pair] += row["n"]
            else:
                other[(row["status"], row["response_status_code"])] += row["n"]
        no_success = [pair for pair in seen if successes[pair] == 0]
        assert not no_success, f"received but no successful attempt logged: {no_success[:10]}"
        phantom = [pair for pair, n in successes.items() if n > seen[pair]]
        assert not phantom, (
            "more successful attempts logged than requests received: "
            f"{[(p, successes[p], seen[p]) for p in phantom[:10]]}"
        )
        statuses = cluster.db.fetch("SELECT status, count(*) FROM deliveries GROUP BY status")
        assert {r[0]: r[1] for r in statuses} == {0: len(expected)}, statuses
        for api in cluster.apis:
            assert api.running, f"{api.name} died"
        chaos.join(STOP_TIMEOUT)
        # Graceful stop. Workers exit 0; uvicorn (>= 0.29) re-raises the SIGTERM
        # it caught once its shutdown is complete, so API processes end "by" it.
        exit_codes = cluster.stop()
        assert exit_codes == {
            **{api.name: -signal.SIGTERM for api in cluster.apis},
            **{worker.name: 0 for worker in cluster.workers},
        }, f"exit codes after SIGTERM: {exit_codes}"

        busy = [sum(1 for h in hits if k - 1 <= h.at <= k) for k in chaos.kill_times]
        print(
            f"\n[crash] seed={seed} setup={ready - started:.1f}s send={sent_at - ready:.1f}s "
            f"drain={drained_at - sent_at:.1f}s pairs={len(expected)} "
            f"requests={len(hits)} duplicated_pairs={len(duplicates)} "
            f"duplicates={total_duplicates} (bound {KILLS * MAX_HELD}) "
            f"kills_at={[round(k - ready, 1) for k in chaos.kill_times]} "
            f"requests_in_the_second_before_each_kill={busy} "
            f"failed_attempts={dict(other)}"
        )
    except Exception as exc:
        context = f"seed={seed}, kills={len(chaos.kill_times)}, chaos error={chaos.error!r}"
        raise AssertionError(explain(f"{exc}\n({context})")) from exc
    finally:
        chaos.stop.set()
        chaos.join(STOP_TIMEOUT)


@pytest.mark.timeout(180)
def test_api_sigkilled_after_202_loses_nothing(
    cluster: Cluster, recorder: Recorder, explain: Callable[[str], str]
) -> None:
    cluster.start(apis=1, workers=2)
    try:
        app_id, _ = _setup_app(cluster, recorder)
        api = cluster.apis[0]
        sent = _send([api.url], cluster.token, app_id, 200)
        api.kill()  # right after the last 202: it must hold nothing only in memory
        expected = _expected_pairs(sent)

        def missing() -> set[tuple[str, str]]:
            return expected - {(h.msg_id, h.path) for h in recorder.snapshot()}

        assert api.proc is not None
        assert api.proc.returncode == -signal.SIGKILL
        _wait(lambda: not missing(), 30, lambda: f"{len(missing())} of {len(expected)}")
        hits = recorder.snapshot()
        seen = Counter((h.msg_id, h.path) for h in hits)
        assert set(seen) == expected, f"unexpected: {sorted(set(seen) - expected)[:10]}"
        print(f"\n[api-kill] pairs={len(expected)} requests={len(hits)}")
    except Exception as exc:
        raise AssertionError(explain(str(exc))) from exc
