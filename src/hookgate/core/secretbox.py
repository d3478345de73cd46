"""Secrets at rest: authenticated encryption under the operator's keys.

A ``SecretBox`` seals short strings (endpoint signing secrets, source
verification secrets, ingest tokens) with Fernet (AES-128-CBC plus
HMAC-SHA256, from the ``cryptography`` package) under a list of keys: new
seals use the first key, opening tries every key, so keys rotate without
downtime (``HOOKGATE_SECRET_KEY="new,old"``, then ``hookgate secrets
rotate-key``, then drop ``old``).

A key is Fernet's format: 32 random bytes in URL-safe base64 (44
characters), as ``generate_key()`` makes. Messages never contain a key or a
secret.

Opening is cached per sealed value (a sealed value always opens to the same
plaintext), so hot paths that load the same endpoint again and again decrypt
it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

_OPENED_MAX = 10_000
_UNOPENABLE = (
    "a stored secret cannot be decrypted with any key in HOOKGATE_SECRET_KEY (or the data"
    " directory's secret.key): was a key removed before `hookgate secrets rotate-key` ran?"
)


class SecretKeyError(ValueError):
    """A key is malformed, missing, or cannot open a stored secret; the
    message says which and how to fix it (never the key itself)."""


def generate_key() -> str:
    """A fresh random key in the ``HOOKGATE_SECRET_KEY`` format."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(text: str) -> list[str]:
    """The comma-separated keys of ``text`` (blanks ignored), newest first.
    Raises ``SecretKeyError`` naming the position of a malformed key."""
    keys = [item.strip() for item in text.split(",") if item.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise SecretKeyError(
                f"key {position} of HOOKGATE_SECRET_KEY is not a valid key: expected 32 random"
                " bytes in URL-safe base64 (44 characters; `hookgate secrets generate-key`)"
            ) from None
    return keys


def token_digest(token: str) -> str:
    """The SHA-256 hex digest of a random token, for lookups by token
    without storing it (24+ random bytes need no salt or stretching)."""
    return hashlib.sha256(token.encode()).hexdigest()


class SecretBox:
    """Seals and opens secrets with ``keys`` (newest first, at least one)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SecretKeyError("no secret key given")
        self._current = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])
        self.key_count = len(keys)
        self._opened: dict[str, str] = {}

    def seal(self, secret: str) -> str:
        """``secret`` encrypted under the first key (a new value each call)."""
        return self.seal_bytes(secret.encode()).decode("ascii")

    def seal_bytes(self, data: bytes) -> bytes:
        """``data`` encrypted under the first key (for larger values, such as
        stored responses that may carry a secret)."""
        return self._all.encrypt(data)

    def open_bytes(self, sealed: bytes) -> bytes:
        """What ``seal_bytes`` sealed (not cached). Raises ``SecretKeyError``."""
        try:
            return self._all.decrypt(sealed)
        except InvalidToken:
            raise SecretKeyError(_UNOPENABLE) from None

    def open(self, sealed: str) -> str:
        """The secret ``sealed`` holds. Raises ``SecretKeyError`` if no key
        opens it (a key was dropped before ``rotate-key`` ran, or the wrong
        ``HOOKGATE_SECRET_KEY`` is set)."""
        opened = self._opened.get(sealed)
        if opened is not None:
            return opened
        try:
            opened = self._all.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SecretKeyError(_UNOPENABLE) from None
        if len(self._opened) >= _OPENED_MAX:
            self._opened.clear()
        self._opened[sealed] = opened
        return opened

    def reseal(self, sealed: str) -> str | None:
        """``sealed`` re-encrypted under the first key, or None if it already
        is. Raises ``SecretKeyError`` like ``open``."""
        resealed = self.reseal_bytes(sealed.encode("ascii"))
        return None if resealed is None else resealed.decode("ascii")

    def reseal_bytes(self, sealed: bytes) -> bytes | None:
        """``reseal`` for ``seal_bytes`` values."""
        try:
            self._current.decrypt(sealed)
            return None
        except InvalidToken:
            pass
        try:
            return self._all.rotate(sealed)
        except InvalidToken:
            raise SecretKeyError(_UNOPENABLE) from None
