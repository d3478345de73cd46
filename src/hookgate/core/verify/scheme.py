"""Verification schemes as data.

A ``Scheme`` says *what* a provider signs and *where* it puts things; the one
engine in ``engine.py`` interprets it. Adding a provider means writing a new
``Scheme`` value (see ``presets.py``), not a new code path.

What is signed is a ``content`` template made of literal text and these
placeholders, concatenated without separators unless the template has them:

- ``{body}`` the exact request body bytes
- ``{ts}``   the timestamp exactly as received (header or signature header)
- ``{id}``   the value of ``id_header``
- ``{url}``  the full public request URL (with query)
- ``{form}`` every form parameter, sorted by name then value (duplicates
  dropped), as ``name + value`` with no separators (Twilio)

Examples: ``"{body}"`` (GitHub, Shopify), ``"{ts}.{body}"`` (Stripe),
``"v0:{ts}:{body}"`` (Slack), ``"{id}.{ts}.{body}"`` (Standard Webhooks),
``"{ts}:{body}"`` (Paddle), ``"{url}{form}"`` (Twilio), ``"{url}{body}"`` (Square).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from enum import StrEnum

PLACEHOLDERS = frozenset({"body", "ts", "id", "url", "form"})


class Method(StrEnum):
    """How the request proves its origin."""

    HMAC = "hmac"  #: an HMAC of ``content`` in ``signature_header``
    TOKEN = "token"  #: ``signature_header`` (after ``token_prefix``) equals a secret
    BASIC = "basic"  #: ``Authorization: Basic`` credentials equal a ``"user:password"`` secret
    #: an Ed25519 signature of ``content`` in ``signature_header``, checked with
    #: the configured public key(s) (Telnyx); ``algorithm`` is not used
    ED25519 = "ed25519"


class Algorithm(StrEnum):
    """The HMAC digest."""

    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"


class Encoding(StrEnum):
    """How a digest is written in a header."""

    HEX = "hex"
    BASE64 = "base64"
    #: the URL-safe base64 alphabet (``-`` and ``_``), padding optional (Merge)
    BASE64URL = "base64url"


class KeyFormat(StrEnum):
    """How a configured secret string becomes the HMAC key."""

    #: the secret's UTF-8 bytes, as is (GitHub, Slack, Stripe: the whole ``whsec_...``)
    UTF8 = "utf8"
    #: base64-decode what follows an optional ``whsec_`` prefix (Standard Webhooks)
    WHSEC_BASE64 = "whsec-base64"
    #: a base64 Ed25519 public key of 32 bytes (Telnyx); ``ED25519`` schemes only
    ED25519_PUBLIC = "ed25519-public"


@dataclass(frozen=True)
class SignatureFormat:
    """How one header carries one or several signatures (and maybe a timestamp).

    - ``separator=None``: the header is one signature, after a required
      ``prefix`` (``"sha256="`` GitHub, ``"v0="`` Slack, ``""`` Shopify).
    - otherwise the header is ``separator``-separated entries ``key<pair>value``;
      entries whose key is ``version`` are signatures (any may match), the
      entry whose key is ``timestamp_key`` is the timestamp, others are
      ignored. Stripe: ``","``, ``"="``, ``"v1"``, ``"t"``; Paddle: ``";"``,
      ``"="``, ``"h1"``, ``"ts"``; Standard Webhooks: ``" "``, ``","``, ``"v1"``.
    """

    separator: str | None = None
    pair: str = "="
    version: str = ""
    timestamp_key: str | None = None
    prefix: str = ""

    def __post_init__(self) -> None:
        if self.separator is not None and not self.version:
            raise ValueError("a signature list needs the version key of its signature entries")
        if self.separator is None and self.timestamp_key is not None:
            raise ValueError("a single-signature header cannot carry a timestamp")


@dataclass(frozen=True)
class FromHeader:
    """A value taken from a request header."""

    name: str


@dataclass(frozen=True)
class FromJson:
    """A value taken from the JSON body, following object keys in ``path``."""

    path: tuple[str, ...]


Locator = FromHeader | FromJson


@dataclass(frozen=True)
class Scheme:
    """Everything needed to verify one provider's requests.

    Header names are case-insensitive. ``tolerance`` (seconds) bounds how old
    the timestamp may be; ``None`` means no freshness check. With
    ``reject_future`` the same bound applies to timestamps ahead of ``now``.
    ``event_id`` and ``event_type`` are tried in order; the first locator that
    yields a string wins. ``fallback`` is used instead of this scheme when this
    scheme's ``signature_header`` is absent but the fallback's is present
    (GitHub's legacy SHA-1 header, the ``svix-*`` family).
    Construction raises ``ValueError`` for an inconsistent scheme.
    """

    name: str
    signature_header: str
    method: Method = Method.HMAC
    signature_format: SignatureFormat = field(default_factory=SignatureFormat)
    content: str = "{body}"
    algorithm: Algorithm = Algorithm.SHA256
    encoding: Encoding = Encoding.HEX
    key_format: KeyFormat = KeyFormat.UTF8
    timestamp_header: str | None = None
    id_header: str | None = None
    tolerance: float | None = None
    reject_future: bool = True
    #: TOKEN: text before the token, matched case-insensitively (``"Bearer "``)
    token_prefix: str = ""
    #: a URL query parameter holding the hex SHA-256 of a JSON body (Twilio)
    body_hash_param: str | None = None
    #: also try the URL with its default port added/removed (Twilio)
    url_port_variants: bool = False
    #: the signature is the URL query parameter named ``signature_header``,
    #: not a header (PandaDoc); such a scheme has no fallback
    signature_in_query: bool = False
    #: more headers carrying signatures in the same format, any of which may
    #: match (DocuSign sends one header per active key)
    more_signature_headers: tuple[str, ...] = ()
    event_id: tuple[Locator, ...] = ()
    event_type: tuple[Locator, ...] = ()
    fallback: Scheme | None = None

    def __post_init__(self) -> None:
        used = self.placeholders
        unknown = used - PLACEHOLDERS
        if unknown:
            raise ValueError(f"unknown placeholder(s) in content: {sorted(unknown)}")
        has_ts = self.timestamp_header is not None or (
            self.signature_format.timestamp_key is not None
        )
        if "ts" in used and not has_ts:
            raise ValueError("content signs {ts} but the scheme has no timestamp source")
        if self.tolerance is not None and not has_ts:
            raise ValueError("a tolerance needs a timestamp source")
        if "id" in used and self.id_header is None:
            raise ValueError("content signs {id} but the scheme has no id_header")
        if not self.signs_content and used != {"body"}:
            raise ValueError(f"{self.method} schemes do not sign content")
        if self.signature_in_query and (self.fallback is not None or not self.signs_content):
            raise ValueError("a signature in the query string has no fallback and signs content")
        if (self.method is Method.ED25519) != (self.key_format is KeyFormat.ED25519_PUBLIC):
            raise ValueError("ed25519 schemes, and only they, use ed25519 public keys")

    @property
    def signs_content(self) -> bool:
        """Whether requests carry a signature of ``content`` (not a shared credential)."""
        return self.method in (Method.HMAC, Method.ED25519)

    @property
    def placeholders(self) -> frozenset[str]:
        """The placeholder names used in ``content``."""
        return frozenset(
            name for _, name, _, _ in string.Formatter().parse(self.content) if name is not None
        )

    @property
    def signature_headers(self) -> tuple[str, ...]:
        """This scheme's signature header followed by those of its fallbacks."""
        tail = self.fallback.signature_headers if self.fallback else ()
        return (self.signature_header, *tail)
