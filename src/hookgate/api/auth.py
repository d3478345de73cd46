"""Authentication of the management API, decided before any body is read.

``authenticate`` runs in front of every route (``api.gate.RequestGate``)
for a path under ``/api/`` or ``/ingest/api/`` (except the health checks,
``needs_token``): it reads the ``Authorization: Bearer <token>`` header and
asks the ``TokenChecker`` who the request is: on failure it answers 401
itself, without the application running (FastAPI parses a body before it
runs any dependency, so a check in a dependency would come too late); on
success it puts the ``Principal`` in the scope, where routes find it with
``principal_of``.

Each kind of token is a ``TokenKind``: the operator's ``HOOKGATE_ADMIN_TOKEN``
(``AdminToken``), the stored API tokens (``ApiTokens``) and consumer-portal
tokens (``PortalTokens``), whose ``Principal`` has the ``app_id`` of the one
application they are for. A portal token opens no management API route but
``/api/v1/auth/logout`` (403 elsewhere): the portal's pages use the session
it is exchanged for (``web.sessions``).

Stored tokens are cached once found valid, so the hot path (message
creation) pays no database read per request; a revocation empties the cache
at once, in every process (``store.tokens.Revocations``).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import HTTPConnection
from starlette.types import Receive, Scope, Send

from hookgate.api.errors import ApiError, error_response
from hookgate.core.clock import now_ms
from hookgate.store import portal_tokens, tokens
from hookgate.store.database import Database
from hookgate.store.tokens import Revocations

_PRINCIPAL_KEY = "hookgate.principal"
_PROTECTED = ("/api/", "/ingest/api/")
#: Paths anyone may call (the health checks), with everything below them.
_PUBLIC = ("/api/v1/health",)
_PUBLIC_BELOW = tuple(public + "/" for public in _PUBLIC)
_MAX_CACHED = 10_000
#: The only API paths a consumer-portal token may call.
_PORTAL_TOKEN_PATHS = frozenset({"/api/v1/auth/logout"})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request is authenticated as."""

    #: The stored token's id; None for the operator's admin token.
    token_id: str | None
    #: The one application this principal may act on; None for all of them.
    app_id: str | None = None


class Unauthenticated(Exception):
    """The request proves no identity; the message says why (never the token)."""


class TokenKind(Protocol):
    """One kind of bearer token."""

    async def identify(self, token: str) -> Principal | None:
        """The principal ``token`` proves, or None if it proves nothing."""


class AdminToken:
    """The operator's ``HOOKGATE_ADMIN_TOKEN``, if configured."""

    def __init__(self, token: str | None) -> None:
        self._token = None if token is None else token.encode("utf-8", "surrogateescape")

    async def identify(self, token: str) -> Principal | None:
        # Bytes, not str: compare_digest refuses non-ASCII text.
        presented = token.encode("utf-8", "surrogateescape")
        if self._token is not None and hmac.compare_digest(presented, self._token):
            return Principal(token_id=None)
        return None


