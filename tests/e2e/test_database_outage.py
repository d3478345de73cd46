"""PostgreSQL outages, end to end: a worker started while the database is
unreachable, and a database that drops in the middle of a run.

Requirement: a clear error and retries with back-off when the database is
unreachable at start or drops mid-run; the process must neither die nor spin.

The database "goes away" through a small TCP proxy in front of the real
PostgreSQL server, run by the test in a background thread: ``stop()`` closes
its listening socket (connecting is refused) and every connection it forwards
(open connections die), ``start()`` listens again on the same port. Hookgate
processes under test reach the database only through the proxy; the API
process (``serve --no-worker``) uses the real port, so messages keep being
accepted during the outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from svix.api import ApplicationIn, EndpointIn, Svix, SvixOptions

from tests.e2e.harness import (
    PG_ADMIN_URL,
    PG_ENV,
    Receiver,
    create_pg_database,
    drop_pg_database,
    free_port,
    server_command,
    wait_until,
)

pytestmark = pytest.mark.slow

T = TypeVar("T")

#: The real PostgreSQL server (host and port of the harness's admin URL).
PG_HOST, _, PG_PORT_TEXT = PG_ADMIN_URL.split("@", 1)[1].rsplit("/", 1)[0].rpartition(":")
PG_PORT = int(PG_PORT_TEXT)

START_TIMEOUT = 30.0
#: How long the database stays away in each phase.
OUTAGE_SECONDS = 3.0
#: CPU a waiting process may burn during one outage (a spinning one burns ~all of it).
MAX_IDLE_CPU_SECONDS = 0.5
#: Upper bound on retry lines per outage: a back-off gives a handful, a spin hundreds.
MAX_RETRY_LINES = 12

#: Exit codes of ``serve`` after SIGTERM: uvicorn (>= 0.29) re-raises the signal
#: once it has shut down gracefully.
API_STOPPED = (0, -signal.SIGTERM)

READY_WORKER = b"Hookgate worker delivering from"
STARTUP_RETRY = re.compile(r"database \S+ unreachable \((?P<why>.+)\); retrying in (?P<s>[\d.]+) s")
CLAIM_RETRY = re.compile(
    r"claiming deliveries failed: database unreachable \(.*\); retrying in (?P<s>[\d.]+) s"
)
LISTEN_RETRY = re.compile(r"cannot listen for deliveries \(.+\); retrying in (?P<s>[\d.]+) s")


# --- the switchable proxy ------------------------------------------------------------


class PgProxy:
    """A TCP proxy 127.0.0.1:<port> -> PostgreSQL on an asyncio loop in a thread."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.AbstractServer | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._generation = 0  # bumped by every stop(): handlers of older ones give up

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(15)

    def start(self) -> None:
        self._call(self._start())

    def stop(self) -> int:
        """Stop listening and cut every forwarded connection; how many were cut."""
        return self._call(self._stop())

    def close(self) -> None:
        if self._loop.is_closed():
            return
        with contextlib.suppress(Exception):
            self._call(self._stop())
        with contextlib.suppress(Exception):
            self._call(self._cancel_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    async def _start(self) -> None:
        assert self._server is None, "already listening"
        # asyncio sets SO_REUSEADDR: the same port can be listened on again at once.
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _stop(self) -> int:
        self._generation += 1
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        cut = 0
        for transport in list(self._transports):
            if not transport.is_closing():
                cut += 1
            transport.abort()
        self._transports.clear()
        return cut // 2  # two transports per forwarded connection

    async def _cancel_all(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        generation = self._generation
        client = writer.transport
        self._transports.add(client)
        upstream: asyncio.WriteTransport | None = None
        try:
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            except OSError:
                return
            upstream = up_writer.transport
            self._transports.add(upstream)
            if generation != self._generation:  # stopped while we connected
                return
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )
        finally:
            for transport in (client, upstream):
                if transport is not None:
                    transport.abort()
                    self._transports.discard(transport)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()  # one side gone: the whole connection is


# --- processes ---------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


class Proc:
    """One ``hookgate`` command, output (stdout and stderr) to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        self.port: int | None = None
        if args[0] == "serve":
            self.port = free_port()
            args = [*args, "--port", str(self.port)]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*server_command(), *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_bytes().decode("utf-8", "replace")

    def tail(self, lines: int = 40) -> str:
        return f"----- {self.name} -----\n" + "\n".join(self.output().splitlines()[-lines:])

    def assert_alive(self) -> None:
        code = self.proc.poll()
        assert code is None, f"{self.name} died (exit code {code}):\n{self.tail()}"

    def cpu(self) -> float:
        self.assert_alive()
        return _cpu_seconds(self.pid)

    def ready(self) -> bool:
        self.assert_alive()
        if self.port is None:
            return READY_WORKER in self.log.read_bytes()
        try:
            return httpx.get(f"{self.url}/api/v1/health/ping", timeout=2).status_code == 204
        except httpx.TransportError:
            return False

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        wait_until(
            self.ready,
            timeout=timeout,
            interval=0.1,
            message=lambda: f"{self.name} ready\n{self.tail()}",
        )

    def wait_for_output(self, pattern: re.Pattern[str], what: str) -> None:
        wait_until(
            lambda: pattern.search(self.output()),
            timeout=START_TIMEOUT,
            interval=0.1,
            message=lambda: f"{self.name} to {what}\n{self.tail()}",
        )

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM; the exit code (SIGKILL and fail if it does not exit in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.name} ignored SIGTERM for {timeout} s:\n{self.tail()}"
            ) from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


def _env(database_url: str, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
    env.update(
        HOOKGATE_DATABASE_URL=database_url,
        HOOKGATE_SECRET_KEY=PG_ENV["HOOKGATE_SECRET_KEY"],
        HOOKGATE_ADMIN_TOKEN=token,
        HOOKGATE_ALLOWED_SUBNETS="127.0.0.1/32",
        HOOKGATE_POLL_INTERVAL="0.2",
        HOOKGATE_LEASE_SECONDS="3",
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
    )
    return env


def _via(url: str, port: int) -> str:
    """``url`` with its PostgreSQL port replaced by ``port``."""
    return url.replace(f"@{PG_HOST}:{PG_PORT}/", f"@127.0.0.1:{port}/", 1)


def _fetchval(url: str, sql: str) -> object:
    async def run() -> object:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


def _assert_backs_off(delays: list[float], what: str, output: str) -> None:
    """Retry lines: some, not hundreds, each delay at least the one before, growing."""
    assert delays, f"no {what} retry line logged:\n{output}"
    assert len(delays) <= MAX_RETRY_LINES, f"{len(delays)} {what} retries: spinning?\n{output}"
    assert all(b >= a for a, b in itertools.pairwise(delays)), f"{what} delays shrink: {delays}"
    if len(delays) > 1:
        assert delays[-1] > delays[0], f"{what} delays do not grow: {delays}"


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh database; PostgreSQL being unreachable fails the test (never skips)."""
    try:
        url = create_pg_database("hg_outage")
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is not usable: {exc!r}", pytrace=False)
    try:
        yield url
    finally:
        drop_pg_database(url)


# --- the test --------------------------------------------------------------------------


@pytest.mark.timeout(180)
def test_worker_survives_database_outages(database_url: str, tmp_path: Path) -> None:
    token = "hg_outage_" + secrets.token_urlsafe(24)
    real_env = _env(database_url, token)
    migrated = subprocess.run(
        [*server_command(), "migrate"],
        env=real_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stdout.decode() + migrated.stderr.decode()

    proxy = PgProxy(PG_HOST, PG_PORT)  # not listening yet: the database is unreachable
    proxied_env = _env(_via(database_url, proxy.port), token)
    receiver = Receiver()
    procs: list[Proc] = []
    closing = contextlib.ExitStack()

    def logs() -> str:
        return "\n".join(p.tail() for p in procs)

    try:
        # API on the real port (it must keep accepting); a worker and a second
        # API process through the (stopped) proxy.
        api = Proc("api", ["serve", "--no-worker"], real_env, tmp_path)
        worker = Proc("worker", ["worker", "--concurrency", "20"], proxied_env, tmp_path)
        proxied_api = Proc("api-via-proxy", ["serve", "--no-worker"], proxied_env, tmp_path)
        procs += [api, worker, proxied_api]

        # -- 1. unreachable at start: a clear message, back-off, alive, no spin --
        waiting = [worker, proxied_api]
        for proc in waiting:
            proc.wait_for_output(STARTUP_RETRY, "report the database unreachable")
        cpu_before = {p.name: p.cpu() for p in waiting}
        time.sleep(OUTAGE_SECONDS)
        for proc in waiting:
            used = proc.cpu() - cpu_before[proc.name]
            assert used < MAX_IDLE_CPU_SECONDS, (
                f"{proc.name} used {used:.2f} s of CPU in {OUTAGE_SECONDS} s waiting for the "
                f"database (spinning?)\n{proc.tail()}"
            )
            output = proc.output()
            found = list(STARTUP_RETRY.finditer(output))
            why = found[0]["why"]
            assert "refused" in why.lower() or "errno" in why.lower(), f"unclear reason: {why!r}"
            assert f"127.0.0.1:{proxy.port}" in found[0][0], found[0][0]
            _assert_backs_off([float(m["s"]) for m in found], f"{proc.name} startup", output)
            assert not proc.ready(), f"{proc.name} ready without a database:\n{proc.tail()}"
        api.wait_ready()

        proxy.start()
        worker.wait_ready()
        proxied_api.wait_ready()
        assert proxied_api.terminate() in API_STOPPED, proxied_api.tail()

        # -- 2. drop mid-run ------------------------------------------------------
        svix = Svix(token, SvixOptions(server_url=api.url, retry_schedule=[]))
        closing.callback(svix._httpx_client.close)
        app = svix.application.create(ApplicationIn(name="outage", uid=secrets.token_hex(6)))
        path = receiver.new_path("outage")
        svix.endpoint.create(app.id, EndpointIn(url=receiver.url(path)))
        http = closing.enter_context(
            httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {token}"}, timeout=15)
        )

        def send(count: int, phase: str) -> list[str]:
            ids = []
            for i in range(count):
                r = http.post(
                    f"/api/v1/app/{app.id}/msg",
                    json={"eventType": "outage.test", "payload": {"phase": phase, "i": i}},
                )
                assert r.status_code == 202, f"{phase} message {i}: {r.status_code} {r.text}"
                ids.append(str(r.json()["id"]))
            return ids

        def missing(ids: list[str]) -> set[str]:
            return set(ids) - {h.msg_id for h in receiver.requests(path)}

        def delivered(ids: list[str], timeout: float) -> None:
            wait_until(
                lambda: not missing(ids),
                timeout=timeout,
                interval=0.1,
                message=lambda: (
                    f"{len(missing(ids))} of {len(ids)} messages to be delivered\n" + logs()
                ),
            )

        before = send(20, "before")
        delivered(before, 20)
        # Their results are written too (nothing of them is left to the outage).
        wait_until(
            lambda: (
                _fetchval(database_url, "SELECT count(*) FROM deliveries WHERE status = 0") == 20
            ),
            timeout=10,
            message=lambda: "the 20 results to be recorded\n" + logs(),
        )

        log_offset = len(worker.output())
        cut = proxy.stop()
        assert cut >= 1, "the worker had no database connection open through the proxy"
        during = send(30, "during")
        cpu_at_drop = worker.cpu()
        time.sleep(OUTAGE_SECONDS)
        used = worker.cpu() - cpu_at_drop
        assert used < MAX_IDLE_CPU_SECONDS, (
            f"worker used {used:.2f} s of CPU in {OUTAGE_SECONDS} s without a database "
            f"(spinning?)\n{worker.tail()}"
        )
        outage_log = worker.output()[log_offset:]
        claim_delays = [float(m["s"]) for m in CLAIM_RETRY.finditer(outage_log)]
        _assert_backs_off(claim_delays, "claim", outage_log[-4000:])
        listen_delays = [float(m["s"]) for m in LISTEN_RETRY.finditer(outage_log)]
        _assert_backs_off(listen_delays, "listen", outage_log[-4000:])
        assert missing(during) == set(during), "delivered while the database was away?"

        proxy.start()
        delivered(during, 30)
        wait_until(
            lambda: (
                _fetchval(database_url, "SELECT count(*) FROM deliveries WHERE status = 0") == 50
            ),
            timeout=15,
            message=lambda: "all 50 results to be recorded\n" + logs(),
        )
        counts = Counter(h.msg_id for h in receiver.requests(path))
        assert set(counts) == set(before) | set(during), "unexpected messages delivered"
        duplicates = {msg: n for msg, n in counts.items() if n > 1}
        assert not duplicates, f"delivered more than once: {duplicates}\n{logs()}"

        # -- 3. SIGTERM: a clean, bounded exit ------------------------------------
        started = time.monotonic()
        code = worker.terminate(timeout=15)
        assert code == 0, f"worker exited with {code}\n{worker.tail()}"
        assert time.monotonic() - started < 15
        assert api.terminate() in API_STOPPED, api.tail()
    finally:
        closing.close()
        for proc in procs:
            proc.kill()
        receiver.close()
        proxy.close()
