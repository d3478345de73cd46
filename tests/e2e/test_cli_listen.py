"""``hookgate listen``: what a source or bin receives reaches a local server
byte for byte, through a real ``hookgate serve`` and a real ``listen``
process; provider signatures made upstream verify on the local side with the
providers' own libraries; a server killed and restarted mid-stream costs no
request and repeats none."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks
import stripe

from hookgate.core.samples import build_request
from tests.e2e.dashboard import operator_client
from tests.e2e.harness import ServerProcess, server_command, unique, wait_until
from tests.e2e.local_server import ANSWER_BODY, Captured, LocalServer
from tests.e2e.test_bins import create_bin
from tests.e2e.test_cli import _run
from tests.e2e.test_cli_tail import Terminal, terminals  # noqa: F401 (a fixture)
from tests.e2e.test_inbound_limits import make_source
from tests.providers.test_github_octokit import NODE_DIR, PACKAGE

pytestmark = pytest.mark.slow

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length", "te"}


@pytest.fixture
def local() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.close()


class ListenProcess:
    """``hookgate listen`` in the background, its output in files."""

    def __init__(self, server: ServerProcess, source: str, forward: str, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
        env.update(HOOKGATE_URL=server.url, HOOKGATE_TOKEN=server.token, PYTHONUNBUFFERED="1")
        log_dir = server.data_dir.parent
        self.out = (log_dir / f"listen-{unique('out')}.log").open("w+b")
        self.proc = subprocess.Popen(
            [*server_command(), "listen", source, "--forward", forward, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.out,
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        self.out.flush()
        self.out.seek(0)
        return self.out.read().decode("utf-8", "replace")

    def wait_ready(self) -> None:
        wait_until(lambda: "Forwarding requests" in self.text(), timeout=30, message=self.text)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.out.close()


@pytest.fixture
def listeners() -> Iterator[list[ListenProcess]]:
    started: list[ListenProcess] = []
    yield started
    for listener in started:
        listener.close()


def expected_headers(sent: httpx.Request, request_id: str, verified: bool) -> list[tuple[str, str]]:
    """What the local server must see: the headers the bin received, in
    order (names as the server stores them), minus hop-by-hop ones, plus
    Hookgate's two."""
    kept = [
        (name.decode().lower(), value.decode())
        for name, value in sent.headers.raw
        if name.decode().lower() not in HOP_BY_HOP
    ]
    return [
        *kept,
        ("x-hookgate-verified", "true" if verified else "false"),
        ("x-hookgate-request-id", request_id),
    ]


def lowered(captured: Captured) -> list[tuple[str, str]]:
    return [(k.lower(), v) for k, v in captured.headers if k.lower() not in HOP_BY_HOP]


ODD_REQUESTS: list[tuple[str, str, bytes, list[tuple[str, str]]]] = [
    (
        "POST",
        "/hooks?b=2&a=1&a=%20x",
        b'{ "b" :1,\n\t"a":[ 1 ,2 ] }\n',
        [("Content-Type", "application/json")],
    ),
    (
        "POST",
        "",
        b'{"s":"\\u00e9\\ud83d\\ude00","n":1.0e+2}',
        [("Content-Type", "application/json")],
    ),
    ("PUT", "/blob/7", bytes(range(256)) * 3, [("Content-Type", "application/octet-stream")]),
    ("POST", "/repeat", b"a=1&a=2", [("X-Tag", "one"), ("X-Tag", "two"), ("X-Tag", "three")]),
    ("GET", "/ping?x=1", b"", [("Accept", "text/plain")]),
    ("DELETE", "/items/42", b"", [("X-Reason", "cleanup")]),
]


