"""Inspector bins: inbound sources that verify nothing and keep everything.

A bin is a source of type ``hookgate-bin`` (``BIN_TYPE``; a Hookgate type,
not a Svix Ingest one), created by ``hookgate bin create`` or by the ingest
API (``POST /ingest/api/v1/source`` with ``"type": "hookgate-bin"``). It
accepts every method routed to ``/in/{source}`` (GET, HEAD, POST, PUT, PATCH,
DELETE) and also ``/in/{source}/<any sub-path>`` (plus OPTIONS there), which
only bins answer (other sources: 404). Each request is stored as received:
method, path (``/in/<token>`` redacted as for every source, then the
sub-path), query string, headers in order and the exact body bytes, with
``verified = false`` and no deduplication.

``config`` keys (all optional):

- ``response``: ``{"status": 100-599 (default 200), "headers": {...},
  "body": "..." (default ``{"ok": true}``), "delaySeconds": 0-30}``, the
  answer to every stored request, sent after the delay;
- ``retention``: ``{"count": 1-100000, "maxAgeSeconds": 1-31536000}``,
  either or both: after each request the bin keeps only its newest
  ``count`` requests and those younger than ``maxAgeSeconds`` (the server's
  ``HOOKGATE_INBOUND_RETENTION_DAYS`` applies as to every source);
- ``maxBodyBytes``, ``rateLimit``, ``allowedCidrs``, ``trustedProxies``,
  ``allowedContentTypes``: as for every source (``inbound.config``); larger,
  faster, or otherwise refused requests are answered and stored as refused
  the same way.

Secrets, ``scheme``, ``allowedMethods`` and the dedupe options make no sense
for a bin and are refused (``ConfigError``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from hookgate.core.verify.decide import Reply
from hookgate.inbound import checks
from hookgate.inbound.config import BIN_TYPE as BIN_TYPE
from hookgate.inbound.config import (
    METHODS,
    NO_SCHEME,
    ConfigError,
    ResponseSpec,
    SourceOptions,
)
from hookgate.inbound.forward import forward_item
from hookgate.inbound.request import HttpRequest, stored
from hookgate.store import source_lookup, source_retention
from hookgate.store.database import Database
from hookgate.store.sources import Source

if TYPE_CHECKING:
    from hookgate.inbound.handle_request import Inbound

#: The longest ``response.delaySeconds``.
MAX_DELAY_S = 30.0
#: Config keys a bin refuses (it verifies nothing, accepts every method and
#: keeps every request).
_REFUSED_KEYS = (
    "secret",
    "secrets",
    "scheme",
    "publicUrl",
    "allowedMethods",
    "dedupeWindowSeconds",
    "dedupeKey",
    "eventTypeKey",
    "dedupeOnBodyHash",
    "requireToken",
)


class BinResponse(BaseModel):
    """The answer a bin gives to every request it stores."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    status: int = Field(200, ge=100, le=599)
    body: str = Field('{"ok": true}', max_length=65536)
    headers: dict[str, str] = Field(default_factory=lambda: {"content-type": "application/json"})
    delay_seconds: float = Field(0.0, ge=0, le=MAX_DELAY_S)

    @model_validator(mode="after")
    def _check(self) -> BinResponse:
        # The same header rules as every source's response.
        ResponseSpec.model_validate({"headers": self.headers})
        if (self.status < 200 or self.status in (204, 304)) and self.body:
            raise ValueError(f'a {self.status} response has no body; set body to ""')
        return self


class Retention(BaseModel):
    """Which of a bin's requests it keeps."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    count: int | None = Field(None, ge=1, le=100_000)
    max_age_seconds: int | None = Field(None, ge=1, le=365 * 86_400)


def is_bin(source: Source) -> bool:
    """Whether ``source`` is a bin."""
    return source.type == BIN_TYPE


def parse(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(scheme, stored config)`` of a bin created with ``config`` (see the
    module docstring); raises ``ConfigError`` saying what is wrong."""
    names = {*_REFUSED_KEYS, *(_snake(key) for key in _REFUSED_KEYS)}
    # An empty value (``hookgate source create`` sends ``secrets: []``) asks for nothing.
    refused = [key for key in config if key in names and config[key] not in (None, [], "")]
    if refused:
        raise ConfigError(
            f"config.{refused[0]} is not for a {BIN_TYPE}: a bin verifies nothing,"
            " accepts every method and keeps every request"
        )
    rest = {k: v for k, v in config.items() if k not in ("response", "retention", *names)}
    try:
        response = BinResponse.model_validate(config.get("response") or {})
    except ValidationError as exc:
        raise ConfigError(_where("config.response", exc)) from None
    try:
        retention = Retention.model_validate(config.get("retention") or {})
    except ValidationError as exc:
        raise ConfigError(_where("config.retention", exc)) from None
    try:
        options = SourceOptions.model_validate(
            {**rest, "allowedMethods": list(METHODS), "dedupeWindowSeconds": 0}
        )
    except ValidationError as exc:
        raise ConfigError(_where("config", exc)) from None
    stored_config = options.model_dump(exclude={"secret"})
    stored_config["secrets"] = []
    stored_config["scheme"] = None
    stored_config["bin"] = {
        "response": response.model_dump(),
        "retention": retention.model_dump(exclude_none=True),
    }
    return NO_SCHEME, stored_config


