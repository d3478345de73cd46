"""What a source is configured with: its verification scheme and options.

Sources are created with a Svix Ingest ``type`` and ``config``. The type picks
the ``core.verify.PRESETS`` scheme (``inbound.source_types.resolve``, which
refuses unknown and unsupported types with a ``ConfigError``); ``config`` carries the
secret(s) plus Hookgate's own options. Keys may be camelCase or snake_case;
unknown keys are ignored (the SDK sends type-specific ones Hookgate does not
use).

``config`` keys (all optional unless said otherwise):

- ``secret``: one secret, as in Svix; ``secrets``: a list of secrets, all
  accepted (for rotation). A verifying scheme needs at least one. Telnyx's
  ``publicKey`` and Adobe Sign's ``clientId`` are taken as its secret.
- ``scheme`` (``generic-webhook`` only): a ``PRESETS`` name (``"twilio"``,
  ``"gitlab"``, ``"paddle"``, ...). Absent: no verification, as Svix's
  generic webhook (requests are stored with ``verified = false``).
- ``publicUrl``: the URL the provider signs (Twilio, Square) when a proxy
  rewrites the one Hookgate sees.
- ``allowedMethods``: default ``["POST"]``; others get 405.
- ``maxBodyBytes``: default 1 MiB; larger bodies get 413.
- ``allowedCidrs``: if set, only these client networks are accepted (403).
- ``trustedProxies``: networks whose ``X-Forwarded-For`` is believed.
- ``dedupeWindowSeconds``: default 86400; 0 turns deduplication off.
- ``response``: ``{"status": 2xx, "body": "...", "headers": {...}}``, the
  answer to accepted requests (default 200 ``{"ok": true}``).
- ``rateLimit``: ``{"perSecond": 50, "burst": 100}``; requests beyond it get
  429 with ``Retry-After`` and are not stored (so a flood cannot fill the
  store). ``burst`` defaults to ``perSecond`` rounded up. Counted per process.
- ``allowedContentTypes``: media types such as ``"application/json"`` or
  ``"text/*"``; other (or missing) ``Content-Type`` gets 415.
- ``dedupeKey`` / ``eventTypeKey``: where the provider's event id / event type
  is, as ``{"header": "X-Request-Id"}`` or ``{"jsonPath": "data.id"}`` (object
  keys separated by dots). They replace the scheme's own locations and also
  apply to sources that do not verify.
- ``requireToken``: if true, only the ``ingestUrl`` (which embeds the
  source's token) is accepted; ``/in/<id>`` and ``/in/<uid>`` answer 404.
- ``dedupeOnBodyHash``: deduplicate on the SHA-256 of the body instead of
  the event id (which is still stored and searchable). Default: on for
  schemes whose event id is not covered by the signature (``github``,
  ``shopify``, ``twilio``, ``gitlab``: anyone replaying a captured body
  could set a new one), unless ``dedupeKey`` is set; off otherwise
  (``body_hash_dedupe``).

Secrets are never part of ``public_config``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from hookgate.core.verify import PRESETS, FromHeader, FromJson, Locator
from hookgate.core.verify.scheme import KeyFormat, Scheme
from hookgate.core.verify.signatures import derive_key
from hookgate.inbound.source_types import BIN_TYPE as BIN_TYPE
from hookgate.inbound.source_types import CREDENTIAL_KEY, REFUSED, UNSUPPORTED_KEYS, resolve
from hookgate.inbound.source_types import GENERIC as GENERIC
from hookgate.inbound.source_types import NO_SCHEME as NO_SCHEME
from hookgate.inbound.source_types import ConfigError as ConfigError
from hookgate.inbound.source_types import scheme_of as scheme_of

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_MAX_BODY = 1024 * 1024
MAX_BODY_LIMIT = 32 * 1024 * 1024
DEFAULT_DEDUPE_WINDOW = 86_400

_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_RESERVED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$")


class ResponseSpec(BaseModel):
    """The answer to an accepted request."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    status: int = Field(200, ge=200, le=299)
    body: str = Field('{"ok": true}', max_length=65536)
    headers: dict[str, str] = Field(default_factory=lambda: {"content-type": "application/json"})

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.match(name) or name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"header {name!r} may not be set")
            if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
                raise ValueError(f"invalid value for header {name!r}")
        return value


