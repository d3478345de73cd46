"""Signing outgoing webhooks, with each secret decoded and keyed once."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from hookgate.core.signing import parse_secret, prepared_key, prepared_webhook_headers

_CACHE_LIMIT = 10_000


class Signer:
    """Builds Standard Webhooks headers (see ``core.signing.webhook_headers``).

    Each distinct secret string is parsed and turned into a prepared HMAC key
    once; up to 10,000 are kept (the cache is simply emptied when full).
    ``headers`` raises ``InvalidSecret`` for a malformed secret (nothing is
    cached for it) and ``ValueError`` if ``secrets`` is empty.
    """

    def __init__(self) -> None:
        self._keys: dict[str, hmac.HMAC] = {}

    def headers(
        self, msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]
    ) -> dict[str, str]:
        keys = self._keys
        prepared = [keys.get(s) or self._prepare(s) for s in secrets]
        return prepared_webhook_headers(msg_id, timestamp, body, prepared)

    def _prepare(self, secret: str) -> hmac.HMAC:
        key = prepared_key(parse_secret(secret))
        if len(self._keys) >= _CACHE_LIMIT:
            self._keys.clear()
        self._keys[secret] = key
        return key
