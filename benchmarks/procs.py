"""Starting, probing and always stopping the benchmark's child processes."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

PYTHON = sys.executable


class PhaseError(RuntimeError):
    """A benchmark phase could not complete (a child died, a timeout ran out...)."""


class PhaseSkipped(RuntimeError):
    """A phase cannot run here (a peer or tool is missing); the message says why."""


class Procs:
    """Owns every child process the benchmark starts; ``close`` stops them all.

    Children get their own session (a Ctrl-C in the terminal reaches only the
    benchmark, which then stops them in order) and log to files in ``log_dir``.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def __enter__(self) -> Procs:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(
        self, name: str, argv: Sequence[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        finally:
            log.close()  # the child holds its own copy
        self._procs.append((name, proc))
        return proc

    def run(
        self, name: str, argv: Sequence[str], timeout: float, env: dict[str, str] | None = None
    ) -> str:
        """Run a child to completion and return its stdout (stderr goes to the log)."""
        with (self.log_dir / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        self._procs.append((name, proc))
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(proc)
            raise PhaseError(f"{name} did not finish within {timeout:.0f} s") from None
        if proc.returncode != 0:
            raise PhaseError(f"{name} exited with {proc.returncode}; see {self.log_dir}/{name}.log")
        return out.decode()

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
        """SIGTERM, wait up to ``timeout``, then SIGKILL. Only ever our own child."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(timeout=5)
        self._procs = [(n, p) for n, p in self._procs if p is not proc]

    def close(self) -> None:
        for _, proc in reversed(list(self._procs)):
            self.stop(proc, timeout=10.0)

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_http(
    url: str, proc: subprocess.Popen[bytes], timeout: float, *, what: str = "server"
) -> float:
    """Poll ``url`` (GET) until it answers below 500; return when (``time.time()``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PhaseError(f"{what} exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status < 500:
                    return time.time()
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return time.time()
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.01)
    raise PhaseError(f"{what} did not answer {url} within {timeout:.0f} s")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) used so far by a running process
    and its descendants (e.g. the server's sending process), those still
    running and those it has reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # utime, stime, cutime, cstime (fields 14 to 17)
    ticks = sum(int(field) for field in fields[11:15])
    total = ticks / os.sysconf("SC_CLK_TCK")
    for child in _children(pid):
        with contextlib.suppress(OSError, ValueError):
            total += cpu_seconds(child)
    return total


def _children(pid: int) -> list[int]:
    """The running children of ``pid``."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def children_cpu_seconds() -> float:
    """CPU time of every reaped child so far (for processes run to completion)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_pressure_us() -> float | None:
    """Total time (µs) some runnable task waited for a CPU (Linux PSI), if available."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return float(first.rpartition("total=")[2])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a child: ours without HOOKGATE_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
    env.update(extra)
    return env
