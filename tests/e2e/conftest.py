"""Fixtures for the end-to-end suite: one shared server and receiver per session,
and a fresh application per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from svix.api import ApplicationIn, Svix, SvixOptions

from tests.e2e.harness import Receiver, ServerProcess, unique


def make_svix(server: ServerProcess, token: str | None = None) -> Svix:
    # No client-side retries: a 5xx from the server must surface, not be retried away.
    return Svix(token or server.token, SvixOptions(server_url=server.url, retry_schedule=[]))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("main") / "data").start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    recv = Receiver()
    try:
        yield recv
    finally:
        recv.close()


@pytest.fixture(scope="session")
def svix_client(server: ServerProcess) -> Iterator[Svix]:
    client = make_svix(server)
    try:
        yield client
    finally:
        client._httpx_client.close()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    """Raw HTTP with the admin token, for requests the SDK would not make."""
    with server.http() as client:
        yield client


@pytest.fixture
def app_id(server: ServerProcess, svix_client: Svix) -> str:
    """A fresh application (unique uid) so tests never see each other's data."""
    assert server.running, "the shared server died:\n" + server.logs()
    return svix_client.application.create(ApplicationIn(name="e2e", uid=unique("app"))).id


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start extra servers for one test; all are stopped at teardown."""
    started: list[ServerProcess] = []

    def start(
        data_dir: Path | None = None,
        *,
        env: dict[str, str | None] | None = None,
        token: str | None = None,
    ) -> ServerProcess:
        proc = ServerProcess(data_dir or tmp_path / unique("data"), env=env, token=token)
        started.append(proc)
        return proc.start()

    try:
        yield start
    finally:
        for proc in started:
            proc.stop()
