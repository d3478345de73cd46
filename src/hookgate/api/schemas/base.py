"""Building blocks shared by the schema modules: base classes and field types.

Wire rules that hold for every model:

* Python attributes are snake_case, JSON keys camelCase (``to_camel``); both
  spellings are accepted on input.
* Request bodies ignore unknown keys: the official SDKs send fields Hookgate
  does not implement yet (``version``, ``rateLimit``, ``tags``, ...).
* Responses are dumped with ``model_dump(mode="json", by_alias=True)`` and
  *without* ``exclude_none``: optional fields go out as ``null``, like the Svix
  server, and the SDK's list models require the ``iterator`` key to be present.
* Datetimes are timezone-aware UTC (naive input is taken as UTC) and serialize
  as ISO 8601 with a ``Z`` suffix.
* In create/replace bodies, ``null`` for a field that has a default means the
  default (the SDK sends ``null`` for any field explicitly set to ``None``). In
  patch bodies a key that is absent means "leave unchanged"; ``null`` clears a
  nullable field and is rejected for a non-nullable one.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from annotated_types import Interval, Len
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from hookgate.core import ids
from hookgate.core.polling import is_poller_url


class ApiModel(BaseModel):
    """Base of every schema: snake_case attributes, camelCase JSON."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class RequestModel(ApiModel):
    """A body a client sends. Unknown keys are dropped, never rejected; text
    fields may not contain NUL characters (no database text can hold them)."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class ResponseModel(ApiModel):
    """A body the API returns. Can be built from ORM rows (``from_attributes``)."""

    model_config = ConfigDict(from_attributes=True)


# --- null handling ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NullMeans:
    """Annotation for create bodies: an explicit ``null`` becomes
    ``default()``; the JSON schema says ``null`` is accepted."""

    default: Callable[[], Any]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(
            lambda value: self.default() if value is None else value, handler(source)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [handler(schema), {"type": "null"}]}


def null_means(default: Callable[[], Any]) -> NullMeans:
    """Annotation for create bodies: an explicit ``null`` becomes ``default()``."""
    return NullMeans(default)


@dataclass(frozen=True, slots=True)
class NotNull:
    """Annotation for patch bodies: the key may be absent but must not be
    ``null``; the JSON schema leaves ``null`` out. (It checks values that
    were sent, never the ``None`` default.)"""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(_reject_null, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        generated = handler(schema)
        branches = [b for b in generated.get("anyOf", ()) if b != {"type": "null"}]
        if len(branches) == 1:
            rest = {k: v for k, v in generated.items() if k != "anyOf"}
            return {**branches[0], **rest}
        return generated


def _reject_null(value: Any) -> Any:
    if value is None:
        raise ValueError("may be omitted but must not be null")
    return value


#: Validator for patch bodies: the key may be absent but must not be ``null``.
NOT_NULL = NotNull()


# --- strings with the Svix name pattern -------------------------------------

NAME_PATTERN = r"^[a-zA-Z0-9\-_.]+$"

EventTypeName = Annotated[str, StringConstraints(max_length=256, pattern=NAME_PATTERN)]
"""An event type name such as ``user.signup``."""

ChannelName = Annotated[str, StringConstraints(max_length=128, pattern=NAME_PATTERN)]
"""A message channel such as ``project_123``."""

FeatureFlag = Annotated[str, StringConstraints(max_length=256, pattern=NAME_PATTERN)]
"""A feature flag name such as ``cool-new-feature``."""

Uid = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=NAME_PATTERN)]
"""A client-chosen unique identifier."""


def _no_id_prefix(prefix: str) -> AfterValidator:
    # Same rule as the Svix server (BaseUid::validate_): a uid may not start
    # with the prefix of the ids of its resource, so "app_..." in a path is
    # always an id and never a uid.
    full = f"{prefix}_"

    def check(value: str) -> str:
        if value.startswith(full):
            raise ValueError(
                f"uids are not allowed to start with the id prefix {full!r}; prefix with _?"
            )
        return value

    return AfterValidator(check)


ApplicationUid = Annotated[Uid, _no_id_prefix(ids.APP)]
EndpointUid = Annotated[Uid, _no_id_prefix(ids.ENDPOINT)]
MessageUid = Annotated[Uid, _no_id_prefix(ids.MESSAGE)]


# --- sets sent as JSON arrays -----------------------------------------------


def _dedupe(value: Any) -> Any:
    # The OpenAPI doc marks these arrays uniqueItems; the Svix server reads
    # them into a set, so duplicates are dropped rather than rejected.
    if isinstance(value, list):
        try:
            return list(dict.fromkeys(value))
        except TypeError:  # unhashable items: let item validation report them
            return value
    return value


EventTypeNames = Annotated[list[EventTypeName], Len(min_length=1), BeforeValidator(_dedupe)]
"""An endpoint's event type filter: at least one name (``null`` means all)."""

EndpointChannels = Annotated[list[ChannelName], Len(1, 10), BeforeValidator(_dedupe)]
"""An endpoint's channel filter: 1 to 10 channels (``null`` means all)."""

