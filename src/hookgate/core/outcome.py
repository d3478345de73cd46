"""What happened when we sent a webhook, and what to do about it.

``SendResult`` is the sender's report of one HTTP attempt; ``classify`` turns it
into an ``Outcome`` the dispatcher acts on (done, retry later, or disable the
endpoint). Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, StrEnum


class ErrorKind(StrEnum):
    """Why an attempt failed, in words an operator can act on."""

    HTTP_STATUS = "http_status"
    TIMEOUT = "timeout"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_RESET = "connection_reset"
    DNS_FAILURE = "dns_failure"
    TLS_ERROR = "tls_error"
    BLOCKED_ADDRESS = "blocked_address"
    INVALID_URL = "invalid_url"
    CONNECTION_ERROR = "connection_error"


#: The most bytes of a response's headers kept with its attempt.
MAX_HEADER_BLOCK = 8 * 1024


def header_block(raw_headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Response headers as ``Name: value`` lines in the order received, whole
    lines only, at most ``MAX_HEADER_BLOCK`` bytes."""
    block = bytearray()
    for name, value in raw_headers:
        line = name + b": " + value + b"\r\n"
        if len(block) + len(line) > MAX_HEADER_BLOCK:
            break
        block += line
    return bytes(block)


@dataclass(frozen=True, slots=True)
class SendResult:
    """The report of one HTTP attempt.

    ``status_code`` is None when no response arrived (then ``error_kind`` says
    why). ``body`` is the response body truncated to the sender's cap.
    ``retry_after`` is the parsed ``Retry-After`` header in seconds, if any.
    ``headers`` is the response's header block as received (``Name: value``
    lines, CRLF-ended, cut at a line to ``MAX_HEADER_BLOCK`` bytes).
    """

    status_code: int | None
    body: bytes
    duration_ms: int
    error_kind: ErrorKind | None = None
    error_message: str | None = None
    retry_after: float | None = None
    headers: bytes = b""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Verdict(Enum):
    SUCCESS = "success"
    RETRY = "retry"
    DISABLE_ENDPOINT = "disable_endpoint"


#: Status codes with which a receiver asks us to slow down.
SLOW_DOWN_STATUSES = frozenset({429, 502, 504})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the dispatcher does after an attempt.

    ``slow_down`` asks the dispatcher to pause this endpoint for
    ``retry_after`` seconds (or its default back-off when None).
    """

    verdict: Verdict
    slow_down: bool = False
    retry_after: float | None = None


def classify(result: SendResult) -> Outcome:
    """2xx succeeds; 410 Gone disables the endpoint; 429/502/504 retry and slow
    down (honouring ``Retry-After``); everything else, 3xx included, retries."""
    code = result.status_code
    if result.succeeded:
        return Outcome(Verdict.SUCCESS)
    if code == 410:
        return Outcome(Verdict.DISABLE_ENDPOINT)
    if code in SLOW_DOWN_STATUSES:
        return Outcome(Verdict.RETRY, slow_down=True, retry_after=result.retry_after)
    return Outcome(Verdict.RETRY, retry_after=result.retry_after)
