"""``hookgate tail``: a terminal following a bin shows the requests sent
after it started, with their bodies, and Ctrl-C ends it cleanly."""

from __future__ import annotations

import os
import pty
import select
import signal
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.e2e.harness import ServerProcess, server_command
from tests.e2e.test_bins import create_bin
from tests.e2e.test_cli import _run
from tests.e2e.test_cli_trigger import ANSI

pytestmark = pytest.mark.slow


class Terminal:
    """``hookgate *args`` running on a pseudo-terminal, read as it prints."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        full = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
        full.update({"TERM": "xterm-256color", "COLUMNS": "200", "LINES": "50", **env})
        full.pop("NO_COLOR", None)
        command = [*server_command(), *args]
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the command
            os.execvpe(command[0], command, full)
        self.raw = b""
        self.closed = False

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw.decode("utf-8", "replace")).replace("\r", "")

    def _read(self, wait: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], wait)
        if not ready:
            return
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            self.closed = True
        self.raw += chunk

    def wait_for(self, done: Callable[[str], bool], timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while not done(self.text):
            assert not self.closed, f"the command ended early:\n{self.text}"
            assert time.monotonic() < deadline, f"not seen in time:\n{self.text}"
            self._read(0.5)
        return self.text

    def interrupt(self, timeout: float = 30) -> int:
        os.kill(self.pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._read(0.5)
        os.close(self.fd)
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ChildProcessError, ProcessLookupError):
            pass


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    yield started
    for terminal in started:
        terminal.kill()


def test_tail_shows_new_requests_with_bodies_and_stops_on_ctrl_c(
    server: ServerProcess, api: httpx.Client, terminals: list[Terminal]
) -> None:
    created = create_bin(api)
    url = created["ingestUrl"]
    assert httpx.post(url + "/before-tail", content=b"old").status_code == 200

    env = {"HOOKGATE_URL": server.url, "HOOKGATE_TOKEN": server.token}
    terminal = Terminal("tail", created["id"], "--body", "--interval", "0.2", env=env)
    terminals.append(terminal)
    terminal.wait_for(lambda text: "Tailing" in text)

    json_body = b'{"b":1,  "a":[1,2],"s":"\\u00e9"}'
    headers = {"Content-Type": "application/json"}
    assert httpx.post(url + "/hooks?x=1", content=json_body, headers=headers).status_code == 200
    binary = bytes([0, 1, 2, 0xFF, 0xFE]) * 4
    assert httpx.put(url + "/blob", content=binary).status_code == 200
    assert httpx.delete(url + "/items/7").status_code == 200

    text = terminal.wait_for(lambda text: "/in/<token>/items/7" in text)
    lines = text.splitlines()
    first = next(line for line in lines if "/in/<token>/hooks?x=1" in line)
    assert "POST" in first
    assert f"{len(json_body)} B" in first
    assert "application/json" in first
    assert "accepted" in first
    assert '  "b": 1,' in text
    assert '"s": "é"' in text
    assert "00000000  00 01 02 ff fe 00 01 02" in text  # binary as hex
    assert any("PUT" in line and "/in/<token>/blob" in line and "20 B" in line for line in lines)
    assert any("DELETE" in line and "/items/7" in line for line in lines)
    order = [text.index(p) for p in ("/hooks?x=1", "/blob", "/items/7")]
    assert order == sorted(order)
    assert "/before-tail" not in text  # it starts from now

    assert terminal.interrupt() == 0
    assert "Traceback" not in terminal.text


def test_tail_refuses_an_unknown_source_and_a_missing_token(server: ServerProcess) -> None:
    env = {"HOOKGATE_URL": server.url, "HOOKGATE_TOKEN": server.token}
    unknown = _run("tail", "src_nope", env=env)
    assert unknown.returncode == 1
    assert "no source or bin 'src_nope'" in unknown.stderr
    missing = _run("tail", "src_nope", "--server", server.url)
    assert missing.returncode == 2
    assert "No API token" in missing.stderr
