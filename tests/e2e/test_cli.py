"""The ``hookgate`` command line around a running server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from svix.api import ApplicationIn

from tests.e2e.conftest import make_svix
from tests.e2e.harness import ServerProcess, free_port, server_command, unique

#: Server settings a command needs to find (and read) the server's storage.
CLI_SETTINGS = ("HOOKGATE_DATABASE_URL", "HOOKGATE_SECRET_KEY")

# Every test here drives real server processes over HTTP.
pytestmark = pytest.mark.slow


def cli_env(server: ServerProcess) -> dict[str, str]:
    """The settings a command needs to use ``server``'s storage."""
    return {k: v for k, v in server.env.items() if k in CLI_SETTINGS and v is not None}


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
    clean.update(env or {})
    return subprocess.run(
        [*server_command(), *args],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
        check=False,
    )


def test_token_create_makes_a_working_api_token(server: ServerProcess) -> None:
    # The CLI finds the server's storage as the server does: the data dir, or
    # the PostgreSQL database the server was given.
    env = cli_env(server)
    result = _run("token", "create", "--name", "e2e", "--data-dir", str(server.data_dir), env=env)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("hg_")

    client = make_svix(server, token=token)
    try:
        app = client.application.create(ApplicationIn(name="via cli token", uid=unique("cli")))
        assert client.application.get(app.id).name == "via cli token"
    finally:
        client._httpx_client.close()


@pytest.mark.sqlite_only  # the data-dir lock guards the embedded database only
def test_second_server_on_the_same_data_dir_is_refused(server: ServerProcess) -> None:
    result = _run("serve", "--port", str(free_port()), "--data-dir", str(server.data_dir))
    assert result.returncode != 0
    assert "Another hookgate process is using" in result.stdout + result.stderr


def test_invalid_configuration_is_reported_plainly(tmp_path: Path) -> None:
    result = _run(
        "serve",
        "--port",
        str(free_port()),
        "--data-dir",
        str(tmp_path / "data"),
        env={"HOOKGATE_RETRY_SCHEDULE": "5,-1"},
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "HOOKGATE_RETRY_SCHEDULE" in output
    assert "Traceback" not in output
