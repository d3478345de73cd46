"""``Receiver``: one provider endpoint, independent of any web framework.

``await receiver.handle(body, headers, url)`` verifies the raw body,
dispatches the event through a ``Router`` and returns the ``Reply`` to send.
The verdict is the server's (``hookgate.core.verify.decide``): a request
refused here is refused by ``/in`` with the same status and code.

- 200 ``{"status": "ok"}`` handled, or ``{"status": "duplicate"}`` already seen;
- 200 ``{"challenge": ...}`` for Slack's ``url_verification`` (after verifying);
- 400 ``missing_header`` / ``malformed_header`` / ``malformed_body``, 401
  ``bad_signature`` / ``stale_timestamp`` / ``wrong_credentials``, 500
  ``source_misconfigured`` (a secret the scheme cannot use), with
  ``{"code": ..., "detail": ..., "error": <exception name>}``: ``code`` and
  ``detail`` as the server answers, ``error`` kept for clients of earlier
  versions (messages never contain secrets);
- 500 ``{"code": "handler_failed", "detail": ..., "handlers": [...]}`` so
  the provider retries (the event id is released, so the retry runs again);
  ``error`` is ``"handler_failed"`` too, as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence

from hookgate.core.verify import Scheme
from hookgate.core.verify.decide import (
    Challenge,
    Refused,
    Reply,
    challenge_reply,
    decide,
    error_document,
    json_reply,
)

from .event import event_from, scheme_for
from .router import Router

log = logging.getLogger(__name__)

__all__ = ["Receiver", "Reply"]


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
        decision = decide(
            self.scheme,
            self.secrets,
            body=body,
            headers=headers,
            url=self.public_url or url,
            now=self.clock(),
        )
        if isinstance(decision, Refused):
            if decision.status >= 500:
                log.error("receiver for %s is misconfigured: %s", self.name, decision.detail)
            return _refusal(decision)
        if isinstance(decision, Challenge):
            return challenge_reply(decision)
        report = await self.router.dispatch(event_from(self.provider, decision, headers))
        if report.failures:
            names = [f.handler for f in report.failures]
            return json_reply(
                500,
                {
                    "code": "handler_failed",
                    "detail": f"{len(names)} handler(s) failed; retry later",
                    "handlers": names,
                    "error": "handler_failed",
                },
            )
        return json_reply(200, {"status": "duplicate" if report.duplicate else "ok"})


def _refusal(refused: Refused) -> Reply:
    """The server's ``{"code", "detail"}``, plus the exception name under
    ``error`` as earlier versions answered (``bad_signature`` -> ``BadSignature``)."""
    legacy = "".join(word.capitalize() for word in refused.code.split("_"))
    return json_reply(refused.status, {**error_document(refused), "error": legacy})
