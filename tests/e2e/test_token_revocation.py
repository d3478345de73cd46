"""``hookgate token list`` / ``revoke`` around running servers: a revoked
token is refused at once by every server process using the database, even
though each had it cached as valid."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.e2e.harness import ServerProcess, unique
from tests.e2e.test_cli import _run, cli_env

pytestmark = pytest.mark.slow


def _cli(server: ServerProcess, *args: str) -> str:
    env = cli_env(server)
    result = _run(*args, "--data-dir", str(server.data_dir), env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _status(server: ServerProcess, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{server.url}/api/v1/app", headers=headers, timeout=15).status_code


def test_a_token_revoked_with_the_cli_is_refused_at_once(
    server: ServerProcess, server_factory: Callable[..., ServerProcess]
) -> None:
    servers = [server]
    if server.database_url:  # PostgreSQL: another API process on the same database
        servers.append(server_factory(env={"HOOKGATE_DATABASE_URL": server.database_url}))
    name = unique("revoke-me")
    token = _cli(server, "token", "create", "--name", name).strip()
    for each in servers:
        assert [_status(each, token), _status(each, token)] == [200, 200]  # cached

    listing = _cli(server, "token", "list")
    assert listing.splitlines()[0].split("\t") == ["id", "created", "name"]
    [row] = [line.split("\t") for line in listing.splitlines() if line.endswith(name)]
    token_id, created, _ = row
    assert token_id.startswith("tok_")
    assert created.endswith("Z")
    assert token not in listing

    assert _cli(server, "token", "revoke", token_id).strip() == "Revoked."
    assert [_status(each, token) for each in servers] == [401] * len(servers)
    assert [_status(each, each.token) for each in servers] == [200] * len(servers)
    assert name not in _cli(server, "token", "list")


def test_revoking_an_unknown_token_fails_plainly(server: ServerProcess) -> None:
    env = cli_env(server)
    result = _run("token", "revoke", "tok_nope", "--data-dir", str(server.data_dir), env=env)
    assert result.returncode == 1
    assert "No such token" in result.stderr
