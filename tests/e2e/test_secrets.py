"""Secrets at rest and in logs, through the real server and command line:
the embedded data directory is private and holds no secret in clear, the
key rotates with ``hookgate secrets rotate-key``, PostgreSQL refuses to
start without a key, and no log line carries a secret, a token or an
``/in/<token>`` path."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from svix.api import ApplicationIn, EndpointIn, EndpointSecretRotateIn, IngestSourceIn, Svix
from svix.models import GithubConfig

from tests.e2e.conftest import make_svix
from tests.e2e.harness import ServerProcess, server_command, unique
from tests.e2e.test_inbound import GITHUB_BODY, GITHUB_SECRET, github_headers

pytestmark = pytest.mark.slow

ENDPOINT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ROTATED_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
SOURCE_SECRET = GITHUB_SECRET


def _hookgate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
    clean.update(env or {})
    return subprocess.run(
        [*server_command(), *args], capture_output=True, text=True, env=clean, timeout=60
    )


@contextlib.contextmanager
def _svix(server: ServerProcess) -> Iterator[Svix]:
    client = make_svix(server)
    try:
        yield client
    finally:
        client._httpx_client.close()


def _store_secrets(svix: Svix) -> tuple[str, str, str]:
    """An endpoint with a rotated secret and a GitHub source with a rotated
    token that has received a request; returns (app id, endpoint id, source id)."""
    app = svix.application.create(ApplicationIn(name="secrets", uid=unique("app")))
    endpoint = svix.endpoint.create(
        app.id, EndpointIn(url="https://example.com/hook", secret=ENDPOINT_SECRET)
    )
    svix.endpoint.rotate_secret(app.id, endpoint.id, EndpointSecretRotateIn(key=ROTATED_SECRET))
    source = svix.ingest.source.create(
        IngestSourceIn(name="gh", type="github", config=GithubConfig(secret=SOURCE_SECRET))
    )
    url = svix.ingest.source.rotate_token(source.id).ingest_url
    response = httpx.post(url, content=GITHUB_BODY, headers=github_headers(GITHUB_BODY))
    assert response.status_code == 200, response.text
    return app.id, endpoint.id, source.id


def _token(svix: Svix, source_id: str) -> str:
    url = svix.ingest.source.get(source_id).ingest_url
    assert url is not None
    return url.rsplit("/", 1)[1]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.sqlite_only
def test_the_data_directory_is_private_and_holds_no_secret_in_clear(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory()
    with _svix(server) as svix:
        _, _, source_id = _store_secrets(svix)
        token = _token(svix, source_id)
    files = sorted(path.name for path in server.data_dir.iterdir())
    assert {"hookgate.db", "hookgate.db-wal", "hookgate.db-shm", "secret.key"} <= set(files)
    assert _mode(server.data_dir) == 0o700
    assert {name: _mode(server.data_dir / name) for name in files} == dict.fromkeys(files, 0o600)
    for path in server.data_dir.iterdir():
        content = path.read_bytes()
        for secret in (ENDPOINT_SECRET, ROTATED_SECRET, SOURCE_SECRET, token):
            assert secret.encode() not in content, f"{secret} in {path.name}"


@pytest.mark.sqlite_only
def test_rotate_key_moves_every_secret_to_the_new_key(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    server = server_factory(data_dir)
    with _svix(server) as svix:
        app_id, endpoint_id, source_id = _store_secrets(svix)
        token = _token(svix, source_id)
    server.stop()

    generated = _hookgate("secrets", "generate-key")
    assert generated.returncode == 0, generated.stderr
    new_key = generated.stdout.strip()
    # The generated secret.key is still read as the last key: it opens what
    # it sealed while everything is re-encrypted under the new one.
    rotated = _hookgate(
        "secrets", "rotate-key", "--data-dir", str(data_dir), env={"HOOKGATE_SECRET_KEY": new_key}
    )
    assert rotated.returncode == 0, rotated.stderr
    # Five stored responses: the SDK sends an Idempotency-Key with every POST.
    assert "1 endpoint(s) and 1 source(s), and 5 stored response(s)" in rotated.stdout
    (data_dir / "secret.key").unlink()

    wrong = _hookgate(
        "migrate",
        "--data-dir",
        str(data_dir),
        env={"HOOKGATE_SECRET_KEY": _hookgate("secrets", "generate-key").stdout.strip()},
    )
    assert wrong.returncode == 1
    assert "cannot be decrypted with any key" in wrong.stderr

    again = server_factory(data_dir, env={"HOOKGATE_SECRET_KEY": new_key}, token=server.token)
    with _svix(again) as svix:
        assert svix.endpoint.get_secret(app_id, endpoint_id).key == ROTATED_SECRET
        assert _token(svix, source_id) == token
    url = f"{again.url}/in/{token}"
    response = httpx.post(url, content=GITHUB_BODY, headers=github_headers(GITHUB_BODY))
    assert response.status_code == 200, response.text


def test_postgresql_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    result = _hookgate(
        "serve",
        "--data-dir",
        str(tmp_path / "data"),
        env={"HOOKGATE_DATABASE_URL": "postgresql://root@127.0.0.1:5432/test"},
    )
    assert result.returncode == 1
    assert "HOOKGATE_SECRET_KEY is required with PostgreSQL" in result.stderr
    assert "hookgate secrets generate-key" in result.stderr


def test_no_log_line_carries_a_secret_or_token(server: ServerProcess) -> None:
    with _svix(server) as svix:
        app_id, endpoint_id, source_id = _store_secrets(svix)
        token = _token(svix, source_id)
    base = f"{server.url}/in/{token}"
    with server.http() as api:
        # Error paths: refused signatures, methods, sizes; unknown tokens;
        # invalid secrets; deliveries that fail.
        assert httpx.post(base, content=b"{}", headers={"X-Hub-Signature-256": "x"}).is_error
        assert httpx.put(base, content=b"{}").status_code == 405
        assert httpx.post(f"{base}x", content=b"{}").status_code == 404
        assert httpx.post(base, content=b"x" * (2 << 20)).status_code == 413
        bad_secret = {"key": ENDPOINT_SECRET[:-3] + "!!!"}
        rotate = f"/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate"
        assert api.post(rotate, json=bad_secret).status_code == 422
        assert api.post(
            f"/api/v1/app/{app_id}/msg", json={"eventType": "x", "payload": {}}
        ).is_success
    logs = server.logs()
    for secret in (ENDPOINT_SECRET, ROTATED_SECRET, SOURCE_SECRET, token, f"/in/{token}"):
        assert secret not in logs
    assert json.dumps(SOURCE_SECRET) not in logs
