"""Hostile requests are bounded before they are read, through a real server
over raw sockets (a client library would refuse to send most of them, or
would not read the answer before it finished sending):

- a chunked body without a token is answered 401 before it ends, and one
  with a token but over the limit 413, on FastAPI routes and on the fast
  message route alike; nothing is stored;
- ``/in/{source}`` answers a chunked body over the source's ``maxBodyBytes``
  with 413 before it ends, and records the refusal;
- a 100 MB header or 100,000 headers (before the body, or as trailers after
  a chunked one) get 431, and nothing is stored;
- a client that sends its headers too slowly gets 408 and is disconnected.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.harness import ServerProcess, wait_until
from tests.e2e.test_inbound import received, send
from tests.e2e.test_inbound_limits import make_source

pytestmark = pytest.mark.slow

#: How long a test waits for an answer it expects early (it never comes on
#: a server that reads the whole endless body first).
ANSWER_TIMEOUT = 20.0
MB = 1024 * 1024


class RawConnection:
    """A socket to the server: sends in a background thread (so an endless
    body does not stop the test from reading) and reads the answer."""

    def __init__(self, server: ServerProcess) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_TIMEOUT)
        self.sent = 0
        self.finished_sending = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def send_in_background(self, pieces: Iterator[bytes]) -> None:
        def run() -> None:
            with contextlib.suppress(OSError):
                for piece in pieces:
                    if self._stop.is_set():
                        return
                    self.sock.sendall(piece)
                    self.sent += len(piece)
                self.finished_sending.set()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def read_answer(self) -> tuple[int, bytes]:
        """``(status, everything after the status line)`` up to the close."""
        data = b""
        with contextlib.suppress(ConnectionResetError):
            while b"\r\n\r\n" not in data or not _complete(data):
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 "), data[:200]
        return int(data[9:12]), data

    def ended_by_server(self) -> bool:
        """Whether the server closes the connection (after its answer)."""
        try:
            while self.sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
        return True

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        if self._thread is not None:
            self._thread.join(ANSWER_TIMEOUT)


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


@contextlib.contextmanager
def raw(server: ServerProcess) -> Iterator[RawConnection]:
    connection = RawConnection(server)
    try:
        yield connection
    finally:
        connection.close()


def endless_chunks(size: int = 64 * 1024) -> Iterator[bytes]:
    """A chunked body that never ends (bounded only by the test's patience:
    at most 1 GiB)."""
    piece = f"{size:x}\r\n".encode() + b"x" * size + b"\r\n"
    for _ in range(1024 * MB // size):
        yield piece


def chunked_post(path: str, headers: dict[str, str]) -> Iterator[bytes]:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    yield ("\r\n".join(lines) + "\r\n\r\n").encode()
    yield from endless_chunks()


def body_json(data: bytes) -> Any:
    return httpx.Response(200, content=data.partition(b"\r\n\r\n")[2]).json()


# -- bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/app", "/api/v1/app/app_x/msg", "/api/v1/event-type"])
def test_an_endless_chunked_body_without_a_token_gets_401_before_it_ends(
    server: ServerProcess, path: str
) -> None:
    with raw(server) as connection:
        connection.send_in_background(chunked_post(path, {"Content-Type": "application/json"}))
        status, answer = connection.read_answer()
        assert connection.ended_by_server()
    assert status == 401
    assert body_json(answer)["code"] == "authentication_failed"
    assert not connection.finished_sending.is_set()


@pytest.mark.parametrize(
    "path",
    ["/api/v1/app", "/api/v1/app/{app}/msg", "/ingest/api/v1/source"],
    ids=["fastapi-route", "fast-message-route", "ingest-api"],
)
def test_an_endless_chunked_body_with_a_token_gets_413_before_it_ends(
    server: ServerProcess, api: httpx.Client, app_id: str, path: str
) -> None:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {server.token}"}
    with raw(server) as connection:
        connection.send_in_background(chunked_post(path.format(app=app_id), headers))
        status, answer = connection.read_answer()
        assert connection.ended_by_server()
    assert status == 413
    limit = 1024 * 1024 + 64 * 1024  # HOOKGATE_MAX_PAYLOAD_BYTES + the envelope
    assert body_json(answer) == {
        "code": "payload_too_large",
        "detail": f"request body is over the limit of {limit} bytes",
    }
    assert not connection.finished_sending.is_set()
    assert api.get(f"/api/v1/app/{app_id}/msg").json()["data"] == []


def test_a_declared_body_over_the_limit_gets_413_without_being_read(
    server: ServerProcess, app_id: str
) -> None:
    head = (
        f"POST /api/v1/app/{app_id}/msg HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {server.token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {512 * MB}\r\n\r\n"
    ).encode()
    with raw(server) as connection:
        connection.sock.sendall(head)
        status, answer = connection.read_answer()
    assert status == 413
    assert body_json(answer)["code"] == "payload_too_large"


def test_an_endless_chunked_body_to_a_source_gets_413_and_is_recorded(
    server: ServerProcess, api: httpx.Client
) -> None:
    source_id, url = make_source(api, {"maxBodyBytes": 100_000})
    path = httpx.URL(url).path
    with raw(server) as connection:
        connection.send_in_background(chunked_post(path, {}))
        status, answer = connection.read_answer()
        assert connection.ended_by_server()
    assert status == 413
    assert body_json(answer)["code"] == "payload_too_large"
    assert not connection.finished_sending.is_set()
    [row] = received(api, source_id)
    assert row["rejection"] == "request body is 100001 bytes or more; the limit is 100000"


# -- heads -----------------------------------------------------------------------------


def _flood_then_answer(server: ServerProcess, pieces: Iterator[bytes]) -> tuple[int, bytes]:
    with raw(server) as connection:
        connection.send_in_background(pieces)
        answer = connection.read_answer()
    assert not connection.finished_sending.is_set()
    return answer


def huge_header(path: str) -> Iterator[bytes]:
    yield f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-Big: ".encode()
    for _ in range(100):  # 100 MB
        yield b"a" * MB
    yield b"\r\n\r\n{}"


#: Header lines in the floods below: about 15 MB, more than the loopback
#: socket buffers on both sides can hold, so a server that kept reading
#: them (instead of refusing at the 101st) lets the sender finish.
FLOOD_LINES = 1_000_000


def many_headers(path: str) -> Iterator[bytes]:
    yield f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n".encode()
    for start in range(0, FLOOD_LINES, 1000):
        yield b"".join(f"X-H{n}: {n}\r\n".encode() for n in range(start, start + 1000))
    yield b"\r\n{}"


def _chunked_start(path: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()


def huge_trailer(path: str) -> Iterator[bytes]:
    yield _chunked_start(path) + b"2\r\n{}\r\n0\r\nX-Big: "
    for _ in range(100):  # 100 MB
        yield b"a" * MB
    yield b"\r\n\r\n"


def many_trailers(path: str) -> Iterator[bytes]:
    yield _chunked_start(path) + b"2\r\n{}\r\n0\r\n"
    for start in range(0, FLOOD_LINES, 1000):
        yield b"".join(f"X-T{n}: {n}\r\n".encode() for n in range(start, start + 1000))
    yield b"\r\n"


@pytest.mark.parametrize(
    ("flood", "detail"),
    [
        (huge_header, b"request headers are over 65536 bytes"),
        (many_headers, b"more than 100 request headers"),
        (huge_trailer, b"over 65536 bytes of chunk framing or trailers without body"),
        (many_trailers, b"more than 100 request headers"),
    ],
    ids=["100MB-header", "1M-headers", "100MB-trailer", "1M-trailers"],
)
def test_oversized_heads_to_a_source_get_431_and_nothing_is_stored(
    server: ServerProcess,
    api: httpx.Client,
    flood: Callable[[str], Iterator[bytes]],
    detail: bytes,
) -> None:
    source_id, url = make_source(api, {})
    status, answer = _flood_then_answer(server, flood(httpx.URL(url).path))
    assert status == 431
    assert answer.endswith(detail)
    assert received(api, source_id) == []
    assert send(url, b"{}", {}).status_code == 200  # the server is fine


def test_heads_within_the_limits_are_served(server: ServerProcess, api: httpx.Client) -> None:
    source_id, url = make_source(api, {})
    headers = {f"X-H{n}": "v" * 500 for n in range(90)}
    assert send(url, b"{}", headers).status_code == 200
    [row] = received(api, source_id)
    assert {"x-h0", "x-h89"} <= {name.lower() for name, _ in row["headers"]}


def test_a_body_in_many_tiny_chunks_is_served(server: ServerProcess, api: httpx.Client) -> None:
    source_id, url = make_source(api, {})
    body = b"x" * 20_000
    tiny_chunks = b"".join(b"1\r\n" + bytes([byte]) + b"\r\n" for byte in body)
    with raw(server) as connection:
        connection.sock.sendall(_chunked_start(httpx.URL(url).path) + tiny_chunks + b"0\r\n\r\n")
        status, _ = connection.read_answer()
    assert status == 200
    [row] = received(api, source_id)
    assert row["rejection"] is None


@pytest.mark.sqlite_only
def test_a_slow_header_sender_gets_408_and_is_disconnected(
    server_factory: Callable[..., ServerProcess],
) -> None:
    slow = server_factory(env={"HOOKGATE_HEADER_TIMEOUT": "1"})
    with raw(slow) as connection:
        connection.sock.sendall(b"POST /in/anything HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        status, answer = connection.read_answer()
        assert connection.sock.recv(1) == b""  # closed by the server
    assert status == 408
    assert answer.endswith(b"request headers not received within 1 s")
    with raw(slow) as idle:  # a connection that never sends a byte
        assert idle.sock.recv(1024).startswith(b"HTTP/1.1 408 ")
    wait_until(lambda: slow.running, message="server still running")
