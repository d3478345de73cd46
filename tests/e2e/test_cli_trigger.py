"""``hookgate trigger`` and ``hookgate send`` over real sockets: triggers
accepted by a Hookgate source of the same provider, a load check's summary,
and what a developer sees in a terminal (through a pseudo-terminal)."""

from __future__ import annotations

import base64
import os
import pty
import re
import select
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks
import trustme

from tests.e2e.harness import Receiver, Reply, server_command
from tests.e2e.test_cli import _run
from tests.e2e.test_inbound import received
from tests.e2e.test_inbound_limits import make_source

pytestmark = pytest.mark.slow

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_WHSEC = "whsec_QW5vdGhlciBzZWNyZXQga2V5IQ=="
TOKEN = "12345678901234567890123456789012"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

#: provider, event, source type, source config: a Hookgate source verifying that provider.
SOURCES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("github", "push", "github", {"secret": "gh-secret"}),
    ("stripe", "invoice.paid", "stripe", {"secret": "whsec_stripe_test"}),
    ("shopify", "orders/create", "shopify", {"secret": "shpss_test"}),
    ("slack", "event_callback", "slack", {"secret": "slack-signing-secret"}),
    ("twilio", "sms-status", "generic-webhook", {"scheme": "twilio", "secret": TOKEN}),
    ("twilio", "sms-incoming", "generic-webhook", {"scheme": "twilio", "secret": TOKEN}),
    ("paddle", "transaction.completed", "generic-webhook", {"scheme": "paddle", "secret": "pdl"}),
    ("gitlab", "merge_request", "generic-webhook", {"scheme": "gitlab", "secret": "gl-token"}),
    (
        "standard-webhooks",
        "user.created",
        "generic-webhook",
        {"scheme": "standard_webhooks", "secret": WHSEC},
    ),
    ("svix", "invoice.paid", "svix", {"secret": WHSEC}),
]