class RateLimitSpec(BaseModel):
    """At most ``per_second`` requests per second on average, ``burst`` at once."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    per_second: float = Field(gt=0, le=1_000_000)
    burst: int | None = Field(None, ge=1, le=1_000_000)

    @property
    def capacity(self) -> int:
        """The bucket size: ``burst``, else ``per_second`` rounded up."""
        return self.burst or max(1, math.ceil(self.per_second))


class FieldSpec(BaseModel):
    """Where a value is in a request: a header, or a JSON path in the body."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    header: str | None = Field(None, min_length=1, max_length=256, pattern=_HEADER_NAME.pattern)
    json_path: str | None = Field(None, min_length=1, max_length=512)

    @model_validator(mode="after")
    def _exactly_one(self) -> FieldSpec:
        if (self.header is None) == (self.json_path is None):
            raise ValueError("give exactly one of header or jsonPath")
        if self.json_path is not None and any(not key for key in self.path):
            raise ValueError("jsonPath must be object keys separated by dots, like data.id")
        return self

    @property
    def path(self) -> tuple[str, ...]:
        text = self.json_path or ""
        return tuple((text[2:] if text.startswith("$.") else text).split("."))

    def locator(self) -> Locator:
        """The ``core.verify`` locator of this field."""
        return FromHeader(self.header) if self.header is not None else FromJson(self.path)


class SourceOptions(BaseModel):
    """A source's normalized configuration, as stored (snake_case JSON)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    secret: str | None = Field(None, exclude=True)
    secrets: list[str] = Field(default_factory=list)
    scheme: str | None = None
    public_url: str | None = Field(None, pattern=r"^https?://\S+$")
    allowed_methods: list[str] = Field(default_factory=lambda: ["POST"], min_length=1)
    max_body_bytes: int = Field(DEFAULT_MAX_BODY, ge=1, le=MAX_BODY_LIMIT)
    allowed_cidrs: list[str] | None = None
    trusted_proxies: list[str] = Field(default_factory=list)
    dedupe_window_seconds: int = Field(DEFAULT_DEDUPE_WINDOW, ge=0, le=30 * 86_400)
    response: ResponseSpec = Field(default_factory=ResponseSpec)
    rate_limit: RateLimitSpec | None = None
    allowed_content_types: list[str] | None = Field(None, min_length=1)
    dedupe_key: FieldSpec | None = None
    event_type_key: FieldSpec | None = None
    require_token: bool = False
    #: None: the scheme's default (``body_hash_dedupe``).
    dedupe_on_body_hash: bool | None = None
    #: Meta's ``verifyToken`` as given (never stored) and as kept
    #: (``token_digest``), for its subscription check (``inbound.handshakes``).
    verify_token: str | None = Field(None, exclude=True, min_length=1, max_length=1024)
    verify_token_sha256: str | None = None

    @field_validator("allowed_content_types")
    @classmethod
    def _check_media_types(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        lowered = list(dict.fromkeys(v.strip().lower() for v in value))
        bad = [v for v in lowered if not _MEDIA_TYPE.match(v)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a media type like application/json or text/*")
        return lowered

    @field_validator("secrets")
    @classmethod
    def _check_secrets(cls, value: list[str]) -> list[str]:
        if any(not s or "\x00" in s or len(s) > 1024 for s in value):
            raise ValueError("secrets must be non-empty strings of at most 1024 characters")
        return value

    @field_validator("allowed_methods")
    @classmethod
    def _check_methods(cls, value: list[str]) -> list[str]:
        upper = list(dict.fromkeys(m.upper() for m in value))
        unknown = [m for m in upper if m not in METHODS]
        if unknown:
            raise ValueError(f"unsupported method(s) {unknown}; use {list(METHODS)}")
        return upper

    @field_validator("allowed_cidrs", "trusted_proxies")
    @classmethod
    def _check_networks(cls, value: list[str] | None) -> list[str] | None:
        for text in value or ():
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(f"{text!r} is not an IP network") from None
        return value

    def content_type_allowed(self, content_type: str | None) -> bool:
        """Whether a request with this ``Content-Type`` header may be accepted."""
        if self.allowed_content_types is None:
            return True
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if not media:
            return False
        family = media.split("/", 1)[0] + "/*"
        return media in self.allowed_content_types or family in self.allowed_content_types

    @property
    def all_secrets(self) -> list[str]:
        """Every configured secret (``secrets`` then ``secret``), deduplicated."""
        single = [self.secret] if self.secret else []
        return list(dict.fromkeys([*self.secrets, *single]))


def parse(source_type: str, config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(scheme, stored config)`` for a source of ``source_type`` created
    with ``config``. Raises ``ConfigError`` saying what is wrong."""
    if source_type == BIN_TYPE:
        from hookgate.inbound import bins

        return bins.parse(config)
    if source_type in REFUSED:
        raise ConfigError(f"source type {source_type!r} is not supported: {REFUSED[source_type]}")
    config = _credential_as_secret(source_type, config)
    try:
        options = SourceOptions.model_validate(config)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"config.{where}: {first['msg']}") from None
    secrets = options.all_secrets
    scheme = resolve(source_type, options.scheme)
    if scheme != NO_SCHEME:
        if not secrets:
            raise ConfigError(f"a {source_type} source needs config.secret (or config.secrets)")
        for index, secret in enumerate(secrets):
            try:
                derive_key(secret, PRESETS[scheme].key_format, index)
            except ValueError as exc:
                raise ConfigError(f"config.secrets: {exc}") from None
    stored = options.model_dump(exclude={"secret"})
    stored["secrets"] = secrets
    stored["scheme"] = None if scheme == NO_SCHEME else scheme
    if options.verify_token:
        stored["verify_token_sha256"] = token_digest(options.verify_token)
    if source_type == "adobe-sign":
        _adobe_sign_handshake(stored, config, secrets)
    return scheme, stored


