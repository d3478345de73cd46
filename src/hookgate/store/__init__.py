"""The store: the contract's Protocols (``store.contract``) and its errors
(``store.errors``) are exported here; the SQL implementation and the tables
live in the submodules.

The Protocols are loaded on first use, so importing a submodule (the tables,
for migrations) does not import every use case with it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hookgate.store.errors import (
    Conflict,
    ConstraintViolated,
    InvalidValue,
    NotFound,
    StoreError,
    StoreRejected,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from hookgate.store.contract import DeliveryQueue, InboundRequests, MessageAccept

__all__ = [
    "Conflict",
    "ConstraintViolated",
    "DeliveryQueue",
    "InboundRequests",
    "InvalidValue",
    "MessageAccept",
    "NotFound",
    "StoreError",
    "StoreRejected",
    "StoreUnavailable",
]

_PROTOCOLS = frozenset({"DeliveryQueue", "InboundRequests", "MessageAccept"})


def __getattr__(name: str) -> Any:
    if name in _PROTOCOLS:
        from hookgate.store import contract

        return getattr(contract, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
