"""Reading what pyreqwest returns the way ``HttpSender`` reports it: the
response head, the body up to a cap, and errors mapped to ``ErrorKind`` with
the same messages (``core.attempt_explain`` reads them back)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from pyreqwest.exceptions import ConnectError, PyreqwestError, RequestTimeoutError
from pyreqwest.http import HeaderMap
from pyreqwest.response import ResponseBodyReader

from hookgate.core.httpdate import parse_retry_after
from hookgate.core.outcome import ErrorKind, header_block
from hookgate.delivery.outbound import cap_note


async def read_capped(reader: ResponseBodyReader, cap: int, chunks: list[bytes]) -> str | None:
    """Append up to ``cap`` bytes of the body to ``chunks`` as they arrive
    (so a caller that catches an error keeps what was read); return the cap
    note if the body goes on beyond ``cap`` (what follows is not read)."""
    remaining = cap
    while True:
        chunk = await reader.read_chunk()
        if chunk is None:
            return None
        if remaining == 0 or len(chunk) > remaining:
            if remaining:
                chunks.append(bytes(chunk[:remaining]))
            return cap_note(cap)
        chunks.append(bytes(chunk))
        remaining -= len(chunk)


def read_head(headers: HeaderMap) -> tuple[float | None, bytes]:
    """The parsed ``Retry-After`` and the header block of a response."""
    try:
        lines = [(_title(name).encode(), value.encode()) for name, value in headers.items()]
    except ValueError:  # a value that is not visible ASCII: the client gives no str
        lines = list(_lines_by_name(headers))
    retry_after: float | None = None
    for name, value in lines:
        if name == b"Retry-After":
            retry_after = parse_retry_after(value.decode(), datetime.now(UTC))
            break
    return retry_after, header_block(lines)


def _lines_by_name(headers: HeaderMap) -> Iterator[tuple[bytes, bytes]]:
    """Header lines name by name; values the client cannot give as text are
    replaced by a note (their bytes are out of reach)."""
    for name in dict.fromkeys(headers.keys()):
        title = _title(name).encode()
        try:
            values = [value.encode() for value in headers.getall(name)]
        except ValueError:
            values = [b"(not ASCII; not kept)"]
        for value in values:
            yield title, value


def _title(name: str) -> str:
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def _causes(exc: PyreqwestError) -> list[str]:
    details = getattr(exc, "details", None)
    causes = details.get("causes") if isinstance(details, dict) else None
    return [cause["message"] for cause in causes or ()]


def describe_error(
    exc: PyreqwestError, label: str, https: bool, timeout: float
) -> tuple[ErrorKind, str]:
    """Map a failed attempt to ``label`` ("host:port"; never the path, which
    may hold secrets) to an ``ErrorKind`` and the message ``HttpSender`` gives
    for the same failure."""
    if isinstance(exc, RequestTimeoutError):
        return ErrorKind.TIMEOUT, f"no response within {float(timeout)} s"
    causes = _causes(exc)
    text = " | ".join(causes).lower()
    detail = causes[-1] if causes else exc.message
    if "connection refused" in text:
        return ErrorKind.CONNECTION_REFUSED, (
            f"connection refused by {label} (is the receiver running on that port?)"
        )
    if "timed out" in text:
        return ErrorKind.TIMEOUT, f"connecting to {label} timed out"
    if isinstance(exc, ConnectError) and https and "tcp connect error" not in text:
        if "certificate" in text:
            return ErrorKind.TLS_ERROR, f"TLS certificate of {label} rejected: {detail}"
        return ErrorKind.TLS_ERROR, f"TLS handshake with {label} failed: {detail}"
    if "connection reset" in text or "broken pipe" in text:
        return ErrorKind.CONNECTION_RESET, f"connection to {label} was reset"
    if "closed before message completed" in text or "incomplete message" in text:
        return ErrorKind.CONNECTION_RESET, (
            f"{label} closed the connection before sending a complete response"
        )
    if "end of file before message length reached" in text:
        return ErrorKind.CONNECTION_RESET, f"response from {label} was cut short: {detail}"
    if "invalid" in text or "parse" in text or "too large" in text:
        return ErrorKind.CONNECTION_ERROR, f"invalid HTTP response from {label}: {detail}"
    if isinstance(exc, ConnectError):
        return ErrorKind.CONNECTION_ERROR, f"could not connect to {label}: {detail}"
    return ErrorKind.CONNECTION_ERROR, f"request to {label} failed: {detail}"
