"""Prefixed, time-ordered identifiers such as ``msg_2fX0...``.

An id is ``f"{prefix}_{body}"`` where ``body`` is 27 base62 characters
encoding 20 bytes: 6 bytes of big-endian milliseconds since the Unix epoch
followed by 14 random bytes. The alphabet is in ASCII order and the body is
zero-padded to a fixed width, so comparing two ids with the same prefix as
strings compares their creation times, and tables keyed by id can be filtered
by time with ``min_id_for_time``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from secrets import token_bytes
from time import time_ns

APP = "app"
ENDPOINT = "ep"
MESSAGE = "msg"
ATTEMPT = "atmpt"
DELIVERY = "dlv"
TOKEN = "tok"
TASK = "qtask"

KNOWN_PREFIXES = frozenset({APP, ENDPOINT, MESSAGE, ATTEMPT, DELIVERY, TOKEN, TASK})

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY_LEN = 27
_RANDOM_BITS = 14 * 8
_MAX_VALUE = (1 << 160) - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)

#: The largest value handed out so far in this process. Not guarded by a lock:
#: Hookgate creates ids from a single asyncio thread. Threads racing here could
#: rarely receive ids out of order, or the same id.
_last = 0


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
    would not exceed the previous one is replaced by previous + 1.
    """
    global _last
    value = ((time_ns() // 1_000_000) << _RANDOM_BITS) | int.from_bytes(token_bytes(14))
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
