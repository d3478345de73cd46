"""Meta's subscription check: the ``GET`` a provider sends to ``/in`` to
prove the URL is yours before it sends any event.

Meta (Facebook, Instagram, WhatsApp webhooks) sends
``GET ?hub.mode=subscribe&hub.verify_token=<token>&hub.challenge=<string>``
and expects 200 with the challenge as the body when the token is the one
configured on its side (``config.verifyToken`` of a ``meta`` source). Such
a request is answered here, before the method check (a ``meta`` source
takes ``POST`` events only), after the rate limit and with the source's
``allowedCidrs`` still applying. It is stored like any request: accepted and
marked verified when the token matches (never forwarded: it is no event),
refused with 403 ``wrong_credentials`` when it does not or when the source
has no ``verifyToken``.

The token is stored only as its SHA-256 (``config.token_digest``) and
compared in constant time. Slack's and Zoom's handshakes are signed
``POST`` requests, answered by the receive core (``core.verify.decide``).
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from hookgate.core.verify.decide import Refused, Reply, refusal_reply
from hookgate.inbound import network
from hookgate.inbound.config import SourceOptions, token_digest
from hookgate.inbound.recorder import Recorder
from hookgate.inbound.request import HttpRequest, stored
from hookgate.store.sources import Source

#: The scheme whose sources answer the subscription check.
META = "meta"
_MAX_CHALLENGE = 1024


def is_subscription_check(source: Source, http: HttpRequest) -> bool:
    """Whether ``http`` is Meta's ``GET`` subscription check to a meta source."""
    if source.scheme != META or http.method != "GET":
        return False
    return parse_qs(http.query).get("hub.mode") == ["subscribe"]


def _verdict(options: SourceOptions, http: HttpRequest) -> Refused | Reply:
    params = parse_qs(http.query, keep_blank_values=True)
    if not network.allowed(http.peer_ip, options.allowed_cidrs):
        return Refused(403, "ip_not_allowed", f"client address {http.peer_ip} is not allowed")
    challenge = params.get("hub.challenge", [""])[0]
    given = params.get("hub.verify_token", [None])[0]
    if not challenge or len(challenge) > _MAX_CHALLENGE:
        return Refused(400, "malformed_header", "hub.challenge is missing or too long")
    expected = options.verify_token_sha256
    if expected is None:
        detail = "this meta source has no config.verifyToken to check hub.verify_token against"
        return Refused(403, "wrong_credentials", detail)
    if given is None or not hmac.compare_digest(token_digest(given), expected):
        return Refused(403, "wrong_credentials", "hub.verify_token does not match verifyToken")
    return Reply(200, challenge.encode("utf-8"), {"content-type": "text/plain; charset=utf-8"})


async def answer_subscription_check(
    recorder: Recorder, source: Source, options: SourceOptions, http: HttpRequest, now: float
) -> Reply:
    """Answer and store Meta's subscription check ``http`` (see the module
    docstring)."""
    verdict = _verdict(options, http)
    if isinstance(verdict, Refused):
        record = stored(source, http, now, verified=False, rejection=verdict.reason)
        await recorder.record(record, dedupe_window_ms=0)
        return refusal_reply(verdict)
    record = stored(source, http, now, verified=True, rejection=None)
    await recorder.record(record, dedupe_window_ms=0)
    return verdict
