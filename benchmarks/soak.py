"""The opt-in ``--soak`` phase: memory stays flat at a steady rate.

``hookgate serve`` (API and worker in one process, SQLite) gets message-create
requests at a steady ``--soak-rate`` (default 300/s, open loop, ``load.py open``)
for ``--soak-seconds`` (default 600), each delivered to the receiver. The serve
process's RSS (``VmRSS``) is sampled every ``SAMPLE_S`` seconds. After a warm-up
(a tenth of the run, at most a minute) the mean RSS of the first minute is
compared with the mean of the last minute (windows shrink to a fifth of the run
for short smoke runs); drift = last / first - 1, target <= 10 %. Every accepted
message must also have been delivered by the end.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import mark
from benchmarks.phases import (
    Context,
    create_app_and_endpoint,
    ok_count,
    profiled,
    receiver_count,
    start_hookgate,
    wait_received,
)
from benchmarks.procs import PYTHON, PhaseError, cpu_seconds

SOAK_SECONDS = 600.0
SOAK_RATE = 300.0
SAMPLE_S = 5.0
DRIFT_TARGET = 0.10


@dataclass
class SoakResult:
    rate: float
    seconds: float
    warmup_s: float
    window_s: float
    samples: list[tuple[float, int]]  # (seconds since the load started, RSS bytes)
    sent: int
    accepted: int
    received: int
    cpu_ms: float  # serve CPU per message over the run

    def _mean(self, start: float, stop: float) -> float:
        values = [rss for t, rss in self.samples if start <= t <= stop]
        if not values:
            raise PhaseError(f"no RSS sample between {start:.0f} s and {stop:.0f} s")
        return statistics.mean(values)

    @property
    def first_rss(self) -> float:
        return self._mean(self.warmup_s, self.warmup_s + self.window_s)

    @property
    def last_rss(self) -> float:
        return self._mean(self.seconds - self.window_s, self.seconds)

    @property
    def drift(self) -> float:
        return self.last_rss / self.first_rss - 1


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise PhaseError(f"no VmRSS for process {pid}")


def bench_soak(ctx: Context, seconds: float = SOAK_SECONDS, rate: float = SOAK_RATE) -> SoakResult:
    server = start_hookgate(ctx, "hookgate-soak", ctx.work_dir / "soak-data", worker=True)
    app_id = create_app_and_endpoint(ctx, server, f"{ctx.receiver}/hook")
    url = f"{server.base}/api/v1/app/{app_id}/msg"
    argv = [PYTHON, "-m", "benchmarks.load", "open", "--url", url, "--rate", str(rate)]
    argv += ["--duration", str(seconds), "--token", ctx.token]
    before = int(receiver_count(ctx)["count"])
    cpu0 = cpu_seconds(server.proc.pid)
    samples: list[tuple[float, int]] = []
    with profiled(ctx, "soak", server.proc.pid):
        load = ctx.procs.start("load-soak", argv)
        began = time.monotonic()
        while load.poll() is None:
            elapsed = time.monotonic() - began
            if server.proc.poll() is not None:
                raise PhaseError(f"hookgate exited with {server.proc.returncode} during the soak")
            if elapsed > seconds + 120:
                raise PhaseError(f"the soak load did not end within {seconds + 120:.0f} s")
            samples.append((elapsed, _rss_bytes(server.proc.pid)))
            time.sleep(min(SAMPLE_S, max(0.1, seconds + 1 - elapsed)))
    if load.returncode != 0:
        raise PhaseError(f"load-soak exited with {load.returncode}")
    log = (ctx.work_dir / "load-soak.log").read_text().strip().splitlines()
    result = json.loads(log[-1])
    accepted = ok_count(result, "202")
    stats = wait_received(ctx, before + accepted, timeout=60.0, proc=server.proc)
    cpu = cpu_seconds(server.proc.pid) - cpu0
    ctx.procs.stop(server.proc)
    warmup = min(60.0, seconds / 10)
    return SoakResult(
        rate=rate,
        seconds=seconds,
        warmup_s=warmup,
        window_s=min(60.0, seconds / 5),
        samples=samples,
        sent=int(result["sent"]),
        accepted=accepted,
        received=int(stats["count"]) - before,
        cpu_ms=cpu * 1000 / max(accepted, 1),
    )


def report_soak(r: SoakResult) -> list[str]:
    ok = r.drift <= DRIFT_TARGET and r.received == r.accepted == r.sent
    peak = max(rss for _, rss in r.samples)
    return [
        f"soak @{r.rate:,.0f}/s for {r.seconds:,.0f} s: RSS {r.first_rss / 2**20:,.1f} MiB "
        f"(first {r.window_s:.0f} s after {r.warmup_s:.0f} s warm-up) -> "
        f"{r.last_rss / 2**20:,.1f} MiB (last {r.window_s:.0f} s): drift {r.drift:+.1%} "
        f"(target <= {DRIFT_TARGET:.0%}) [{mark(ok)}]",
        f"    sent {r.sent:,}, accepted {r.accepted:,}, delivered {r.received:,}; peak RSS "
        f"{peak / 2**20:,.1f} MiB; {len(r.samples)} samples every {SAMPLE_S:g} s; serve CPU "
        f"{r.cpu_ms:.2f} ms per message (accept + delivery)",
    ]
