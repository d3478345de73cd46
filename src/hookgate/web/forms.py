"""Reading values people type into the pages' forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hookgate.api.schemas.base import NAME_PATTERN

_EVENT_TYPE = re.compile(NAME_PATTERN)
_MAX_EVENT_TYPE = 256


def utc_ms(text: str) -> int | None:
    """A form time (a ``datetime-local`` value or ISO 8601; UTC unless it
    says otherwise) as epoch ms; None if it is not one."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def is_event_type(name: str) -> bool:
    """Whether ``name`` is a valid event type name, as the API requires."""
    return len(name) <= _MAX_EVENT_TYPE and _EVENT_TYPE.fullmatch(name) is not None