def new_bin_fields(name: str | None, config: dict[str, Any]) -> dict[str, Any]:
    """The store fields of a new bin named ``name`` (default "Bin") with
    ``config``; raises ``ConfigError`` saying what is wrong."""
    scheme, stored_config = parse(config)
    return {
        "uid": None,
        "name": name or "Bin",
        "type": BIN_TYPE,
        "scheme": scheme,
        "config": stored_config,
        "metadata": {},
    }


def _where(prefix: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{prefix}{'.' + where if where else ''}: {first['msg']}"


def _snake(camel: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in camel)


def response_of(source: Source) -> BinResponse:
    """The configured answer of bin ``source``."""
    return BinResponse.model_validate(source.config.get("bin", {}).get("response", {}))


def retention_of(source: Source) -> Retention:
    """What bin ``source`` keeps."""
    return Retention.model_validate(source.config.get("bin", {}).get("retention", {}))


def public_config(stored_config: dict[str, Any]) -> dict[str, Any]:
    """What the API shows of a bin's own config (camelCase)."""
    own = stored_config.get("bin", {})
    response = BinResponse.model_validate(own.get("response", {}))
    retention = Retention.model_validate(own.get("retention", {}))
    return {
        "response": response.model_dump(by_alias=True),
        "retention": retention.model_dump(by_alias=True, exclude_none=True),
    }


async def trim(db: Database, source_id: str, retention: Retention, now_ms: int) -> int:
    """Delete the requests of bin ``source_id`` that ``retention`` does not
    keep (one write transaction); how many were deleted."""
    max_age_ms = None if retention.max_age_seconds is None else retention.max_age_seconds * 1000
    return await source_retention.trim_source(
        db, source_id, keep_newest=retention.count, max_age_ms=max_age_ms, now_ms=now_ms
    )


async def handle(
    inbound: Inbound,
    source: Source,
    key: str,
    sub_path: str,
    head: HttpRequest,
    read_body: checks.BodyReader,
) -> Reply:
    """Store the request ``head`` to ``/in/{key}{sub_path}`` of bin ``source``
    (its body read with ``read_body``, as ``handle_request.handle`` does) and
    answer with the bin's response. The same rate, size, address and content
    type limits as every source apply, before the body is read; a refused
    request is stored with its reason."""
    from hookgate.inbound.handle_request import refuse

    recorder = inbound.recorder
    options = checks.source_options(source)
    limited = checks.rate_limited(inbound.limiter, source, options, time.monotonic())
    if limited is not None:
        return limited
    path = source_lookup.redacted_path(source, f"/in/{key}") + sub_path
    http = replace(head, path=path, peer_ip=checks.client_ip(options, head))
    # Every method is accepted: check the rest as for the first allowed one.
    as_allowed, refused = await checks.read_within_limit(
        options, replace(http, method=options.allowed_methods[0]), read_body
    )
    http = replace(http, body=as_allowed.body)
    now = time.time()
    if refused is not None:
        return await refuse(recorder, source, http, refused, now)
    record = stored(source, http, now, verified=False, rejection=None)
    await recorder.record(record, dedupe_window_ms=0, forward=forward_item(source, record))
    retention = retention_of(source)
    if retention.count is not None or retention.max_age_seconds is not None:
        await trim(inbound.db, source.id, retention, record.received_at)
    spec = response_of(source)
    if spec.delay_seconds:
        await asyncio.sleep(spec.delay_seconds)
    return Reply(spec.status, spec.body.encode(), dict(spec.headers))