MessageChannels = Annotated[list[ChannelName], Len(1, 5), BeforeValidator(_dedupe)]
"""The channels of a message: 1 to 5."""

FeatureFlags = Annotated[list[FeatureFlag], BeforeValidator(_dedupe)]

Tags = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=128)]],
    BeforeValidator(_dedupe),
]
"""Free-form message tags."""


# --- numbers ------------------------------------------------------------------

ThrottleRate = Annotated[int, Interval(ge=1, le=65535)]
"""Messages per second (uint16). The doc allows 0 in patches; like the Svix
server we require at least 1 everywhere and use ``null`` for "no limit"."""


# --- datetimes ----------------------------------------------------------------


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


_NUMBER = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")


def _iso_only(value: Any) -> Any:
    # pydantic would read a number as seconds since the epoch; the Svix API
    # (and its OpenAPI ``date-time`` format) takes ISO 8601 only.
    if (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and _NUMBER.fullmatch(value)
    ):
        raise ValueError("must be an ISO 8601 datetime such as 2026-01-31T12:00:00Z")
    return value


UtcDatetime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_as_utc)]
"""A timezone-aware UTC datetime given in ISO 8601; naive values are taken
as UTC."""


# --- URLs ---------------------------------------------------------------------

URL_ERROR = "url must be an absolute http or https URL"


def _check_url(value: str) -> str:
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(URL_ERROR)
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise ValueError(URL_ERROR) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(URL_ERROR)
    return value


EndpointUrl = Annotated[str, StringConstraints(max_length=65536), AfterValidator(_check_url)]
"""An absolute http(s) URL, kept exactly as sent (no normalization)."""


def _check_endpoint_url(value: str) -> str:
    if is_poller_url(value):
        return value
    return _check_url(value)


DestinationUrl = Annotated[
    str, StringConstraints(max_length=65536), AfterValidator(_check_endpoint_url)
]
"""An endpoint's URL: an ``EndpointUrl``, or ``svix-poller://...`` for a
polling endpoint (``core.polling``), read by its consumer, never pushed to."""


# --- endpoint secrets ---------------------------------------------------------

SECRET_PATTERN = r"^(whsec_)?[a-zA-Z0-9+/=]{32,100}$"


def _check_secret(value: str) -> str:
    try:
        key = binascii.a2b_base64(value.removeprefix("whsec_"), strict_mode=True)
    except binascii.Error:
        raise ValueError("secret must be base64, optionally prefixed with whsec_") from None
    if not 24 <= len(key) <= 75:
        raise ValueError("secret must decode to 24 to 75 bytes")
    return value


EndpointSecret = Annotated[
    str, StringConstraints(pattern=SECRET_PATTERN), AfterValidator(_check_secret)
]
"""A signing secret: base64 of 24-75 random bytes, optionally ``whsec_``-prefixed."""


# --- custom endpoint headers --------------------------------------------------

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_MAX_HEADER_VALUE = 4096
# The Svix server's list, plus "webhook-", which Hookgate's own signature
# headers (webhook-id, webhook-timestamp, webhook-signature) use.
_FORBIDDEN_HEADERS = frozenset(
    {
        "user-agent",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "age",
        "cache-control",
        "clear-site-data",
        "expires",
        "pragma",
        "warning",
        "content-length",
        "content-type",
        "content-encoding",
        "content-language",
        "content-location",
    }
)
_FORBIDDEN_HEADER_PREFIXES = (
    "x-amz-",
    "x-amzn-",
    "x-google",
    "x-goog-",
    "x-gfe",
    "x-azure-",
    "x-fd-",
    "x-svix-",
    "svix-",
    "webhook-",
)


def _check_header_name(name: str) -> None:
    if not _TOKEN.match(name):
        raise ValueError(f"invalid header name {name!r}")
    lower = name.lower()
    if lower in _FORBIDDEN_HEADERS or lower.startswith(_FORBIDDEN_HEADER_PREFIXES):
        raise ValueError(f"header {name!r} may not be set on an endpoint")


def _check_header_value(name: str, value: str) -> None:
    if any((ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"invalid value for header {name!r}")
    if len(value.encode()) > _MAX_HEADER_VALUE:
        raise ValueError(f"header {name!r} is longer than {_MAX_HEADER_VALUE} bytes")


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        _check_header_name(name)
        _check_header_value(name, value)
    return headers


def _check_header_patch(headers: dict[str, str | None]) -> dict[str, str | None]:
    for name, value in headers.items():
        _check_header_name(name)
        if value is not None:
            _check_header_value(name, value)
    return headers


EndpointHeaders = Annotated[dict[str, str], AfterValidator(_check_headers)]
"""Custom headers sent with every delivery to an endpoint."""

EndpointHeadersPatch = Annotated[dict[str, str | None], AfterValidator(_check_header_patch)]
"""Header changes: a string sets the header, ``null`` removes it."""

Metadata = dict[str, str]
"""Free-form string key/value pairs attached to a resource."""
