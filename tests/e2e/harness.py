"""End-to-end harness: the real ``hookgate serve`` as a subprocess, a real HTTP
receiver on loopback, and bounded polling helpers.

Nothing here imports Hookgate: the server is driven only over HTTP.

Every server runs on one of two storage backends (``BACKENDS``): the embedded
SQLite default, or a fresh PostgreSQL database of its own on the machine's
server (``PG_ADMIN_URL``), created before the server starts and dropped after.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, TypeVar

import asyncpg
import httpx
import standardwebhooks.webhooks
import svix.webhooks
from svix.api import EndpointIn, EndpointOut, Svix

from hookgate.core.secretbox import generate_key

T = TypeVar("T")

#: Environment every test server gets unless a test overrides it.
BASE_ENV = {
    "HOOKGATE_ALLOWED_SUBNETS": "127.0.0.0/8",
    "HOOKGATE_RETRY_SCHEDULE": "0.2,0.2,0.2",  # 4 attempts in total
    "HOOKGATE_POLL_INTERVAL": "0.1",
}

START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0

#: The storage backends every server-driven test runs against.
BACKENDS = ("sqlite", "postgresql")

#: Where test databases are created (a maintenance database on the local server;
#: override with HOOKGATE_TEST_PG_HOST / HOOKGATE_TEST_PG_PORT like the integration tests).
PG_ADMIN_URL = "postgresql://root@{}:{}/test".format(
    os.environ.get("HOOKGATE_TEST_PG_HOST", "127.0.0.1"),
    os.environ.get("HOOKGATE_TEST_PG_PORT", "5432"),
)

#: Extra environment for servers on PostgreSQL. Leases of a killed process are
#: only released at restart in the embedded (single-process) SQLite mode; on
#: PostgreSQL they must run out, so keep them short.
#: A secret key is required on PostgreSQL: one per test session, shared by
#: every server and command on the test databases.
PG_ENV = {"HOOKGATE_LEASE_SECONDS": "3", "HOOKGATE_SECRET_KEY": generate_key()}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A loopback port nothing listens on (connecting to it is refused)."""
    return free_port()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_until(
    predicate: Callable[[], T | None],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str | Callable[[], str] = "condition",
) -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {text}")
        time.sleep(interval)


