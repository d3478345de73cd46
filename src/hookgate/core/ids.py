"""Prefixed, time-ordered identifiers such as ``msg_2fX0...``.

An id is ``f"{prefix}_{body}"`` where ``body`` is 27 base62 characters
encoding 20 bytes: 6 bytes of big-endian milliseconds since the Unix epoch
followed by 14 random bytes. The alphabet is in ASCII order and the body is
zero-padded to a fixed width, so comparing two ids with the same prefix as
strings compares their creation times, and tables keyed by id can be filtered
by time with ``min_id_for_time``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from secrets import token_bytes
from time import time_ns

# Every id prefix Hookgate uses; no other module defines one.
APP = "app"
ENDPOINT = "ep"
MESSAGE = "msg"
ATTEMPT = "atmpt"
DELIVERY = "dlv"
TOKEN = "tok"
TASK = "qtask"
SOURCE = "src"
INBOUND_REQUEST = "inreq"
PORTAL_TOKEN = "ptok"
WEB_SESSION = "wsess"

KNOWN_PREFIXES = frozenset(
    {
        APP,
        ENDPOINT,
        MESSAGE,
        ATTEMPT,
        DELIVERY,
        TOKEN,
        TASK,
        SOURCE,
        INBOUND_REQUEST,
        PORTAL_TOKEN,
        WEB_SESSION,
    }
)

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY_LEN = 27
_RANDOM_BYTES = 14
_RANDOM_BITS = _RANDOM_BYTES * 8
#: Random bytes are drawn from the OS in blocks of this many ids' worth.
_POOL_IDS = 256
_MAX_VALUE = (1 << 160) - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)

#: The largest value handed out so far in this process. Not guarded by a lock:
#: Hookgate creates ids from a single asyncio thread. Threads racing here could
#: rarely receive ids out of order, or the same id.
_last = 0

#: Unused random bytes from ``token_bytes`` (the OS CSPRNG), consumed from
#: ``_pool_pos`` on; each byte is used for at most one id. Same threading caveat
#: as ``_last``. Emptied in a forked child so parent and child never share bytes.
_pool = b""
_pool_pos = 0


def _reset_pool() -> None:
    """Drop the buffered random bytes; the next id draws a fresh block."""
    global _pool, _pool_pos
    _pool, _pool_pos = b"", 0


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_reset_pool)


# Two base62 digits per divmod halves the cost of encoding.
_DIGIT_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)


def _encode(value: int) -> str:
    """``value`` (< 62**27) as 27 zero-padded base62 digits."""
    pairs: list[str] = []
    append = pairs.append
    while value:
        value, pair = divmod(value, 3844)
        append(_DIGIT_PAIRS[pair])
    pairs.reverse()
    # Pairs give an even width (28); the extra leading digit is always "0".
    return "".join(pairs).rjust(_BODY_LEN + 1, "0")[1:]


_MAX_BODY = _encode(_MAX_VALUE)
_BASE62_CHARS = frozenset(_ALPHABET)


def new_id(prefix: str) -> str:
    """A new id ``f"{prefix}_{27 base62 chars}"``.

    Ids from this process are strictly increasing in creation order, even
    within one millisecond or if the wall clock steps backwards: a value that
    would not exceed the previous one is replaced by previous + 1. The 14
    random bytes come from ``secrets.token_bytes`` (the OS CSPRNG), read in
    blocks and never reused, nor shared with a forked child.
    """
    global _last, _pool, _pool_pos
    start = _pool_pos
    end = start + _RANDOM_BYTES
    if end > len(_pool):
        # One read from the OS per _POOL_IDS ids: os.urandom per id costs more
        # than all the rest of new_id.
        _pool, start, end = token_bytes(_RANDOM_BYTES * _POOL_IDS), 0, _RANDOM_BYTES
    _pool_pos = end
    random_part = int.from_bytes(_pool[start:end])
    value = ((time_ns() // 1_000_000) << _RANDOM_BITS) | random_part
    if value <= _last:
        value = _last + 1
    _last = value
    return f"{prefix}_{_encode(value)}"


def _is_body(body: str) -> bool:
    # Equal-length base62 strings compare like the numbers they encode, so the
    # final check rejects bodies that overflow 20 bytes.
    return len(body) == _BODY_LEN and _BASE62_CHARS.issuperset(body) and body <= _MAX_BODY


def id_prefix(value: str) -> str | None:
    """The prefix of ``value`` if it is an id with one of ``KNOWN_PREFIXES``,
    else None."""
    prefix, sep, body = value.rpartition("_")
    if sep and prefix in KNOWN_PREFIXES and _is_body(body):
        return prefix
    return None


def looks_like_id(value: str, prefix: str) -> bool:
    """True if ``value`` is ``prefix`` + ``"_"`` + a well-formed id body."""
    return (
        len(value) == len(prefix) + 1 + _BODY_LEN
        and value.startswith(prefix)
        and value[len(prefix)] == "_"
        and _is_body(value[len(prefix) + 1 :])
    )


def min_id_for_time(prefix: str, when: datetime) -> str:
    """The smallest id with ``prefix`` that could have been created at ``when``.

    Every id created at or after ``when`` compares ``>=`` the result and every
    id created before it compares ``<``. Naive datetimes are taken as UTC;
    times before the epoch clamp to it.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    millis = max(0, (when - _EPOCH) // _ONE_MS)
    return f"{prefix}_{_encode(millis << _RANDOM_BITS)}"


_DIGIT_VALUES = {digit: value for value, digit in enumerate(_ALPHABET)}


def created_ms(value: str) -> int | None:
    """When the id ``value`` was created (epoch milliseconds, as its body
    records), or None if ``value`` is not a well-formed id."""
    if id_prefix(value) is None:
        return None
    number = 0
    for digit in value[-_BODY_LEN:]:
        number = number * 62 + _DIGIT_VALUES[digit]
    return number >> _RANDOM_BITS