def test_listen_forwards_odd_requests_byte_for_byte(
    server: ServerProcess,
    api: httpx.Client,
    local: LocalServer,
    terminals: list[Terminal],  # noqa: F811
) -> None:
    created = create_bin(api)
    url = created["ingestUrl"]
    # Sent before listen starts: "now" leaves it out.
    assert httpx.post(url + "/before", content=b"old").status_code == 200
    env = {"HOOKGATE_URL": server.url, "HOOKGATE_TOKEN": server.token}
    terminal = Terminal("listen", created["id"], "--forward", local.url + "/local", env=env)
    terminals.append(terminal)
    terminal.wait_for(lambda text: "Forwarding requests" in text)

    sent: list[httpx.Request] = []
    with httpx.Client(timeout=15) as client:
        for method, sub, body, headers in ODD_REQUESTS:
            request = client.build_request(method, url + sub, content=body, headers=headers)
            assert client.send(request).status_code == 200
            sent.append(request)

    captured = local.wait_for(len(ODD_REQUESTS))
    stored = list(
        reversed(api.get(f"/ingest/api/v1/source/{created['id']}/request").json()["data"])
    )
    stored = stored[1:]  # the request sent before listen started
    assert len(captured) == len(sent) == len(stored)
    for got, request, item in zip(captured, sent, stored, strict=True):
        sub = request.url.raw_path.decode().split("/", 3)[3:]
        target = "/local" + (f"/{sub[0]}" if sub else "")
        assert (got.method, got.target) == (request.method, target)
        assert got.body == request.content
        assert lowered(got) == expected_headers(request, item["id"], verified=False)

    text = terminal.wait_for(lambda text: text.count("-> 201") >= len(ODD_REQUESTS))
    assert "/before" not in text
    assert any(
        "PUT" in line and "/blob/7" in line and "accepted" in line for line in text.splitlines()
    )
    assert any("GET" in line and "/ping?x=1" in line for line in text.splitlines())

    # What the local server answered is kept with the request.
    first = stored[0]["id"]
    detail = wait_until(
        lambda: api.get(f"/ingest/api/v1/source/{created['id']}/request/{first}").json()[
            "localResponse"
        ],
        timeout=30,
    )
    assert detail["status"] == 201
    assert ["X-Local", "yes"] in detail["headers"]
    assert base64.b64decode(detail["body"]) == ANSWER_BODY
    assert detail["forwardedTo"] == local.url + "/local/hooks?b=2&a=1&a=%20x"
    with operator_client(server) as dashboard:
        shown = dashboard.get(f"/sources/{created['id']}/requests/{first}").text
    assert "Local response" in shown
    assert ">201<" in shown
    assert "X-Local" in shown
    assert terminal.interrupt() == 0
    assert "Traceback" not in terminal.text


def test_listen_resumes_after_a_server_restart_without_missing_or_repeating(
    server_factory: Any, local: LocalServer, listeners: list[ListenProcess], tmp_path: Path
) -> None:
    server: ServerProcess = server_factory(tmp_path / "data")
    with server.http() as api:
        created = create_bin(api)
    url = created["ingestUrl"]
    listener = ListenProcess(server, created["id"], local.url + "/hook")
    listeners.append(listener)
    listener.wait_ready()

    def send(marker: str) -> None:
        assert httpx.post(f"{url}/{marker}", content=marker.encode()).status_code == 200

    for n in range(5):
        send(f"first-{n}")
    local.wait_for(5)
    server.kill()  # no goodbye: the stream just breaks
    wait_until(lambda: "Disconnected" in listener.text(), timeout=30, message=listener.text)
    server.start()
    for n in range(5):
        send(f"second-{n}")
    send("last")
    captured = local.wait_for(11)
    wait_until(lambda: local.captured[-1].body == b"last", timeout=30)
    bodies = [c.body.decode() for c in local.captured]
    expected = [f"first-{n}" for n in range(5)] + [f"second-{n}" for n in range(5)] + ["last"]
    assert sorted(bodies) == sorted(expected), listener.text()
    assert len(captured) == len(local.captured) == 11
    assert "Reconnected" in listener.text()


