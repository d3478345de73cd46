"""``Receiver``: one provider endpoint, independent of any web framework.

``await receiver.handle(body, headers, url)`` verifies the raw body,
dispatches the event through a ``Router`` and returns the ``Reply`` to send:

- 200 ``{"status": "ok"}`` handled, or ``{"status": "duplicate"}`` already seen;
- 200 ``{"challenge": ...}`` for Slack's ``url_verification`` (after verifying);
- 400 missing or malformed header, 401 bad signature / credentials / stale
  timestamp, with ``{"error": <exception name>, "detail": <message>}``
  (messages never contain secrets);
- 500 ``{"error": "handler_failed", "handlers": [...]}`` so the provider
  retries (the event id is released, so the retry runs again).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hookgate.core.verify import (
    MalformedBody,
    MalformedHeader,
    MissingHeader,
    Scheme,
    VerificationError,
)

from .event import Event, scheme_for, verify
from .router import Router

JSON = "application/json"


@dataclass(frozen=True)
class Reply:
    """An HTTP response, for an adapter to translate."""

    status: int
    body: bytes
    content_type: str = JSON


class Receiver:
    """Verify-and-dispatch for one provider.

    ``public_url``, when set, is the URL providers sign (Twilio, Square)
    instead of the URL the request arrived at (which a proxy may have
    rewritten). ``clock`` supplies ``now`` in seconds.
    """

    def __init__(
        self,
        provider: str | Scheme,
        secret: str | Sequence[str],
        router: Router,
        *,
        public_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.scheme = scheme_for(provider)
        self.provider = provider
        self.secrets = [secret] if isinstance(secret, str) else list(secret)
        if not self.secrets:
            raise ValueError("at least one secret is required")
        self.router = router
        self.public_url = public_url
        self.clock = clock

    @property
    def name(self) -> str:
        """The scheme name, e.g. for a framework's endpoint name."""
        return self.scheme.name

    async def handle(self, body: bytes, headers: Mapping[str, str], url: str | None) -> Reply:
        """The reply for one request whose raw body is ``body``."""
        try:
            event = verify(
                self.provider,
                body,
                headers,
                self.secrets,
                url=self.public_url or url,
                now=self.clock(),
            )
        except (MissingHeader, MalformedHeader, MalformedBody) as exc:
            return _error(400, exc)
        except VerificationError as exc:
            return _error(401, exc)
        challenge = _slack_challenge(event)
        if challenge is not None:
            return _json(200, {"challenge": challenge})
        report = await self.router.dispatch(event)
        if report.failures:
            names = [f.handler for f in report.failures]
            return _json(500, {"error": "handler_failed", "handlers": names})
        return _json(200, {"status": "duplicate" if report.duplicate else "ok"})


def _slack_challenge(event: Event) -> str | None:
    payload = event.payload
    if event.verified.scheme == "slack" and isinstance(payload, dict):
        challenge = payload.get("challenge")
        if payload.get("type") == "url_verification" and isinstance(challenge, str):
            return challenge
    return None


def _error(status: int, exc: VerificationError) -> Reply:
    return _json(status, {"error": type(exc).__name__, "detail": str(exc)})


def _json(status: int, document: dict[str, Any]) -> Reply:
    return Reply(status, json.dumps(document).encode("utf-8"))
