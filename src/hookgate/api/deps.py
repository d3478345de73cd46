"""What route handlers share: the services of this process, paging and
idempotency helpers."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from hookgate.api import schemas as s
from hookgate.api.auth import TokenChecker, principal_of
from hookgate.api.convert import to_ms
from hookgate.api.schemas.base import NAME_PATTERN, UtcDatetime
from hookgate.config import Settings
from hookgate.core import ids
from hookgate.core.clock import now_ms as now_ms
from hookgate.core.ratelimit import RateLimiter
from hookgate.delivery.engine import Engine
from hookgate.inbound.recorder import Recorder
from hookgate.store import idempotency
from hookgate.store.database import Database
from hookgate.store.messages import ListFilter
from hookgate.store.pagination import MAX_LIMIT


@dataclass(slots=True)
class Services:
    """The long-lived objects of this process, shared by every request."""

    settings: Settings
    db: Database
    engine: Engine
    tokens: TokenChecker
    #: Stores ``/in`` requests, group-committed.
    recorder: Recorder
    #: The ``rateLimit`` buckets of inbound sources, by source id.
    inbound_limits: RateLimiter = field(default_factory=RateLimiter)


def services(request: Request) -> Services:
    """The services of the app serving ``request`` (no authentication)."""
    svc: Services = request.app.state.services
    return svc


async def authenticated(request: Request) -> Services:
    """Dependency: the services of a request ``api.gate.RequestGate``
    authenticated (before its body was read)."""
    principal_of(request)
    return services(request)


def ms_or_none(value: datetime | None) -> int | None:
    """A query-parameter datetime as epoch milliseconds, as the store keeps time."""
    return None if value is None else to_ms(value)


def split_list(values: list[str] | None) -> list[str] | None:
    """Query lists arrive repeated (``?a=1&a=2``) or comma-joined (the SDK)."""
    if not values:
        return None
    return [part for value in values for part in value.split(",") if part]


def idempotency_scope(request: Request, key: str) -> str:
    """An ``Idempotency-Key`` made unique to the request's method and path."""
    return f"{request.method} {request.url.path} {key}"


async def idempotent(
    request: Request, svc: Services, handler: Callable[[], Awaitable[Response]]
) -> Response:
    """Run ``handler`` once per ``Idempotency-Key``; replays get the stored
    response. Requests without the header always run."""
    key = request.headers.get("idempotency-key")
    if not key:
        return await handler()
    scoped = idempotency_scope(request, key)
    stored = await idempotency.lookup(svc.db, scoped)
    if stored is not None:
        status, body = stored
        return Response(body, status_code=status, media_type="application/json")
    response = await handler()
    if 200 <= response.status_code < 300:
        await idempotency.remember(
            svc.db, scoped, response.status_code, bytes(response.body), now_ms()
        )
    return response


#: The ``limit`` query parameter of every list: 0 to ``MAX_LIMIT`` (422 above).
Limit = Annotated[
    int | None,
    Query(ge=0, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT})"),
]

_UID = re.compile(r"[a-zA-Z0-9\-_.]{1,256}")

#: The id or uid in the path of a PUT (upsert): when nothing has it yet it
#: becomes the new resource's uid, so it must be a valid uid (or an id).
UpsertRef = Annotated[str, Path(min_length=1, max_length=256, pattern=NAME_PATTERN)]


def check_upsert_ref(name: str, value: str, prefix: str) -> str:
    """Refuse (422, located at path parameter ``name``) a path value that
    may become a new resource's uid but is not a valid uid, nor a
    well-formed id of the resource (one that starts with its ``prefix``)."""
    problem = None
    if not _UID.fullmatch(value):
        problem = "must be 1 to 256 letters, digits, '-', '_' or '.'"
    elif value.startswith(f"{prefix}_") and not ids.looks_like_id(value, prefix):
        problem = f"not a valid id, and uids may not start with {prefix + '_'!r}"
    if problem is not None:
        raise RequestValidationError(
            [{"loc": ("path", name), "msg": problem, "type": "value_error"}]
        )
    return value


@dataclass(slots=True)
class Paging:
    """Dependency: the ``limit`` and ``iterator`` query parameters of a list."""

    limit: Limit = None
    iterator: str | None = None


def list_filter(
    channel: str | None = None,
    before: UtcDatetime | None = None,
    after: UtcDatetime | None = None,
    event_types: list[str] | None = Query(None),
    status: s.MessageStatus | None = None,
    status_code_class: s.StatusCodeClass | None = None,
) -> ListFilter:
    """Dependency: the filters shared by message and attempt lists."""
    return ListFilter(
        channel=channel,
        before=ms_or_none(before),
        after=ms_or_none(after),
        event_types=split_list(event_types),
        status=None if status is None else int(status),
        status_code_class=None if status_code_class is None else int(status_code_class),
    )
