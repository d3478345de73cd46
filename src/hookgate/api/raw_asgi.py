"""A request read and answered at the ASGI level, without Starlette's
``Request`` and ``Response`` objects (for ``/in/{source}``, a hot path).

- ``raw_url``: the URL as the client sent it, as
  ``receive.adapters.starlette.raw_url`` computes it from a ``Request``;
- ``BodyReader``: the whole body read from ``receive`` within a limit given
  when reading (the bound ``api.limits`` keeps for other routes), stopping as
  soon as it is passed;
- ``RawReply``: an answer with its header list encoded once for a ``Reply``
  that is answered again and again (a source's configured answer, the
  refusals that are module constants).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from starlette._utils import parse_host_header
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope

from hookgate.core.verify.decide import Reply

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_CLOSE = (b"connection", b"close")
#: ``(scheme, netloc)`` by ``(scheme, Host header, server)``; bounded, as a
#: client chooses its Host header.
_NETLOCS: dict[tuple[str, str | None, tuple[str, int] | None], tuple[str, str]] = {}
_NETLOCS_MAX = 256


def raw_url(scope: Scope) -> str:
    """The URL of the request in ``scope`` with its path as sent (still
    percent-encoded): Starlette's ``request.url`` for scheme, host and query,
    the ASGI ``raw_path`` for the path (see ``receive.adapters.starlette``)."""
    host_header = None
    for name, value in scope["headers"]:
        if name == b"host":
            host_header = value.decode("latin-1")
            break
    server = scope.get("server")
    raw_path: bytes | None = scope.get("raw_path")
    query = scope.get("query_string", b"").decode()
    if not raw_path:
        return _starlette_url(scope.get("scheme", "http"), host_header, server, scope, query)
    scheme, netloc = _netloc(scope.get("scheme", "http"), host_header, server)
    query = query.split("#", 1)[0]
    return f"{scheme}://{netloc}{raw_path.decode('latin-1')}{'?' + query if query else ''}"


def _netloc(
    scheme: str, host_header: str | None, server: tuple[str, int] | None
) -> tuple[str, str]:
    """The scheme and network location Starlette's ``URL`` gives a request
    (the ``Host`` header if valid, else the server address), parsed once."""
    key = (scheme, host_header, server)
    found = _NETLOCS.get(key)
    if found is None:
        parts = urlsplit(_starlette_url(scheme, host_header, server, {"path": "/"}, ""))
        if len(_NETLOCS) >= _NETLOCS_MAX:
            _NETLOCS.clear()
        found = _NETLOCS[key] = (parts.scheme, parts.netloc)
    return found


def _starlette_url(
    scheme: str,
    host_header: str | None,
    server: tuple[str, int] | None,
    scope: Scope,
    query: str,
) -> str:
    """``str(starlette.datastructures.URL(scope=...))``, from its parts."""
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    parsed = parse_host_header(host_header)
    netloc: str | None
    if parsed is not None and parsed.is_valid_port:
        netloc = parsed.authority
    elif server is not None:
        host, port = server
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        netloc = host if port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    else:
        netloc = None
    if netloc is not None:
        return SplitResult(scheme, netloc, path, query, "").geturl()
    if path.startswith("//"):
        path = "/%2F" + path[2:]
    return f"{path}?{query}" if query else path


class BodyReader:
    """Reads one request's body from ``receive``, once."""

    __slots__ = ("_receive", "over_limit")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        #: Whether the read stopped at the limit, the rest of the body unread
        #: (the answer then closes the connection rather than wait for it).
        self.over_limit = False

    async def read(self, limit: int) -> bytes | None:
        """The whole body, or None as soon as more than ``limit`` bytes have
        arrived. Raises ``ClientDisconnect`` if the client went away."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            kind = message["type"]
            if kind == "http.request":
                chunk: bytes = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    self.over_limit = True
                    return None
                if not message.get("more_body", False):
                    if not chunks:
                        return chunk
                    chunks.append(chunk)
                    return b"".join(chunks)
                chunks.append(chunk)
            elif kind == "http.disconnect":
                raise ClientDisconnect()


@dataclass(frozen=True, slots=True)
class RawReply:
    """An answer as the ASGI server takes it."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


#: Encoded answers by the identity of their ``Reply`` (kept alive with it).
_ENCODED: dict[int, tuple[Reply, RawReply]] = {}
_ENCODED_MAX = 1024


def encode(reply: Reply, *, close: bool = False) -> RawReply:
    """``reply`` as ``starlette.responses.Response(body, status, headers)``
    would send it (a ``Content-Length`` added), with ``Connection: close``
    if ``close``. Encoded once per ``Reply`` object."""
    cached = _ENCODED.get(id(reply))
    if cached is not None and cached[0] is reply:
        raw = cached[1]
    else:
        raw = _encode(reply)
        if len(_ENCODED) >= _ENCODED_MAX:
            _ENCODED.clear()
        _ENCODED[id(reply)] = (reply, raw)
    if close:
        return RawReply(raw.status, [*raw.headers, _CLOSE], raw.body)
    return raw


def _encode(reply: Reply) -> RawReply:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
    has_length = any(name == b"content-length" for name, _ in headers)
    if not has_length and not (reply.status < 200 or reply.status in (204, 304)):
        headers.append((b"content-length", str(len(reply.body)).encode("latin-1")))
    return RawReply(reply.status, headers, reply.body)
