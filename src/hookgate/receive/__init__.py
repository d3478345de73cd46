"""Receiving webhooks without the Hookgate server.

::

    from hookgate.receive import Router, Receiver, verify

    event = verify("stripe", raw_body, headers, "whsec_...")   # or raises
    router = Router()

    @router.on("invoice.paid")
    async def paid(event): ...

    receiver = Receiver("stripe", "whsec_...", router)
    # then hookgate.receive.adapters.starlette / .flask / .django

Exceptions (from ``hookgate.core.verify``)::

    VerificationError
     ├── MissingHeader(name)
     ├── MalformedHeader(name, why)
     ├── MalformedBody(why)
     ├── BadSignature
     ├── StaleTimestamp(age, tolerance)
     └── WrongCredentials
"""

from hookgate.core.verify import (
    PRESETS,
    BadSignature,
    MalformedBody,
    MalformedHeader,
    MissingHeader,
    Scheme,
    StaleTimestamp,
    VerificationError,
    Verified,
    WrongCredentials,
)

from .event import Event, verify
from .http import Receiver, Reply
from .router import HandlerFailure, Middleware, Next, Report, Router
from .store import IdempotencyStore, MemoryStore

__all__ = [
    "PRESETS",
    "BadSignature",
    "Event",
    "HandlerFailure",
    "IdempotencyStore",
    "MalformedBody",
    "MalformedHeader",
    "MemoryStore",
    "Middleware",
    "MissingHeader",
    "Next",
    "Receiver",
    "Reply",
    "Report",
    "Router",
    "Scheme",
    "StaleTimestamp",
    "VerificationError",
    "Verified",
    "WrongCredentials",
    "verify",
]