# --- PostgreSQL databases --------------------------------------------------------------


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _pg_execute(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion from synchronous code, also while an
    event loop runs in this thread (Playwright's sync API keeps one running
    while a browser is open): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def create_pg_database(prefix: str = "hg_e2e") -> str:
    """Create a fresh, empty PostgreSQL database; return its URL (for
    ``HOOKGATE_DATABASE_URL``). Raises if PostgreSQL is not reachable."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    run_sync(_pg_execute(f'CREATE DATABASE "{name}"'))
    return _pg_url(name)


def drop_pg_database(url: str) -> None:
    """Drop a database made by ``create_pg_database`` (its connections too)."""
    name = url.rpartition("/")[2]
    run_sync(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Backend:
    """One storage backend: hands out server environments, each with a storage
    of its own (a data directory for SQLite; additionally a fresh database for
    PostgreSQL), and drops the databases it made on ``close()``."""

    def __init__(self, name: str) -> None:
        assert name in BACKENDS, name
        self.name = name
        self._databases: list[str] = []

    def __repr__(self) -> str:
        return f"Backend({self.name!r})"

    @property
    def is_postgresql(self) -> bool:
        return self.name == "postgresql"

    def server_env(self) -> dict[str, str | None]:
        """Environment overrides for a server with a storage of its own. Pass the
        same dict (and data dir) to a restarted server to reuse its storage."""
        if not self.is_postgresql:
            return {}
        url = create_pg_database()
        self._databases.append(url)
        return {"HOOKGATE_DATABASE_URL": url, **PG_ENV}

    def release(self, env: Mapping[str, str | None]) -> None:
        """Drop the database behind ``env`` now (its servers must be stopped)."""
        url = env.get("HOOKGATE_DATABASE_URL")
        if url and url in self._databases:
            self._databases.remove(url)
            drop_pg_database(url)

    def close(self) -> None:
        errors: list[BaseException] = []
        while self._databases:
            try:
                drop_pg_database(self._databases.pop())
            except Exception as exc:  # drop the others anyway
                errors.append(exc)
        if errors:
            raise errors[0]


# --- the server under test ----------------------------------------------------------


class PortInUse(RuntimeError):
    """The server could not bind its port."""


def server_command() -> list[str]:
    script = Path(sys.executable).with_name("hookgate")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "hookgate.cli.main"]


class ServerProcess:
    """One ``hookgate serve`` process on a free loopback port."""

    def __init__(
        self,
        data_dir: Path,
        *,
        env: Mapping[str, str | None] | None = None,
        token: str | None = None,
        port: int | None = None,
        args: Sequence[str] = (),
        tls_ca: Path | None = None,
    ) -> None:
        """``args`` are extra ``hookgate serve`` options; ``tls_ca`` (a PEM CA
        file) means the server serves HTTPS with a certificate that CA issued."""
        self.data_dir = data_dir
        self.args = list(args)
        self.tls_ca = tls_ca
        self.token = token or "hg_e2e_" + secrets.token_urlsafe(24)
        self._fixed_port = port is not None
        self.port = port or free_port()
        self._env_overrides = dict(BASE_ENV)
        self._env_overrides.update(env or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdout: IO[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._log_index = 0

    @property
    def url(self) -> str:
        scheme = "https" if self.tls_ca else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str | None:
        """``HOOKGATE_DATABASE_URL`` of this server (``None``: embedded SQLite)."""
        return self._env_overrides.get("HOOKGATE_DATABASE_URL")

    @property
    def env(self) -> dict[str, str | None]:
        """The environment overrides this server was given."""
        return dict(self._env_overrides)

    # -- lifecycle --

    def start(self) -> ServerProcess:
        """Start and wait until ``/api/v1/health/ping`` answers 204. A port taken
        in the meantime by someone else is replaced by a fresh one."""
        for _ in range(3):
            try:
                return self._start_once()
            except PortInUse:
                if self._fixed_port:
                    raise
                self.port = free_port()
        return self._start_once()

    def _start_once(self) -> ServerProcess:
        assert self._proc is None, "already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
        env["HOOKGATE_ADMIN_TOKEN"] = self.token
        for key, value in self._env_overrides.items():
            if value is not None:
                env[key] = value
        env["PYTHONUNBUFFERED"] = "1"
        self._log_index += 1
        log_dir = self.data_dir.parent
        stem = f"{self.data_dir.name}-{self.port}-{self._log_index}"
        self._stdout = (log_dir / f"{stem}.out").open("w+b")
        self._stderr = (log_dir / f"{stem}.err").open("w+b")
        self._proc = subprocess.Popen(
            [
                *server_command(),
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                *self.args,
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=self._stderr,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(timeout=2.0, verify=self._verify()) as client:
            while time.monotonic() < deadline:
                assert self._proc is not None
                if self._proc.poll() is not None:
                    logs = self.logs()
                    error = PortInUse if "address already in use" in logs.lower() else RuntimeError
                    raise error(
                        f"hookgate exited with {self._proc.returncode} before it was ready:\n"
                        + logs
                    )
                try:
                    if client.get(f"{self.url}/api/v1/health/ping").status_code == 204:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"hookgate did not answer within {START_TIMEOUT} s:\n" + self.logs())

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT)
        self._close()

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait(STOP_TIMEOUT)
        self._close()

    def _close(self) -> None:
        self._proc = None
        for handle in (self._stdout, self._stderr):
            if handle is not None:
                handle.close()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def logs(self) -> str:
        parts = []
        for handle in (self._stdout, self._stderr):
            if handle is not None and not handle.closed:
                handle.flush()
                handle.seek(0)
                parts.append(handle.read().decode("utf-8", "replace"))
        return "\n".join(parts)

    def http(self, **kwargs: Any) -> httpx.Client:
        """A raw client with the admin token (caller closes it)."""
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=15.0,
            verify=self._verify(),
            **kwargs,
        )

    def _verify(self) -> ssl.SSLContext | bool:
        if self.tls_ca is None:
            return True
        return ssl.create_default_context(cafile=str(self.tls_ca))


# --- the receiver ----------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """How the receiver answers one request."""

    status: int = 200
    body: bytes = b'{"ok":true}'
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Block until this event is set (at most ``hold_timeout`` seconds) before answering.
    hold: threading.Event | None = None
    hold_timeout: float = 60.0


def _as_reply(value: Reply | int) -> Reply:
    return value if isinstance(value, Reply) else Reply(status=value)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]


class _Script:
    def __init__(self, replies: Iterable[Reply], then: Reply) -> None:
        self.queue: deque[Reply] = deque(replies)
        self.then = then

    def next(self) -> Reply:
        return self.queue.popleft() if self.queue else self.then


class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records every request and
    answers per path as scripted (default: 200)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: dict[str, list[Received]] = {}
        self._scripts: dict[str, _Script] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: one request per connection, so a keep-alive race can
            # never turn into a spurious failed attempt.
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:
                receiver._handle(self)

            do_GET = do_PUT = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = 128
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def new_path(self, name: str = "hook") -> str:
        return "/" + unique(name)

    def script(self, path: str, *replies: Reply | int, then: Reply | int = 200) -> None:
        """Answer the next requests on ``path`` with ``replies``, then always ``then``."""
        with self._lock:
            self._scripts[path] = _Script(map(_as_reply, replies), _as_reply(then))

    def requests(self, path: str) -> list[Received]:
        with self._lock:
            return list(self._received.get(path, ()))

    def wait_for(self, path: str, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait (bounded) until at least ``count`` requests arrived on ``path``."""
        return wait_until(
            lambda: got if len(got := self.requests(path)) >= count else None,
            timeout=timeout,
            message=lambda: f"{count} request(s) on {path}, got {len(self.requests(path))}",
        )

    def assert_quiet(self, path: str, expected: int = 0, settle: float = 0.3) -> None:
        """Give stray deliveries ``settle`` seconds to show up, then check the count."""
        time.sleep(settle)
        got = self.requests(path)
        assert len(got) == expected, f"expected {expected} request(s) on {path}, got {len(got)}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        record = Received(
            path=path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            at=time.time(),
        )
        with self._lock:
            self._received.setdefault(path, []).append(record)
            script = self._scripts.get(path)
            reply = script.next() if script is not None else Reply()
        if reply.hold is not None:
            reply.hold.wait(reply.hold_timeout)
        try:
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            handler.wfile.write(reply.body)
            handler.wfile.flush()
        except OSError:
            pass  # the sender went away (e.g. it was killed mid-request)


# --- signatures ------------------------------------------------------------------------


def verify_both(secret: str, received: Received) -> None:
    """The delivery verifies with both reference libraries on the exact bytes."""
    parsed = standardwebhooks.webhooks.Webhook(secret).verify(received.body, received.headers)
    assert isinstance(parsed, dict)
    svix.webhooks.Webhook(secret).verify(received.body, received.headers)


def signatures(received: Received) -> list[str]:
    return received.headers["webhook-signature"].split()


def endpoint_on(
    svix_client: Svix, app_id: str, receiver: Receiver, name: str, **fields: Any
) -> tuple[EndpointOut, str, str]:
    """Create an endpoint on a fresh receiver path; return (endpoint, secret, path)."""
    path = receiver.new_path(name)
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path), **fields))
    return ep, svix_client.endpoint.get_secret(app_id, ep.id).key, path
