"""One line that tells a non-expert why a delivery attempt went as it did.

The store keeps, per attempt, the status code (0 when no answer came), the
duration, an ``ErrorKind`` value and the sender's technical message (see
``delivery.sender``). ``explain`` turns those into a plain sentence such as
"the endpoint answered 500 after 2.1 s" or "the name api.example.com did not
resolve", and says whether the attempt succeeded. Pure: no I/O.

Unknown kinds and messages in shapes this module does not recognise still
give a sentence (the stored message, never nothing), so older rows and new
error kinds keep rendering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from hookgate.core.outcome import ErrorKind

#: The ``status`` of a successful attempt (Svix ``MessageStatus.Success``).
_SUCCESS = 0


class AttemptFacts(Protocol):
    """What ``explain`` reads; ``store.records.Attempt`` has it all."""

    @property
    def url(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def response_status_code(self) -> int: ...
    @property
    def response_duration_ms(self) -> int: ...
    @property
    def error_kind(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Explanation:
    """``text``: the sentence (lower-case start, no final full stop);
    ``ok``: whether the attempt succeeded."""

    text: str
    ok: bool

    @property
    def sentence(self) -> str:
        """``text`` as a sentence: capital first letter, full stop."""
        return self.text[:1].upper() + self.text[1:] + "."


def explain(attempt: AttemptFacts) -> Explanation:
    """The plain-language explanation of one attempt's outcome."""
    code = attempt.response_status_code
    message = (attempt.error_message or "").strip()
    took = human_duration(attempt.response_duration_ms)
    if attempt.status == _SUCCESS:
        text = f"the endpoint answered {code} in {took}"
        return Explanation(text + _body_note(message), ok=True)
    if code > 0:
        return Explanation(_http_status(code, took, message), ok=False)
    return Explanation(_no_answer(attempt.error_kind, message, attempt.url), ok=False)


def human_duration(ms: int) -> str:
    """``45 ms``, ``2.1 s``, ``15 s``, ``2 min 5 s``, ``3 h 20 min``."""
    if ms < 1000:
        return f"{max(ms, 0)} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{_trim(seconds)} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def _trim(seconds: float) -> str:
    """One decimal, without a trailing ``.0``."""
    text = f"{seconds:.1f}"
    return text[:-2] if text.endswith(".0") else text


# -- the endpoint answered ----------------------------------------------------

_STATUS_HINTS = {
    400: "it rejected the request as malformed",
    401: "it did not accept our credentials (check how it verifies the signature)",
    403: "it refused the request (check how it verifies the signature)",
    404: "there is nothing at this URL",
    405: "it does not accept POST at this URL",
    408: "it gave up waiting for the request",
    410: "it said it is gone, so the endpoint was disabled",
    413: "the payload was too large for it",
    429: "it asked us to slow down",
    500: "an error inside the receiving application",
    502: "a proxy in front of it could not reach the application",
    503: "it is unavailable for now",
    504: "a proxy in front of it timed out waiting for the application",
}


def _http_status(code: int, took: str, message: str) -> str:
    text = f"the endpoint answered {code} after {took}"
    hint = _STATUS_HINTS.get(code)
    if hint is None and 300 <= code < 400:
        hint = "a redirect, which is never followed: use the final URL"
    if hint is not None:
        text += f" ({hint})"
    return text + _body_note(message)


_CAP = re.compile(r"over the (\d+)-byte cap")


def _body_note(message: str) -> str:
    """What the sender noted about the response body, if anything."""
    cap = _CAP.search(message)
    if cap is not None:
        return f"; its response was longer than {cap.group(1)} bytes and was cut there"
    if "body incomplete" in message:
        return "; its response body arrived incomplete"
    return ""


# -- no answer ----------------------------------------------------------------