def _credential_as_secret(source_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the type's credential key (``publicKey``...) as ``secret``;
    raises ``ConfigError`` for a key the SDK sends that Hookgate cannot honour."""
    for key, why in UNSUPPORTED_KEYS.get(source_type, {}).items():
        if config.get(key) is not None or config.get(_snake(key)) is not None:
            raise ConfigError(f"config.{key} is not supported: {why}")
    if source_type not in CREDENTIAL_KEY:
        return config
    key = CREDENTIAL_KEY[source_type]
    value = config.get(key, config.get(_snake(key)))
    rest = {k: v for k, v in config.items() if k not in (key, _snake(key))}
    if value is None:
        return rest
    if not isinstance(value, str):
        raise ConfigError(f"config.{key} must be a string")
    return {**rest, "secret": value}


def token_digest(token: str) -> str:
    """How a verify token is kept: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower()


def _adobe_sign_handshake(stored: dict[str, Any], config: dict[str, Any], ids: list[str]) -> None:
    """Adobe Acrobat Sign checks that the answer echoes its client id in
    ``X-AdobeSign-ClientId`` and verifies the URL with a GET first."""
    stored["response"]["headers"].setdefault("X-AdobeSign-ClientId", ids[0])
    try:
        ResponseSpec.model_validate(stored["response"])
    except ValidationError:
        raise ConfigError("config.clientId is not a valid header value") from None
    if "allowedMethods" not in config and "allowed_methods" not in config:
        stored["allowed_methods"] = ["GET", "POST"]


def load(stored: dict[str, Any]) -> SourceOptions:
    """The options of a stored config (as written by ``parse``)."""
    return SourceOptions.model_validate(stored)


def signs_event_id(scheme: Scheme) -> bool:
    """Whether ``scheme``'s signature covers its event id: ids in a signed
    body, or in the id header its content signs. False without an event id."""
    signed = scheme.placeholders if scheme.signs_content else frozenset()

    def covered(locator: Locator) -> bool:
        if isinstance(locator, FromJson):
            return "body" in signed
        id_header = (scheme.id_header or "").lower()
        return "id" in signed and locator.name.lower() == id_header

    return bool(scheme.event_id) and all(covered(locator) for locator in scheme.event_id)


def body_hash_dedupe(options: SourceOptions, scheme: str) -> bool:
    """Whether a source verified by ``scheme`` (a ``PRESETS`` name or
    ``NO_SCHEME``) deduplicates on the body's hash: as configured, else when
    the scheme locates an event id its signature does not cover and no
    ``dedupeKey`` is configured."""
    if options.dedupe_on_body_hash is not None:
        return options.dedupe_on_body_hash
    if options.dedupe_key is not None or scheme not in PRESETS:
        return False
    preset = PRESETS[scheme]
    return bool(preset.event_id) and not signs_event_id(preset)


def public_config(stored: dict[str, Any]) -> dict[str, Any]:
    """The config as the API shows it: camelCase, without secrets
    (``dedupeOnBodyHash`` resolved to what applies); an Ed25519 source's
    first public key as ``publicKey``."""
    options = load(stored)
    shown = options.model_dump(by_alias=True, exclude={"secret", "secrets", "verify_token_sha256"})
    shown["dedupeOnBodyHash"] = body_hash_dedupe(options, stored.get("scheme") or NO_SCHEME)
    if shown["scheme"] is None:
        del shown["scheme"]
    shown["secretCount"] = len(options.secrets)
    if "bin" in stored:
        from hookgate.inbound import bins

        shown.update(bins.public_config(stored))
    scheme = PRESETS.get(stored.get("scheme") or NO_SCHEME)
    if scheme is not None and scheme.key_format is KeyFormat.ED25519_PUBLIC and options.secrets:
        # A public key is not a secret, and the SDK's TelnyxConfigOut requires it.
        shown["publicKey"] = options.secrets[0]
    return shown