def test_listen_starts_where_from_says_and_forwards_rejected_only_when_asked(
    server: ServerProcess, api: httpx.Client, local: LocalServer, listeners: list[ListenProcess]
) -> None:
    source_id, url = make_source(
        api, {"secret": "whsec_" + base64.b64encode(b"k" * 24).decode()}, "svix"
    )
    bad = {"svix-id": "msg_x", "svix-timestamp": "1", "svix-signature": "v1,bad"}
    assert httpx.post(url, content=b"{}", headers=bad).status_code in (400, 401)
    stored = api.get(f"/ingest/api/v1/source/{source_id}/request").json()["data"]
    listener = ListenProcess(server, source_id, local.url, "--from", "1h", "--include-rejected")
    listeners.append(listener)
    [got] = local.wait_for(1)
    assert got.body == b"{}"
    assert got.header("X-Hookgate-Verified") == "false"
    assert got.header("X-Hookgate-Request-Id") == stored[0]["id"]

    plain = ListenProcess(server, source_id, local.url, "--from", stored[0]["id"])
    listeners.append(plain)
    plain.wait_ready()
    assert httpx.post(url, content=b"{}", headers=bad).status_code in (400, 401)
    wait_until(lambda: "not forwarded (rejected)" in plain.text(), timeout=30, message=plain.text)
    # The first listener forwards it; the second only shows it.
    local.wait_for(2)
    assert len(local.captured) == 2


NODE_VERIFY = """
import { verify } from "@octokit/webhooks-methods";
const [secret, body, signature] = JSON.parse(process.env.CASE);
console.log(JSON.stringify(await verify(secret, body, signature)));
"""


def octokit_verifies(secret: str, body: bytes, signature: str) -> bool:
    assert PACKAGE.is_dir(), "run scripts/test.sh: @octokit/webhooks-methods is needed"
    done = subprocess.run(
        ["node", "--input-type=module", "-e", NODE_VERIFY],
        cwd=NODE_DIR,
        env={**os.environ, "CASE": json.dumps([secret, body.decode(), signature])},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return bool(json.loads(done.stdout))


def test_provider_signatures_verify_on_the_local_side(
    server: ServerProcess, api: httpx.Client, local: LocalServer, listeners: list[ListenProcess]
) -> None:
    github_secret = "It's a Secret to Everybody"
    stripe_secret = "whsec_listen_stripe_secret"
    standard_secret = "whsec_" + base64.b64encode(b"standard webhooks key!").decode()
    cases = [
        ("github", github_secret, "github", "push"),
        ("stripe", stripe_secret, "stripe", "payment_intent.succeeded"),
        ("resend", standard_secret, "standard-webhooks", "invoice.paid"),
    ]
    for count, (source_type, secret, provider, event) in enumerate(cases, start=1):
        source_id, url = make_source(api, {"secret": secret}, source_type)
        listener = ListenProcess(server, source_id, local.url + "/local")
        listeners.append(listener)
        listener.wait_ready()
        request = build_request(provider, event, to=url, secret=secret)
        sent = httpx.post(url, content=request.body, headers=request.headers)
        assert sent.status_code == 200, sent.text
        got = local.wait_for(count)[-1]
        assert got.header("X-Hookgate-Verified") == "true"
        assert got.body == request.body
        headers = {k.lower(): v for k, v in got.headers}
        if source_type == "github":
            assert octokit_verifies(secret, got.body, headers["x-hub-signature-256"])
        elif source_type == "stripe":
            event_object = stripe.Webhook.construct_event(
                got.body.decode(), headers["stripe-signature"], secret
            )
            assert event_object["type"] == event
        else:
            standardwebhooks.Webhook(secret).verify(got.body, headers)


def test_listen_refuses_an_unknown_source_a_missing_token_and_a_bad_start(
    server: ServerProcess,
) -> None:
    env = {"HOOKGATE_URL": server.url, "HOOKGATE_TOKEN": server.token}
    unknown = _run("listen", "src_nope", "--forward", "http://127.0.0.1:9/", env=env)
    assert unknown.returncode == 1
    assert "no source or bin 'src_nope'" in unknown.stderr
    missing = _run("listen", "src_nope", "--forward", "http://127.0.0.1:9/", "--server", server.url)
    assert missing.returncode == 2
    assert "No API token" in missing.stderr
    bad_start = _run("listen", "x", "--forward", "http://127.0.0.1:9/", "--from", "soon", env=env)
    assert bad_start.returncode == 2
    assert "expected now, a request id" in bad_start.stderr
    not_a_url = _run("listen", "x", "--forward", "localhost:3000", env=env)
    assert not_a_url.returncode == 2
    assert "expected an http(s) URL" in not_a_url.stderr
