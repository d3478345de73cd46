"""The adnanh/webhook peer phase: inbound GitHub pushes, Hookgate vs ``webhook`` (Go).

Both get the requests of the inbound phase (``common.github_push_payload``,
``X-Hub-Signature-256`` with ``GITHUB_SECRET``, a unique ``X-GitHub-Delivery``
per request) from ``wrk`` (``WRK_THREADS`` threads, ``--concurrency``
connections, a Lua script that numbers the delivery ids): a C load generator,
because the Python one tops out below what ``webhook`` answers.

- Hookgate: ``hookgate serve --no-worker``, a ``github`` source without
  destinations: verified, stored (group commit, SQLite) and answered 200.
- webhook: Debian's ``webhook`` package (installed with ``apt-get`` when
  missing), one hook whose trigger rule is ``payload-hmac-sha256`` on
  ``X-Hub-Signature-256`` with the same secret, ``execute-command: /bin/true``
  and ``response-message: ok``: verified, a no-op command run, stores nothing.

The servers alternate for ``rounds`` rounds of ``seconds`` each after a
``WARMUP_S`` warm-up of each; every answer must be 2xx (wrk's status, connect,
read, write and timeout error counts must be zero). Skipped, saying why, when
``webhook`` or ``wrk`` is missing and cannot be installed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

import orjson

from benchmarks.common import (
    GITHUB_SECRET,
    GITHUB_SOURCE_UID,
    free_port,
    github_headers,
    mark,
)
from benchmarks.common import github_push_payload as push_payload
from benchmarks.phases import (
    STARTUP_TIMEOUT_S,
    Context,
    create_github_source,
    profiled,
    start_hookgate,
)
from benchmarks.procs import PhaseError, PhaseSkipped, clean_env, wait_http

WRK_THREADS = 2
HOOK_ID = GITHUB_SOURCE_UID
WEBHOOK_TARGET = 1.0
APT_TIMEOUT_S = 300.0
#: A new server answers slower for its first seconds (measured: half the rate).
WARMUP_S = 3.0

_WRK_SCRIPT = """
local f = assert(io.open(%(body)s, "rb")); local body = f:read("*a"); f:close()
local headers = %(headers)s
local counter = 0
prefix = "run"
tid = 0
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) prefix = args[1] or "run" end
function request()
  counter = counter + 1
  headers["X-GitHub-Delivery"] = prefix .. "-" .. tid .. "-" .. counter
  return wrk.format("POST", nil, headers, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, '
    .. '"status": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class WrkRun:
    rps: float
    cpu_ms: float  # server CPU per request
    p99_ms: float


@dataclass
class WebhookResult:
    seconds: float
    concurrency: int
    body_bytes: int
    hookgate: list[WrkRun]  # one per round
    webhook: list[WrkRun]

    @property
    def hookgate_rps(self) -> float:
        return statistics.median(r.rps for r in self.hookgate)

    @property
    def webhook_rps(self) -> float:
        return statistics.median(r.rps for r in self.webhook)

    @property
    def ratio(self) -> float:
        return self.hookgate_rps / self.webhook_rps

    @property
    def round_ratios(self) -> list[float]:
        return [h.rps / w.rps for h, w in zip(self.hookgate, self.webhook, strict=True)]


def _ensure(ctx: Context, tool: str, package: str) -> str:
    """The path of ``tool``, installing Debian's ``package`` if it is missing."""
    found = shutil.which(tool)
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        raise PhaseSkipped(f"{tool} is not installed and there is no apt-get to install it")
    try:
        ctx.procs.run(f"apt-{package}", [apt, "install", "-y", package], APT_TIMEOUT_S)
    except PhaseError as exc:
        raise PhaseSkipped(f"{tool} is not installed and apt-get install failed: {exc}") from None
    found = shutil.which(tool)
    if found is None:
        raise PhaseSkipped(f"apt-get installed {package} but {tool} is still not on PATH")
    return found


def _write_inputs(work: Path) -> tuple[Path, Path, int]:
    """The push body, the wrk script and the webhook hooks file; returns their
    paths (script, hooks) and the body size."""
    body = orjson.dumps(push_payload())
    headers = github_headers(body, GITHUB_SECRET)
    (work / "push.json").write_bytes(body)
    pairs = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    script = work / "push.lua"
    values = {"body": json.dumps(str(work / "push.json")), "headers": "{" + pairs + "}"}
    script.write_text(_WRK_SCRIPT % values)
    rule = {
        "type": "payload-hmac-sha256",
        "secret": GITHUB_SECRET,
        "parameter": {"source": "header", "name": "X-Hub-Signature-256"},
    }
    hook = {
        "id": HOOK_ID,
        "execute-command": "/bin/true",
        "response-message": "ok",
        "http-methods": ["POST"],
        "trigger-rule": {"match": rule},
    }
    hooks = work / "hooks.json"
    hooks.write_text(json.dumps([hook]))
    return script, hooks, len(body)


def _cpu_with_children(pid: int) -> float:
    """CPU of ``pid`` plus its reaped children (webhook's ``/bin/true`` runs)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _wrk(
    ctx: Context, wrk: str, script: Path, url: str, seconds: float, pid: int, name: str
) -> WrkRun:
    argv = [wrk, "-t", str(WRK_THREADS), "-c", str(ctx.concurrency), "-d", f"{seconds:g}s"]
    argv += ["-s", str(script), url, "--", secrets.token_hex(6)]
    cpu0 = _cpu_with_children(pid)
    out = ctx.procs.run(name, argv, seconds + 60)
    cpu = _cpu_with_children(pid) - cpu0
    result = json.loads(out.strip().splitlines()[-1])
    errors = {k: result[k] for k in ("connect", "read", "write", "status", "timeout") if result[k]}
    if errors or not result["requests"]:
        raise PhaseError(f"{name}: {result['requests']} requests, errors {errors}")
    rps = result["requests"] / (result["duration_us"] / 1e6)
    return WrkRun(rps, cpu * 1000 / result["requests"], result["p99_us"] / 1000)


def report_webhook(r: WebhookResult) -> list[str]:
    ok = r.ratio >= WEBHOOK_TARGET
    per_round = ", ".join(f"{x:.2f}" for x in r.round_ratios)
    ours = statistics.median(x.cpu_ms for x in r.hookgate)
    theirs = statistics.median(x.cpu_ms for x in r.webhook)
    return [
        f"inbound vs webhook: hookgate {r.hookgate_rps:,.0f}/s vs adnanh/webhook "
        f"{r.webhook_rps:,.0f}/s -> ratio {r.ratio:.2f} (target >= {WEBHOOK_TARGET}) "
        f"[{mark(ok)}]",
        f"    wrk, {WRK_THREADS} threads, {r.concurrency} connections, {r.seconds:g} s per "
        f"round: GitHub push ({r.body_bytes:,} bytes, X-Hub-Signature-256, unique "
        f"X-GitHub-Delivery); hookgate verifies and stores (--no-worker), webhook verifies "
        f"and runs /bin/true; median of {len(r.hookgate)} alternating round(s), per-round "
        f"ratios {per_round}",
        f"    server CPU per request: hookgate {ours:.3f} ms vs webhook {theirs:.3f} ms "
        f"(its /bin/true children included); p99 latency hookgate "
        f"{statistics.median(x.p99_ms for x in r.hookgate):.1f} ms, webhook "
        f"{statistics.median(x.p99_ms for x in r.webhook):.1f} ms",
    ]


def bench_webhook(ctx: Context, seconds: float, rounds: int) -> WebhookResult:
    """Alternate webhook and Hookgate under the same wrk load, ``rounds`` times."""
    webhook = _ensure(ctx, "webhook", "webhook")
    wrk = _ensure(ctx, "wrk", "wrk")
    work = ctx.work_dir / "webhook-peer"
    work.mkdir(exist_ok=True)
    script, hooks, body_bytes = _write_inputs(work)
    port = free_port()
    argv = [webhook, "-hooks", str(hooks), "-ip", "127.0.0.1", "-port", str(port)]
    peer: subprocess.Popen[bytes] = ctx.procs.start("webhook", argv, clean_env())
    peer_url = f"http://127.0.0.1:{port}/hooks/{HOOK_ID}"
    wait_http(f"http://127.0.0.1:{port}/", peer, STARTUP_TIMEOUT_S, what="webhook")
    server = start_hookgate(ctx, "hookgate-inbound-peer", work / "data", worker=False)
    create_github_source(ctx, server, GITHUB_SOURCE_UID)
    url = f"{server.base}/in/{GITHUB_SOURCE_UID}"
    pid = server.proc.pid
    _wrk(ctx, wrk, script, peer_url, WARMUP_S, peer.pid, "wrk-webhook-warmup")
    _wrk(ctx, wrk, script, url, WARMUP_S, pid, "wrk-hookgate-warmup")
    theirs: list[WrkRun] = []
    ours: list[WrkRun] = []
    for index in range(rounds):
        theirs.append(_wrk(ctx, wrk, script, peer_url, seconds, peer.pid, f"wrk-webhook-{index}"))
        with profiled(ctx, "inbound-wrk" if index == 0 else f"inbound-wrk-{index}", pid):
            ours.append(_wrk(ctx, wrk, script, url, seconds, pid, f"wrk-hookgate-{index}"))
    ctx.procs.stop(peer)
    ctx.procs.stop(server.proc)
    return WebhookResult(seconds, ctx.concurrency, body_bytes, ours, theirs)