_WITHIN = re.compile(r"no response within (\d+(?:\.\d+)?) s")
_CONNECT_TIMEOUT = re.compile(r"connecting to (\S+) timed out")
_RESOLVE = re.compile(r"could not resolve host (\S+)")
_REFUSED = re.compile(r"connection refused by (\S+)")
_TARGET_FIRST = re.compile(r"^(\S+:\d+) closed the connection")
_RESET = re.compile(r"connection to (\S+) was reset")
_CUT_SHORT = re.compile(r"response from (\S+) was cut short")
_TLS_DETAIL = re.compile(r"(?:rejected|failed|TLS error with \S+): (.+)$")
_VERIFY_FAILED = re.compile(r"certificate verify failed: ([^(]+)")
_SSL_TAG = re.compile(r"^\[[^\]]*\]\s*")
_SSL_LOCATION = re.compile(r"\s*\(_ssl\.c:\d+\)")
_DESTINATION = re.compile(r"destination (\S+) is ([^;]+);")
_RESOLVES_ONLY = re.compile(r"host (\S+) resolves only to refused addresses")
_ALLOW = re.compile(r"HOOKGATE_ALLOWED_SUBNETS=\S+?(?=\)|$|;)")
_CONNECT_FAILED = re.compile(r"could not connect to (\S+?): (.+)$")


def _no_answer(kind: str | None, message: str, url: str) -> str:
    target = _target(url)
    if kind == ErrorKind.TIMEOUT:
        within = _WITHIN.search(message)
        if within is not None:
            return f"no answer within {_trim(float(within.group(1)))} s"
        connect = _CONNECT_TIMEOUT.search(message)
        return f"the connection to {connect.group(1) if connect else target} timed out"
    if kind == ErrorKind.DNS_FAILURE:
        found = _RESOLVE.search(message)
        host = found.group(1) if found else _host(url)
        return f"the name {host} did not resolve"
    if kind == ErrorKind.CONNECTION_REFUSED:
        found = _REFUSED.search(message)
        return (
            f"the connection to {found.group(1) if found else target} was refused"
            " (nothing is listening on that port)"
        )
    if kind == ErrorKind.CONNECTION_RESET:
        return _reset(message, target)
    if kind == ErrorKind.TLS_ERROR:
        return f"the TLS handshake failed: {_tls_detail(message)}"
    if kind == ErrorKind.BLOCKED_ADDRESS:
        return _blocked(message, url)
    if kind == ErrorKind.INVALID_URL:
        detail = message.removeprefix("invalid URL:").strip() or "it cannot be used"
        return f"the endpoint URL is not valid: {detail}"
    if kind == ErrorKind.CONNECTION_ERROR:
        found = _CONNECT_FAILED.search(message)
        if found is not None:
            return f"the connection to {found.group(1)} failed: {found.group(2)}"
    if message:
        return f"the attempt failed: {message}"
    return "the attempt failed without an answer from the endpoint"


def _reset(message: str, target: str) -> str:
    first = _TARGET_FIRST.search(message)
    if first is not None:
        return f"{first.group(1)} closed the connection before answering completely"
    cut = _CUT_SHORT.search(message)
    if cut is not None:
        return f"the answer from {cut.group(1)} was cut short"
    found = _RESET.search(message)
    return f"the connection to {found.group(1) if found else target} was reset"


def _tls_detail(message: str) -> str:
    verify = _VERIFY_FAILED.search(message)
    if verify is not None:
        return verify.group(1).strip()
    found = _TLS_DETAIL.search(message)
    detail = found.group(1) if found else message
    detail = _SSL_LOCATION.sub("", _SSL_TAG.sub("", detail)).strip()
    return detail or "no detail was given"


def _blocked(message: str, url: str) -> str:
    destination = _DESTINATION.search(message)
    allow = _ALLOW.search(message)
    how = f"allow it with {allow.group(0)}" if allow else "HOOKGATE_ALLOWED_SUBNETS"
    if destination is None:
        return f"the address of {_host(url)} is not allowed ({how})"
    address, category = destination.group(1), destination.group(2)
    resolves = _RESOLVES_ONLY.search(message)
    if resolves is not None:
        return (
            f"the name {resolves.group(1)} points to {address}, {category},"
            f" which is not allowed ({how})"
        )
    return f"the address {address} is {category} and not allowed ({how})"


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def _target(url: str) -> str:
    """``host:port`` of ``url``, with the scheme's default port."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    if parts.hostname is None:
        return url
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}"
