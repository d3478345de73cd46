"""Signing outgoing webhooks, with parsed secrets cached."""

from __future__ import annotations

from collections.abc import Sequence

from hookgate.core.signing import parse_secret, webhook_headers

_CACHE_LIMIT = 10_000


class Signer:
    """Builds Standard Webhooks headers; decodes each secret once."""

    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}

    def headers(
        self, msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]
    ) -> dict[str, str]:
        return webhook_headers(msg_id, timestamp, body, [self._key(s) for s in secrets])

    def _key(self, secret: str) -> bytes:
        key = self._keys.get(secret)
        if key is None:
            if len(self._keys) >= _CACHE_LIMIT:
                self._keys.clear()
            key = self._keys[secret] = parse_secret(secret)
        return key
