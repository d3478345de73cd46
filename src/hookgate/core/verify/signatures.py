"""Reading signature headers and deriving keys, as described by a ``Scheme``.

Pure functions; every failure is a ``MalformedHeader`` naming the header.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from .errors import MalformedHeader
from .scheme import Encoding, KeyFormat, SignatureFormat

WHSEC_PREFIX = "whsec_"
ED25519_KEY_BYTES = 32


@dataclass(frozen=True)
class ParsedSignatures:
    """The decoded signature digests of one header, and the timestamp it carried."""

    digests: tuple[bytes, ...]
    timestamp: str | None


def parse_signature_header(
    header: str, value: str, fmt: SignatureFormat, encoding: Encoding
) -> ParsedSignatures:
    """Split ``value`` (the content of ``header``) according to ``fmt``.

    Entries that cannot be decoded in ``encoding`` are ignored while another
    entry can; raises ``MalformedHeader`` if no signature is usable, or the
    expected prefix or timestamp entry is missing.
    """
    if fmt.separator is None:
        if not value.startswith(fmt.prefix):
            raise MalformedHeader(header, f"expected the value to start with {fmt.prefix!r}")
        digest = decode_digest(value[len(fmt.prefix) :].strip(), encoding)
        if digest is None:
            raise MalformedHeader(header, f"signature is not valid {encoding}")
        return ParsedSignatures((digest,), None)
    return _parse_list(header, value, fmt, encoding)


def _parse_list(
    header: str, value: str, fmt: SignatureFormat, encoding: Encoding
) -> ParsedSignatures:
    assert fmt.separator is not None
    encoded: list[str] = []
    timestamp: str | None = None
    for entry in value.split(fmt.separator):
        key, sep, item = entry.strip().partition(fmt.pair)
        if not sep:
            continue
        if key == fmt.version:
            encoded.append(item)
        elif fmt.timestamp_key is not None and key == fmt.timestamp_key and timestamp is None:
            timestamp = item
    if fmt.timestamp_key is not None and timestamp is None:
        raise MalformedHeader(header, f"no {fmt.timestamp_key}{fmt.pair}<timestamp> entry")
    if not encoded:
        raise MalformedHeader(header, f"no {fmt.version}{fmt.pair}<signature> entry")
    digests = tuple(d for d in (decode_digest(e, encoding) for e in encoded) if d is not None)
    if not digests:
        raise MalformedHeader(header, f"no {fmt.version} signature is valid {encoding}")
    return ParsedSignatures(digests, timestamp)


def decode_digest(text: str, encoding: Encoding) -> bytes | None:
    """The bytes of an encoded digest, or None if ``text`` is not valid ``encoding``."""
    try:
        if encoding is Encoding.HEX:
            return bytes.fromhex(text)
        if encoding is Encoding.BASE64URL:
            padded = text + "=" * (-len(text) % 4)
            return base64.b64decode(padded, altchars=b"-_", validate=True)
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return None


def derive_key(secret: str, key_format: KeyFormat, index: int) -> bytes:
    """The HMAC key for configured secret number ``index``.

    Raises ``ValueError`` (naming the index, never the secret) if a
    ``WHSEC_BASE64`` secret is not base64 or decodes to nothing, or an
    ``ED25519_PUBLIC`` key is not 32 bytes of base64.
    """
    if key_format is KeyFormat.UTF8:
        return secret.encode("utf-8")
    if key_format is KeyFormat.ED25519_PUBLIC:
        try:
            public = base64.b64decode(secret.strip(), validate=True)
        except (ValueError, binascii.Error):
            public = b""
        if len(public) != ED25519_KEY_BYTES:
            raise ValueError(f"public key #{index} is not a base64 Ed25519 key of 32 bytes")
        return public
    encoded = secret.removeprefix(WHSEC_PREFIX)
    encoded += "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        key = b""
    if not key:
        raise ValueError(f"secret #{index} is not base64 after the optional {WHSEC_PREFIX!r}")
    return key
