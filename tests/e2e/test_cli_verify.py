"""``hookgate verify``: a captured request checked offline, as a developer runs
it in a terminal (a pseudo-terminal here), with requests signed by the
providers' own libraries; exit code 0 when valid, 1 when not, 2 for a usage
mistake."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import stripe
from standardwebhooks.webhooks import Webhook as StandardWebhook
from twilio.request_validator import RequestValidator

pytestmark = pytest.mark.slow

HOOKGATE = str(Path(sys.executable).with_name("hookgate"))
STRIPE_SECRET = "whsec_test_0123456789abcdef"
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
PAYLOAD = json.dumps({"id": "evt_1", "type": "invoice.paid", "object": "event"}, indent=2)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    return env


def in_terminal(*args: str) -> tuple[int, str]:
    """Run ``hookgate args`` attached to a pseudo-terminal: (exit code, what
    the terminal shows, escape codes included)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [HOOKGATE, *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=_env(),
        close_fds=True,
    )
    os.close(terminal)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return process.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def plain(shown: str) -> str:
    """The words on the terminal, without colours or line wrapping."""
    return " ".join(ANSI.sub("", shown).split())


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [HOOKGATE, *args], input=stdin, capture_output=True, env=_env(), timeout=60, check=False
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def _stripe_capture(tmp_path: Path, body: bytes, signed_at: int) -> list[str]:
    """Write a captured Stripe request (signed by Stripe's library) to
    ``h.txt`` / ``b.bin`` and return the command up to the files."""
    signature = stripe.WebhookSignature._compute_signature(f"{signed_at}.{PAYLOAD}", STRIPE_SECRET)
    headers = tmp_path / "h.txt"
    headers.write_text(
        "POST /in/src_1 HTTP/1.1\r\n"
        "Content-Type: application/json\r\n"
        f"Stripe-Signature: t={signed_at},v1={signature}\r\n"
    )
    (tmp_path / "b.bin").write_bytes(body)
    stripe.Webhook.construct_event(  # genuine, as Stripe's own library agrees
        PAYLOAD, f"t={signed_at},v1={signature}", STRIPE_SECRET, tolerance=None
    )
    return ["verify", "--provider", "stripe", "--secret", STRIPE_SECRET]


def test_a_relayed_stripe_event_is_explained_in_the_terminal(tmp_path: Path) -> None:
    now = int(time.time())
    args = _stripe_capture(tmp_path, PAYLOAD.encode(), now)
    files = ["--headers", f"@{tmp_path / 'h.txt'}", "--body", f"@{tmp_path / 'b.bin'}"]
    code, shown = in_terminal(*args, *files)
    assert code == 0, shown
    assert "✓ valid stripe signature event type: invoice.paid event id: evt_1" in plain(shown)
    assert "\x1b[" in shown  # Rich colours on a terminal

    # The same event after a relay re-encoded its JSON compactly.
    compact = json.dumps(json.loads(PAYLOAD), separators=(",", ":")).encode()
    (tmp_path / "b.bin").write_bytes(compact)
    code, shown = in_terminal(*args, *files)
    assert code == 1, shown
    words = plain(shown)
    assert "✗ not valid bad_signature" in words
    assert (
        "Why: the signature matches the body re-serialised as JSON indented by 2 spaces: the"
        " JSON was re-serialised between the provider and Hookgate"
    ) in words
    assert STRIPE_SECRET not in words


def test_stale_and_wrong_secret_and_usage_mistakes(tmp_path: Path) -> None:
    signed_at = 1_700_000_000
    args = _stripe_capture(tmp_path, PAYLOAD.encode(), signed_at)
    files = ["--headers", f"@{tmp_path / 'h.txt'}", "--body", f"@{tmp_path / 'b.bin'}"]
    stale = run(*args, *files, "--at", str(signed_at + 412))
    assert stale.returncode == 1
    assert "signed 412 s ago, tolerance 300 s" in plain(stale.stdout)
    assert "a replayed or long-delayed request" in plain(stale.stdout)
    # Without --at a capture is judged as at now: long stale.
    assert run(*args, *files).returncode == 1
    assert run(*args, *files, "--at", str(signed_at + 10)).returncode == 0

    wrong = run("verify", "--provider", "stripe", "--secret", "whsec_other", *files)
    assert wrong.returncode == 1
    assert "no secret of this source produces this signature" in plain(wrong.stdout)

    unknown = run("verify", "--provider", "nope", "--secret", "s", *files)
    assert unknown.returncode == 2
    assert "unknown provider 'nope'" in plain(unknown.stderr)
    (tmp_path / "bad.txt").write_text("Stripe-Signature t=1\n")
    bad = run(*args, "--headers", f"@{tmp_path / 'bad.txt'}", "--body", "{}")
    assert bad.returncode == 2
    assert "--headers line 1 is not 'Name: value'" in plain(bad.stderr)


def test_standard_webhooks_body_from_stdin_by_source_type() -> None:
    sent_at = time.time()
    signature = StandardWebhook(WHSEC).sign("msg_1", datetime.fromtimestamp(sent_at, UTC), PAYLOAD)
    headers = (
        f"webhook-id: msg_1\nwebhook-timestamp: {int(sent_at)}\nwebhook-signature: {signature}\n"
    )
    base = ["verify", "--provider", "clerk", "--secret", WHSEC, "--headers", headers]
    assert run(*base, "--body", "-", stdin=PAYLOAD.encode()).returncode == 0
    changed = run(*base, "--body", "-", stdin=PAYLOAD.encode() + b"\n")
    assert changed.returncode == 1
    assert "trailing newline removed" in plain(changed.stdout)


def test_twilio_url_behind_a_proxy_is_named() -> None:
    token = "12345678901234567890123456789012"
    params = {"From": "+15005550006", "Body": "hi"}
    public = "https://hooks.example.com/sms"
    signature = RequestValidator(token).compute_signature(public, params)
    headers = f"Content-Type: application/x-www-form-urlencoded\nX-Twilio-Signature: {signature}"
    base = ["verify", "--provider", "twilio", "--secret", token, "--headers", headers]
    body = "From=%2B15005550006&Body=hi"
    assert run(*base, "--body", body, "--url", public).returncode == 0
    used = "http://hooks.example.com/sms"
    proxied = run(*base, "--body", body, "--url", used)
    assert proxied.returncode == 1
    assert f"the signature matches the URL {public} (we used {used})" in plain(proxied.stdout)
    missing = run(*base, "--body", body)
    assert missing.returncode == 2
    assert "pass --url" in plain(missing.stderr)