class ApiTokens:
    """Stored API tokens, cached while the revocation generation stays the same.

    A token not cached yet is read once however many requests present it at
    the same time (after a start, every connection's first request): they
    share one read, as long as the generation stays the one it started in,
    so a request that begins after a revocation never gets an older answer.
    """

    def __init__(self, db: Database, revocations: Revocations) -> None:
        self._db = db
        self._revocations = revocations
        self._cached: dict[str, Principal] = {}
        self._cached_generation: object | None = None
        #: Reads under way, by token digest and the generation they started in.
        self._reads: dict[tuple[str, object], asyncio.Future[Principal | None]] = {}

    async def identify(self, token: str) -> Principal | None:
        generation = self._revocations.generation()
        if generation is None or generation != self._cached_generation:
            self._cached.clear()
            self._cached_generation = generation
        digest = tokens.hash_token(token)
        cached = self._cached.get(digest)
        if cached is not None:
            return cached
        if generation is None:  # nothing may be cached, nor shared
            return await self._read(token, digest, None)
        key = (digest, generation)
        read = self._reads.get(key)
        if read is None:
            read = self._reads[key] = asyncio.ensure_future(self._read(token, digest, generation))
            read.add_done_callback(functools.partial(self._read_done, key))
        # Shielded: a caller that goes away does not cancel the others' read.
        return await asyncio.shield(read)

    async def _read(self, token: str, digest: str, generation: object | None) -> Principal | None:
        token_id = await tokens.find(self._db, token)
        if token_id is None:
            return None
        principal = Principal(token_id=token_id)
        # Cache only what was read under the generation still current: a
        # revocation during the read must not leave the token cached.
        if generation is not None and generation == self._revocations.generation():
            if len(self._cached) >= _MAX_CACHED:
                self._cached.clear()
            self._cached[digest] = principal
        return principal

    def _read_done(self, key: tuple[str, object], read: asyncio.Future[Principal | None]) -> None:
        self._reads.pop(key, None)
        if not read.cancelled():
            read.exception()  # retrieved here too: every caller may have gone


class PortalTokens:
    """Consumer-portal tokens (``appsk_...``), read from the store each time:
    they call the API only to log out."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def identify(self, token: str) -> Principal | None:
        if not token.startswith(portal_tokens.TOKEN_PREFIX):
            return None
        grant = await portal_tokens.identify(self._db, token, now_ms())
        return None if grant is None else Principal(token_id=grant.token_id, app_id=grant.app_id)


class TokenChecker:
    """Turns an ``Authorization`` header into a ``Principal``."""

    def __init__(self, kinds: Sequence[TokenKind]) -> None:
        self._kinds = tuple(kinds)

    async def authenticate(self, authorization: str | None) -> Principal:
        """The principal of a ``Bearer`` header; ``Unauthenticated`` if none."""
        if not authorization:
            raise Unauthenticated("Missing Authorization header (expected 'Bearer <token>')")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("Malformed Authorization header (expected 'Bearer <token>')")
        for kind in self._kinds:
            principal = await kind.identify(token)
            if principal is not None:
                return principal
        raise Unauthenticated("Invalid token")


def needs_token(path: str) -> bool:
    """Whether requests to ``path`` must be authenticated."""
    if not path.startswith(_PROTECTED):
        return False
    return not (path in _PUBLIC or path.startswith(_PUBLIC_BELOW))


def principal_of(connection: HTTPConnection) -> Principal:
    """Who the request was authenticated as by ``authenticate`` (401 if the
    request was not authenticated, which only a route outside the protected
    paths can see)."""
    principal: Principal | None = connection.scope.get(_PRINCIPAL_KEY)
    if principal is None:
        raise ApiError(401, "Missing Authorization header (expected 'Bearer <token>')")
    return principal


def _authorization(scope: Scope) -> str | None:
    """The request's first ``Authorization`` header (latin-1, as Starlette
    decodes headers), read from the raw list without building ``Headers``."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return None


async def authenticate(scope: Scope, receive: Receive, send: Send) -> bool:
    """Authenticate the HTTP request in ``scope`` before the app runs: put its
    ``Principal`` in the scope and return True, or answer 401 and return False.

    The ``TokenChecker`` is the one of the running app's services
    (``app.state.services.tokens``), available once the lifespan started.
    """
    checker: TokenChecker = scope["app"].state.services.tokens
    try:
        principal = await checker.authenticate(_authorization(scope))
    except Unauthenticated as exc:
        await _refuse(scope, receive, send, 401, str(exc))
        return False
    if principal.app_id is not None and scope["path"] not in _PORTAL_TOKEN_PATHS:
        await _refuse(
            scope,
            receive,
            send,
            403,
            "A consumer-portal token cannot use the management API (it only logs out)",
        )
        return False
    scope[_PRINCIPAL_KEY] = principal
    return True


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    response = error_response(status, detail)
    # The body is never read; do not wait for the client to send it.
    response.headers["connection"] = "close"
    await response(scope, receive, send)
