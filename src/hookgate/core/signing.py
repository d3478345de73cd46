"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The signed content is ``f"{msg_id}.{timestamp}.".encode() + body``, signed
with HMAC-SHA256 keyed by the base64-decoded endpoint secret. The
``webhook-signature`` header holds one space-separated ``v1,<base64>`` entry
per active key, so receivers keep verifying while a secret is rotated.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
#: Secrets supplied by users may be longer (Svix accepts up to 100 base64 chars).
MAX_SUPPLIED_SECRET_BYTES = 75


class InvalidSecret(ValueError):
    """A signing secret is malformed; the message says exactly how."""


def generate_secret(nbytes: int = 24) -> str:
    """A new secret: ``"whsec_"`` + standard base64 of ``nbytes`` random bytes.

    Raises ``ValueError`` unless ``nbytes`` is within 24..64, the range
    ``parse_secret`` accepts.
    """
    if not MIN_SECRET_BYTES <= nbytes <= MAX_SECRET_BYTES:
        raise ValueError(
            f"nbytes must be between {MIN_SECRET_BYTES} and {MAX_SECRET_BYTES}, got {nbytes}"
        )
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def parse_secret(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_<base64>`` secret.

    Missing base64 padding is tolerated. Raises ``InvalidSecret`` if the
    prefix is missing, the rest is not standard base64, or it does not decode
    to 24..75 bytes.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret(f"secret must start with {SECRET_PREFIX!r}")
    encoded = secret[len(SECRET_PREFIX) :]
    encoded += "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSecret("secret is not valid base64") from exc
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SUPPLIED_SECRET_BYTES:
        raise InvalidSecret(
            f"secret must decode to {MIN_SECRET_BYTES}-{MAX_SUPPLIED_SECRET_BYTES} bytes, "
            f"got {len(key)}"
        )
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature entry, ``"v1,<base64 HMAC-SHA256>"``, over the exact
    ``body`` bytes."""
    return sign_prepared(prepared_key(key), msg_id, timestamp, body)


def prepared_key(key: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 object keyed by ``key`` with no data fed in, for
    ``sign_prepared`` and ``prepared_webhook_headers``.

    Keying HMAC costs about as much as signing a small body, so callers that
    sign many messages with the same key should prepare it once and keep it.
    The functions here only ever use copies of it, so it stays reusable; the
    caller must not ``update`` it either.
    """
    return hmac.new(key, digestmod=hashlib.sha256)


def sign_prepared(prepared: hmac.HMAC, msg_id: str, timestamp: int, body: bytes) -> str:
    """``sign`` with a key from ``prepared_key``: the same entry, and ``prepared``
    is left unchanged."""
    mac = prepared.copy()
    mac.update(f"{msg_id}.{timestamp}.".encode())
    mac.update(body)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def signature_header(keys: Sequence[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one ``sign`` entry per key, in order,
    separated by spaces. Raises ``ValueError`` if ``keys`` is empty."""
    if not keys:
        raise ValueError("at least one signing key is required")
    return " ".join(sign(key, msg_id, timestamp, body) for key in keys)


def webhook_headers(
    msg_id: str, timestamp: int, body: bytes, keys: Sequence[bytes]
) -> dict[str, str]:
    """The ``webhook-id``/``-timestamp``/``-signature`` headers for a delivery,
    duplicated as ``svix-id``/``-timestamp``/``-signature`` for receivers using
    older Svix libraries."""
    signature = signature_header(keys, msg_id, timestamp, body)
    return _headers(msg_id, timestamp, signature)


def prepared_webhook_headers(
    msg_id: str, timestamp: int, body: bytes, prepared: Sequence[hmac.HMAC]
) -> dict[str, str]:
    """``webhook_headers`` with keys from ``prepared_key``: the same headers,
    ``prepared`` left unchanged. Raises ``ValueError`` if ``prepared`` is empty."""
    if not prepared:
        raise ValueError("at least one signing key is required")
    signature = " ".join(sign_prepared(mac, msg_id, timestamp, body) for mac in prepared)
    return _headers(msg_id, timestamp, signature)


def _headers(msg_id: str, timestamp: int, signature: str) -> dict[str, str]:
    ts = str(timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": signature,
        "svix-id": msg_id,
        "svix-timestamp": ts,
        "svix-signature": signature,
    }
