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
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from hookgate.core.ratelimit import RateLimiter
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
from hookgate.inbound.recorder import Recorder
from hookgate.inbound.request import HttpRequest, stored
from hookgate.store import source_lookup
from hookgate.store.sources import Source

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


def is_bin(source: Source) -> bool:
    """Whether ``source`` is a bin."""
    return source.type == BIN_TYPE


def parse(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(scheme, stored config)`` of a bin created with ``config`` (see the
    module docstring); raises ``ConfigError`` saying what is wrong."""
    snake = {_snake(key) for key in _REFUSED_KEYS}
    refused = [key for key in config if key in _REFUSED_KEYS or key in snake]
    if refused:
        raise ConfigError(
            f"config.{refused[0]} is not for a {BIN_TYPE}: a bin verifies nothing,"
            " accepts every method and keeps every request"
        )
    rest = {k: v for k, v in config.items() if k != "response"}
    try:
        response = BinResponse.model_validate(config.get("response") or {})
        options = SourceOptions.model_validate(
            {**rest, "allowedMethods": list(METHODS), "dedupeWindowSeconds": 0}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        prefix = "config.response" if "response" in config and not _in_options(exc) else "config"
        raise ConfigError(f"{prefix}{'.' + where if where else ''}: {first['msg']}") from None
    stored_config = options.model_dump(exclude={"secret"})
    stored_config["secrets"] = []
    stored_config["scheme"] = None
    stored_config["bin"] = {"response": response.model_dump()}
    return NO_SCHEME, stored_config


def _in_options(exc: ValidationError) -> bool:
    return exc.title == SourceOptions.__name__


def _snake(camel: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in camel)


def response_of(source: Source) -> BinResponse:
    """The configured answer of bin ``source``."""
    return BinResponse.model_validate(source.config.get("bin", {}).get("response", {}))


def public_config(stored_config: dict[str, Any]) -> dict[str, Any]:
    """What the API shows of a bin's own config (camelCase)."""
    response = BinResponse.model_validate(stored_config.get("bin", {}).get("response", {}))
    return {"response": response.model_dump(by_alias=True)}


async def handle(
    recorder: Recorder,
    limiter: RateLimiter,
    source: Source,
    key: str,
    sub_path: str,
    head: HttpRequest,
    read_body: Callable[[int], Awaitable[bytes | None]],
) -> Reply:
    """Store the request ``head`` to ``/in/{key}{sub_path}`` of bin ``source``
    (its body read with ``read_body``, as ``handle_request.handle`` does) and
    answer with the bin's response. The same rate, size, address and content
    type limits as every source apply, before the body is read; a refused
    request is stored with its reason."""
    from hookgate.inbound.handle_request import refuse

    options = checks.source_options(source)
    limited = checks.rate_limited(limiter, source, options, time.monotonic())
    if limited is not None:
        return limited
    path = source_lookup.redacted_path(source, f"/in/{key}") + sub_path
    http = replace(head, path=path, peer_ip=checks.client_ip(options, head))
    # Every method is accepted: check the rest as for the first allowed one.
    refused = checks.precheck(options, replace(http, method=options.allowed_methods[0]))
    if refused is None:
        body = await read_body(options.max_body_bytes)
        if body is None:
            refused = checks.too_large(options.max_body_bytes + 1, options)
        else:
            http = replace(http, body=body)
    now = time.time()
    if refused is not None:
        return await refuse(recorder, source, http, refused, now)
    record = stored(source, http, now, verified=False, rejection=None)
    await recorder.record(record, dedupe_window_ms=0, forward=forward_item(source, record))
    spec = response_of(source)
    if spec.delay_seconds:
        await asyncio.sleep(spec.delay_seconds)
    return Reply(spec.status, spec.body.encode(), dict(spec.headers))
