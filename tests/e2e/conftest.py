"""Fixtures for the end-to-end suite: one shared server per storage backend
(embedded SQLite and PostgreSQL) and one receiver per session, and a fresh
application per test.

Every test that uses a server runs once per backend (``test_x[sqlite]``,
``test_x[postgresql]``); mark a test ``sqlite_only`` when it is about the
embedded mode alone, and ``xfail_postgresql(reason)`` for a known server bug
seen on PostgreSQL only (a strict xfail of that variant). An unreachable
PostgreSQL fails the tests, never skips them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from svix.api import ApplicationIn, Svix, SvixOptions

from tests.e2e.browser import CHROMIUM, TIMEOUT_MS, Screenshots
from tests.e2e.harness import BACKENDS, Backend, Receiver, ServerProcess, unique


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: about the embedded SQLite mode alone (no PostgreSQL variant)"
    )
    config.addinivalue_line(
        "markers",
        "xfail_postgresql(reason): known server bug on PostgreSQL only (strict xfail there)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the PostgreSQL variant of ``sqlite_only`` tests; turn
    ``xfail_postgresql`` into a strict xfail of the PostgreSQL variant."""
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        if item.get_closest_marker("sqlite_only") and backend not in (None, "sqlite"):
            dropped.append(item)
            continue
        known_bug = item.get_closest_marker("xfail_postgresql")
        if known_bug is not None and backend == "postgresql":
            reason = known_bug.kwargs.get("reason") or (known_bug.args or ("",))[0]
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
        keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def make_svix(server: ServerProcess, token: str | None = None) -> Svix:
    # No client-side retries: a 5xx from the server must surface, not be retried away.
    return Svix(token or server.token, SvixOptions(server_url=server.url, retry_schedule=[]))


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The storage backend; drops its PostgreSQL databases when done with."""
    chosen = Backend(request.param)
    try:
        yield chosen
    finally:
        chosen.close()


def _server_env(backend: Backend) -> dict[str, str | None]:
    try:
        return backend.server_env()
    except Exception as exc:  # any connection problem fails (never skips) the tests
        pytest.fail(f"PostgreSQL is not usable for the e2e tests: {exc!r}", pytrace=False)


@pytest.fixture(scope="session")
def server(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = _server_env(backend)
    proc = ServerProcess(tmp_path_factory.mktemp(f"main-{backend.name}") / "data", env=env)
    try:
        proc.start()
        yield proc
    finally:
        proc.stop()
        backend.release(env)


@pytest.fixture
def server_env(backend: Backend) -> Iterator[Callable[[], dict[str, str | None]]]:
    """For tests that run servers by hand: ``server_env()`` gives environment
    overrides with a storage of its own on the backend (reuse the same dict and
    data dir for a restart). Databases are dropped at teardown, so stop the
    servers first."""
    made: list[dict[str, str | None]] = []

    def make() -> dict[str, str | None]:
        env = _server_env(backend)
        made.append(env)
        return env

    yield make
    for env in made:
        backend.release(env)


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
def server_factory(
    tmp_path: Path, server_env: Callable[[], dict[str, str | None]]
) -> Iterator[Callable[..., ServerProcess]]:
    """Start extra servers on the test's backend for one test; all are stopped at
    teardown. Servers on the same data dir share their storage (a restart)."""
    started: list[ServerProcess] = []
    storage: dict[Path, dict[str, str | None]] = {}

    def start(
        data_dir: Path | None = None,
        *,
        env: dict[str, str | None] | None = None,
        token: str | None = None,
    ) -> ServerProcess:
        data_dir = data_dir or tmp_path / unique("data")
        if data_dir not in storage:
            storage[data_dir] = server_env()
        proc = ServerProcess(data_dir, env={**storage[data_dir], **(env or {})}, token=token)
        started.append(proc)
        return proc.start()

    try:
        yield start
    finally:
        for proc in started:
            proc.stop()


# --- the browser ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium, one per test module: Playwright's sync API
    keeps an event loop running in the main thread while it is open, which
    ``asyncio.run`` (and pytest-asyncio) cannot run beside, so it is closed
    before the next module's tests (keep browser journeys in modules of their
    own, and use ``harness.run_sync`` in them)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    """Screenshots of this test, under ``artifacts/browser/<test name>/``."""
    return Screenshots(request.node.name)
