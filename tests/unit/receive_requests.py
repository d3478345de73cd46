"""What the receiver adapter tests share: a GitHub-signed body whose bytes
change if re-serialised, and a router that records what it handled."""

from __future__ import annotations

import hashlib
import hmac

from hookgate.receive import Event, Router

SECRET = "gh-secret"
BODY = b'{"action": "opened",  "n": 1.0}'  # spacing and 1.0 change if re-serialised
TWILIO_TOKEN = "12345678901234567890123456789012"
FORM = "application/x-www-form-urlencoded"


def github_headers(body: bytes, delivery: str = "d-1") -> dict[str, str]:
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": sig, "X-GitHub-Event": "issues", "X-GitHub-Delivery": delivery}


def recording_router() -> tuple[Router, list[Event]]:
    """A router whose catch-all handler appends every event to the list."""
    router = Router()
    got: list[Event] = []

    @router.on("*")
    def record(event: Event) -> None:
        got.append(event)

    return router, got