@pytest.mark.parametrize(("provider", "event", "source_type", "config"), SOURCES)
def test_trigger_is_accepted_by_a_hookgate_source_of_that_provider(
    api: httpx.Client, provider: str, event: str, source_type: str, config: dict[str, Any]
) -> None:
    source_id, url = make_source(api, config, source_type=source_type)
    done = _run("trigger", provider, event, "--to", url, "--secret", config["secret"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "← 200" in done.stdout
    [row] = received(api, source_id)
    assert (row["verified"], row["rejection"]) == (True, None)

    other = OTHER_WHSEC if config["secret"] == WHSEC else config["secret"] + "x"
    wrong = _run("trigger", provider, event, "--to", url, "--secret", other)
    assert wrong.returncode == 1, wrong.stdout
    assert "← 401" in wrong.stdout


def test_trigger_data_is_signed_and_stored_byte_for_byte(api: httpx.Client, tmp_path: Path) -> None:
    source_id, url = make_source(api, {"secret": "whsec_stripe_test"}, source_type="stripe")
    body = '{ "id": "evt_own_1",\n  "type": "invoice.paid", "note": "caf\\u00e9 ✓" }\n'.encode()
    payload = tmp_path / "event.json"
    payload.write_bytes(body)
    done = _run(
        "trigger", "stripe", "invoice.paid", "--to", url, "--secret", "whsec_stripe_test",
        "--data", f"@{payload}",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    [row] = received(api, source_id)
    assert base64.b64decode(row["body"]) == body
    assert (row["verified"], row["eventId"], row["eventType"]) == (
        True,
        "evt_own_1",
        "invoice.paid",
    )


def test_twilio_trigger_signs_the_public_url_a_proxy_rewrote(api: httpx.Client) -> None:
    public = "https://hooks.example.com/twilio/status"
    source_id, url = make_source(api, {"scheme": "twilio", "secret": TOKEN, "publicUrl": public})
    behind = _run(
        "trigger", "twilio", "sms-status", "--to", url, "--secret", TOKEN, "--public-url", public
    )
    assert behind.returncode == 0, behind.stdout + behind.stderr
    assert f"(signed for {public})" in behind.stdout
    unaware = _run("trigger", "twilio", "sms-status", "--to", url, "--secret", TOKEN)
    assert unaware.returncode == 1
    assert "← 401" in unaware.stdout
    assert [row["verified"] for row in received(api, source_id)] == [False, True]


def test_repeated_trigger_reports_statuses_and_latencies(api: httpx.Client) -> None:
    source_id, url = make_source(api, {"scheme": "twilio", "secret": TOKEN})
    done = _run(
        "trigger", "twilio", "sms-status", "--to", url, "--secret", TOKEN,
        "--repeat", "6", "--concurrency", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"│ 200\s+│\s+6 │", done.stdout), done.stdout
    assert re.search(r"latency ms: p50 [\d.]+  p90 [\d.]+  p99 [\d.]+", done.stdout)
    rows = received(api, source_id)
    assert len(rows) == 6
    assert all(row["verified"] for row in rows)


def run_in_pty(*args: str, timeout: float = 60) -> tuple[int, str]:
    """Run ``hookgate *args`` on a pseudo-terminal; its exit code and output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
    env.update({"TERM": "xterm-256color", "COLUMNS": "160", "LINES": "50"})
    env.pop("NO_COLOR", None)
    command = [*server_command(), *args]
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the command
        os.execvpe(command[0], command, env)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode("utf-8", "replace")


def test_trigger_in_a_terminal_shows_request_response_and_summary(receiver: Receiver) -> None:
    path = receiver.new_path("trigger")
    receiver.script(path, 503, then=200)
    code, out = run_in_pty(
        "trigger", "github", "pull_request", "--to", receiver.url(path), "--secret", "s",
        "--repeat", "3",
    )  # fmt: skip
    assert ANSI.search(out), "a terminal gets colours"
    text = ANSI.sub("", out).replace("\r\n", "\n")
    assert code == 1, text  # one response was not 2xx
    assert f"→ POST {receiver.url(path)}" in text
    assert "X-GitHub-Event: pull_request" in text
    assert re.search(r"X-Hub-Signature-256: sha256=[0-9a-f]{64}", text)
    assert '"action":"opened"' in text
    assert re.search(r"← 503 Service Unavailable\s+[\d.]+ ms", text)
    assert re.search(r"│ 200\s+│\s+2 │", text)
    assert re.search(r"│ 503\s+│\s+1 │", text)
    assert "latency ms: p50" in text
    assert len(receiver.wait_for(path, 3)) == 3


def test_trigger_list_in_a_terminal() -> None:
    code, out = run_in_pty("trigger", "--list")
    text = ANSI.sub("", out)
    assert code == 0, text
    for provider, event in [
        ("github", "pull_request"),
        ("stripe", "checkout.session.completed"),
        ("shopify", "orders/create"),
        ("slack", "url_verification"),
        ("twilio", "sms-status"),
        ("paddle", "transaction.completed"),
        ("gitlab", "push"),
        ("standard-webhooks", "user.created"),
        ("svix", "invoice.paid"),
    ]:
        assert re.search(rf"│ {re.escape(provider)}\s+│ {re.escape(event)}\s", text) or (
            event in text and provider in text
        ), text
    assert "Stripe-Signature" in text


def test_send_in_a_terminal_is_verified_by_standardwebhooks(
    receiver: Receiver, tmp_path: Any
) -> None:
    path = receiver.new_path("send")
    payload = tmp_path / "payload.json"
    payload.write_text('{"invoice": "in_1", "amount": 4200}')
    code, out = run_in_pty(
        "send", receiver.url(path), "--event", "invoice.paid", "--data", f"@{payload}",
        "--secret", WHSEC,
    )  # fmt: skip
    text = ANSI.sub("", out).replace("\r\n", "\n")
    assert code == 0, text
    assert f"→ POST {receiver.url(path)}" in text
    assert f"Host: 127.0.0.1:{receiver.port}" in text
    assert re.search(r"Content-Length: \d+", text)
    assert re.search(r"webhook-signature: v1,[A-Za-z0-9+/=]{44}", text)
    assert re.search(r"← 200 OK\s+[\d.]+ ms", text)
    [got] = receiver.wait_for(path, 1)
    document = standardwebhooks.Webhook(WHSEC).verify(got.body, got.headers)
    assert document["type"] == "invoice.paid"
    assert document["data"] == {"invoice": "in_1", "amount": 4200}


def test_send_reports_an_unreachable_url_and_bad_arguments() -> None:
    refused = _run("send", "http://127.0.0.1:9/hook", "--event", "a.b", "--secret", WHSEC)
    assert refused.returncode == 1
    assert "no response" in refused.stdout
    bad = _run("send", "http://127.0.0.1:9/hook", "--event", "a.b", "--secret", "whsec_!!")
    assert bad.returncode == 2
    assert "--secret" in bad.stderr
    unknown = _run("trigger", "github", "issues", "--to", "http://x", "--secret", "s")
    assert unknown.returncode == 2
    assert "known: ping, push, pull_request" in unknown.stderr


@pytest.fixture
def https_receiver(tmp_path: Path) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 with a certificate from a private CA; its URL."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/hook"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_a_self_signed_https_receiver_needs_insecure(https_receiver: str) -> None:
    args = ("gitlab", "push", "--to", https_receiver, "--secret", "t")
    refused = _run("trigger", *args)
    assert refused.returncode == 1
    assert "no response" in refused.stdout
    assert "certificate" in refused.stdout.lower()
    accepted = _run("trigger", *args, "--insecure")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "← 204 No Content" in accepted.stdout


def test_redirects_are_shown_not_followed_and_big_bodies_are_cut(receiver: Receiver) -> None:
    moved, target = receiver.new_path("moved"), receiver.new_path("target")
    receiver.script(moved, Reply(302, b"", {"Location": receiver.url(target)}))
    done = _run("send", receiver.url(moved), "--event", "a.b", "--secret", WHSEC)
    assert done.returncode == 1
    assert "← 302 Found" in done.stdout
    assert f"Location: {receiver.url(target)}" in done.stdout
    assert len(receiver.wait_for(moved, 1)) == 1
    assert receiver.requests(target) == []

    big = receiver.new_path("big")
    receiver.script(big, Reply(200, b"x" * (2 * 1024 * 1024), {"Content-Type": "text/plain"}))
    done = _run("send", receiver.url(big), "--event", "a.b", "--secret", WHSEC)
    assert done.returncode == 0, done.stderr
    assert "more bytes not shown" in done.stdout
    assert "(response body cut at 1048576 bytes)" in done.stdout
