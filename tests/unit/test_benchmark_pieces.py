"""Cheap checks of the benchmark's own pieces (no server, no load): the runner's
command line, the window arithmetic of the long phases and the peers' inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.backlog import _crossing
from benchmarks.peers_webhook import _write_inputs
from benchmarks.soak import SoakResult

ROOT = Path(__file__).resolve().parents[2]


def test_the_runner_lists_every_phase_in_its_help() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    for phase in ("celery", "webhook", "backlog-1m", "soak", "--soak-seconds"):
        assert phase in out


def test_a_count_crossing_is_interpolated_between_samples() -> None:
    samples = [(10.0, 0, 1.0), (11.0, 100, 2.0), (13.0, 300, 4.0)]
    assert _crossing(samples, 200) == (12.0, 3.0)
    assert _crossing(samples, 100) == (11.0, 2.0)


def test_soak_drift_compares_the_last_window_with_the_first_after_warm_up() -> None:
    samples = [(0.0, 50), (1.0, 100), (2.0, 100), (8.0, 110), (9.0, 110), (10.0, 110)]
    result = SoakResult(
        rate=1.0,
        seconds=10.0,
        warmup_s=1.0,
        window_s=2.0,
        samples=samples,
        sent=10,
        accepted=10,
        received=10,
        cpu_ms=1.0,
    )
    assert result.first_rss == 100
    assert result.last_rss == 110
    assert result.drift == pytest.approx(0.10)


def test_the_webhook_peer_verifies_the_inbound_phases_signature(tmp_path: Path) -> None:
    script, hooks, size = _write_inputs(tmp_path)
    hook = json.loads(hooks.read_text())[0]
    rule = hook["trigger-rule"]["match"]
    assert rule["type"] == "payload-hmac-sha256"
    assert rule["secret"] == "bench-secret"
    assert rule["parameter"] == {"source": "header", "name": "X-Hub-Signature-256"}
    assert (tmp_path / "push.json").stat().st_size == size
    assert '["X-Hub-Signature-256"] = "sha256=' in script.read_text()


def test_the_celery_task_signs_as_standard_webhooks_verify() -> None:
    pytest.importorskip("celery")
    from benchmarks import celery_peer
    from standardwebhooks import Webhook

    body = b'{"type":"bench.event"}'
    headers = celery_peer.signed_headers("msg_1", body)
    Webhook(celery_peer.SECRET).verify(body, headers)


def test_the_celery_phase_is_skipped_when_redis_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("redis")
    from benchmarks import peers_celery
    from benchmarks.common import free_port
    from benchmarks.procs import PhaseSkipped

    monkeypatch.setattr(peers_celery, "REDIS_PORT", free_port())
    with pytest.raises(PhaseSkipped, match="does not answer"):
        peers_celery._redis_client()


def test_the_webhook_phase_is_skipped_when_a_tool_cannot_be_installed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from benchmarks import peers_webhook
    from benchmarks.procs import PhaseSkipped, Procs

    monkeypatch.setattr(peers_webhook.shutil, "which", lambda _: None)
    ctx = peers_webhook.Context(procs=Procs(tmp_path), work_dir=tmp_path, receiver_port=1)
    with pytest.raises(PhaseSkipped, match="no apt-get"):
        peers_webhook._ensure(ctx, "webhook", "webhook")
