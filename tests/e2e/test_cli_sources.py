"""``hookgate source``: sources created from the command line work on a server."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import Receiver, ServerProcess
from tests.e2e.test_cli import _run
from tests.e2e.test_inbound_forwarding import BODY, GITHUB_SECRET, github_headers, post

pytestmark = pytest.mark.slow

#: The receiver is on 127.0.0.1, which the address policy reaches only when allowed.
LOOPBACK_ALLOWED = {"HOOKGATE_ALLOWED_SUBNETS": "127.0.0.0/8"}


@pytest.mark.sqlite_only  # the CLI writes the data dir's embedded database
def test_source_create_makes_a_forwarding_source(
    tmp_path: Path, server_factory: Callable[..., ServerProcess], receiver: Receiver
) -> None:
    data_dir = tmp_path / "data"
    path = receiver.new_path("cli-source")
    created = _run(
        "source",
        "create",
        "github",
        "--secret",
        GITHUB_SECRET,
        "--forward",
        receiver.url(path),
        "--uid",
        "cli-gh",
        "--data-dir",
        str(data_dir),
        env=LOOPBACK_ALLOWED,
    )
    assert created.returncode == 0, created.stderr
    match = re.search(
        r"Send GitHub webhooks to (http://\S+(/in/[\w-]{32}))\nSource src_\w+ \(uid cli-gh\)",
        created.stdout,
    )
    assert match, created.stdout
    listed = _run("source", "list", "--data-dir", str(data_dir))
    assert listed.returncode == 0, listed.stderr
    assert f"cli-gh\tgithub\tGitHub\t{match.group(1)}" in listed.stdout

    server = server_factory(data_dir)
    bodies = [BODY, BODY.replace(b'"n": 1.50', b'"n": 2')]
    for ingest, body in zip((match.group(2), "/in/cli-gh"), bodies, strict=True):
        assert post(server.url + ingest, body, github_headers(body)).status_code == 200
    first, second = receiver.wait_for(path, 2)
    assert sorted([first.body, second.body]) == sorted(bodies)
    assert first.headers["x-hookgate-verified"] == "github"


@pytest.mark.sqlite_only
def test_a_source_created_beside_a_running_server_is_served_within_seconds(
    tmp_path: Path, server_factory: Callable[..., ServerProcess], receiver: Receiver
) -> None:
    data_dir = tmp_path / "data"
    server = server_factory(data_dir)
    # The server has looked the uid up (and found nothing) before it exists.
    assert post(server.url + "/in/late-gh", BODY, github_headers(BODY)).status_code == 404
    path = receiver.new_path("cli-late")
    args = ["--secret", GITHUB_SECRET, "--forward", receiver.url(path), "--uid", "late-gh"]
    created = _run(
        "source", "create", "github", *args, "--data-dir", str(data_dir), env=LOOPBACK_ALLOWED
    )
    assert created.returncode == 0, created.stderr

    deadline = time.monotonic() + 10
    while (
        status := post(server.url + "/in/late-gh", BODY, github_headers(BODY)).status_code
    ) == 404:
        assert time.monotonic() < deadline, "the new source was never served"
        time.sleep(0.2)
    assert status == 200
    assert receiver.wait_for(path, 1)[0].body == BODY


def test_source_create_refuses_a_missing_secret(tmp_path: Path) -> None:
    result = _run("source", "create", "github", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert "needs config.secret" in result.stdout + result.stderr


def test_source_create_refuses_a_destination_no_delivery_could_reach(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    args = ("source", "create", "generic-webhook", "--data-dir", str(data_dir), "--forward")
    result = _run(*args, "http://10.0.0.5/hook")
    assert result.returncode == 2
    assert "10.0.0.5 is a private address" in result.stdout + result.stderr
    assert "HOOKGATE_ALLOWED_SUBNETS=10.0.0.5/32" in result.stdout + result.stderr
    https_only = _run(*args, "http://example.com/", env={"HOOKGATE_ENDPOINT_HTTPS_ONLY": "true"})
    assert https_only.returncode == 2
    assert "HOOKGATE_ENDPOINT_HTTPS_ONLY" in https_only.stdout + https_only.stderr
    assert "src_" not in _run("source", "list", "--data-dir", str(data_dir)).stdout
