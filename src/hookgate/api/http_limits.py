"""Request heads (request line and headers) bounded in size, count and time.

uvicorn's default parser (httptools) sets no limit: a 100 MB header or
100,000 headers reach the application, and a client that sends its headers
one byte a minute holds a connection forever (uvicorn's only timeout is the
keep-alive between requests). Its pure-Python parser (h11) bounds the head's
bytes (``h11_max_incomplete_event_size``, answered 400) but not its count
or time, and is several times slower.

``BoundedHttpToolsProtocol`` is uvicorn's httptools protocol with three
limits, checked while the head arrives, before any application runs:

- ``max_head_bytes``: a head longer than this is answered 431 and the
  connection closed (counted per received chunk, so the parser never holds
  more than the limit plus one chunk); so is a chunked body that sends this
  many bytes without a byte of body (trailers, chunk extensions), which
  the parser would otherwise gather without bound;
- ``max_headers``: more header lines than this (trailers included), 431
  likewise (counted after each received chunk, whose size the head bytes
  bound, and checked again before a head or a message is complete, so no
  application sees a message over the limit);
- ``head_timeout``: a head not complete this many seconds after its first
  byte (or after the connection opened) is answered 408 and closed.

Every request pays for these checks, so they cost a few attribute reads per
received chunk: no Python call per header, and one timer per connection that
is re-armed only when it fires (a timer started and cancelled per request
cost more than the check itself).

``bounded_protocol`` makes the class for a set of limits; pass it as
uvicorn's ``http`` option.
"""

from __future__ import annotations

import asyncio
import http
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _HeadRefused(Exception):
    """Raised inside a parser callback to stop parsing a refused head."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing heads over the class's limits."""

    max_head_bytes = 64 * 1024
    max_headers = 100
    head_timeout = 15.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Bytes of the current head received so far (only while in a head).
        self._head_bytes = 0
        self._in_head = True
        #: ``loop.time()`` when the current head began.
        self._head_started = 0.0
        #: Between the head and the end of the message.
        self._in_body = False
        #: Bytes received in a row, while in the body, that carried no body.
        self._bodiless_bytes = 0
        self._body_arrived = False
        self._head_timer: asyncio.TimerHandle | None = None
        #: The answer to send instead of uvicorn's 400, once a limit is hit.
        self._refusal: tuple[int, str] | None = None

    # -- uvicorn's hooks --

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_started = self.loop.time()
        self._arm_head_timer(self.head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._body_arrived = False
        super().data_received(data)
        if self._refusal is not None or self.transport.is_closing():
            return
        headers = self.headers  # None until a message began
        if headers is not None and len(headers) > self.max_headers:  # trailers included
            self._refuse(431, self._too_many_headers())
        elif self._in_head:
            # Still inside a head after parsing: all of ``data`` was head bytes.
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse(431, f"request headers are over {self.max_head_bytes} bytes")
        elif self._in_body:
            self._bodiless_bytes = 0 if self._body_arrived else self._bodiless_bytes + len(data)
            if self._bodiless_bytes > self.max_head_bytes:
                limit = self.max_head_bytes
                self._refuse(431, f"over {limit} bytes of chunk framing or trailers without body")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        self._head_started = self.loop.time()
        if self._head_timer is None:
            self._arm_head_timer(self.head_timeout)

    def on_headers_complete(self) -> None:
        self._stop_parsing_if_too_many_headers()
        self._in_head = False
        self._in_body = True
        self._bodiless_bytes = 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_arrived = True
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._stop_parsing_if_too_many_headers()  # trailers
        self._in_body = False
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        if self._refusal is None:
            super().send_400_response(msg)
        else:
            self._send_and_close(*self._refusal)

    # -- the limits --

    def _too_many_headers(self) -> str:
        return f"more than {self.max_headers} request headers"

    def _stop_parsing_if_too_many_headers(self) -> None:
        if len(self.headers) > self.max_headers:
            self._refusal = (431, self._too_many_headers())
            raise _HeadRefused  # httptools stops; uvicorn calls send_400_response

    def _arm_head_timer(self, delay: float) -> None:
        self._head_timer = self.loop.call_later(delay, self._head_timer_fired)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timer_fired(self) -> None:
        """Refuse a head older than ``head_timeout``; otherwise check again
        when the current head would reach it (between heads, at the next)."""
        self._head_timer = None
        if self.transport.is_closing() or self._refusal is not None:
            return
        if not self._in_head:
            return  # ``on_message_begin`` arms the timer again
        overdue = self.loop.time() - self._head_started - self.head_timeout
        if overdue >= 0:
            self._refuse(408, f"request headers not received within {self.head_timeout:g} s")
        else:
            self._arm_head_timer(-overdue)

    def _refuse(self, status: int, message: str) -> None:
        self._refusal = (status, message)
        self._send_and_close(status, message)

    def _send_and_close(self, status: int, message: str) -> None:
        self._stop_head_timer()
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # too late for an answer of our own
            return
        body = message.encode("ascii")
        reason = http.HTTPStatus(status).phrase
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            "content-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        )
        self.transport.write(head.encode("ascii") + body)
        self.transport.close()


def bounded_protocol(
    *, max_head_bytes: int, max_headers: int, head_timeout: float
) -> type[BoundedHttpToolsProtocol]:
    """A ``BoundedHttpToolsProtocol`` class with these limits."""
    return type(
        "HookgateHttpProtocol",
        (BoundedHttpToolsProtocol,),
        {
            "max_head_bytes": max_head_bytes,
            "max_headers": max_headers,
            "head_timeout": head_timeout,
        },
    )
