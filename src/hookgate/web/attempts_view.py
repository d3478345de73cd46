"""What ``partials/attempts.html`` shows: a message's destinations and attempts.

Shared by the operator's message page and the consumer portal. The caller
decides what its reader may do: ``resend_url`` gives the Resend form's
target per endpoint (None hides the button), ``poll_url`` the address the
partial re-fetches itself from every second while any delivery is pending
(polling stops by itself once the re-rendered partial has none).

The partial's context (``attempts_context``) holds plain values only:
``destinations`` (``DestinationView``), ``poll_url``, ``csrf_token`` (None when
there is no form), ``truncated`` (more attempts exist than are shown).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hookgate.core.attempt_explain import Explanation, explain
from hookgate.store import messages
from hookgate.store.database import Database
from hookgate.store.pagination import MAX_LIMIT
from hookgate.store.records import Attempt, Delivery, DeliveryStatus, Endpoint, TriggerType

#: Badge class (and word) of each ``DeliveryStatus``.
STATUS_NAMES = {
    DeliveryStatus.SUCCESS: "success",
    DeliveryStatus.PENDING: "pending",
    DeliveryStatus.FAIL: "failed",
    DeliveryStatus.SENDING: "sending",
}

_UNFINISHED = frozenset({DeliveryStatus.PENDING, DeliveryStatus.SENDING})


def status_name(status: int) -> str:
    try:
        return STATUS_NAMES[DeliveryStatus(status)]
    except ValueError:
        return "unknown"


@dataclass(frozen=True, slots=True)
class AttemptView:
    attempt: Attempt
    explanation: Explanation
    status_name: str
    manual: bool


@dataclass(frozen=True, slots=True)
class DestinationView:
    """One endpoint the message goes to, its delivery state and attempts
    (newest first)."""

    endpoint: Endpoint
    delivery: Delivery
    status_name: str
    attempts: list[AttemptView]
    resend_url: str | None

    @property
    def unfinished(self) -> bool:
        return self.delivery.status in _UNFINISHED


@dataclass(frozen=True, slots=True)
class MessageAttempts:
    destinations: list[DestinationView]
    #: More attempts exist than the newest ``MAX_LIMIT`` shown.
    truncated: bool

    @property
    def pending(self) -> bool:
        return any(d.unfinished for d in self.destinations)


def attempt_view(attempt: Attempt) -> AttemptView:
    return AttemptView(
        attempt=attempt,
        explanation=explain(attempt),
        status_name=status_name(attempt.status),
        manual=attempt.trigger_type == TriggerType.MANUAL,
    )


async def message_attempts(
    db: Database,
    app_id: str,
    msg_id: str,
    *,
    resend_url: Callable[[Endpoint], str | None] = lambda _: None,
) -> MessageAttempts:
    """The destinations of message ``msg_id`` (id or eventId) of application
    ``app_id`` with their newest attempts; ``NotFound`` for an unknown app or
    message. Reads through ``store.messages`` like the API."""
    destinations = await messages.message_destinations(
        db, app_id, msg_id, iterator=None, limit=MAX_LIMIT
    )
    attempts = await messages.list_attempts(
        db, app_id, messages.ListFilter(), msg_ref=msg_id, iterator=None, limit=MAX_LIMIT
    )
    by_endpoint: dict[str, list[AttemptView]] = {}
    for attempt in attempts.items:
        by_endpoint.setdefault(attempt.endpoint_id, []).append(attempt_view(attempt))
    return MessageAttempts(
        destinations=[
            DestinationView(
                endpoint=endpoint,
                delivery=delivery,
                status_name=status_name(delivery.status),
                attempts=by_endpoint.get(endpoint.id, []),
                resend_url=resend_url(endpoint),
            )
            for endpoint, delivery in destinations.items
        ],
        truncated=not attempts.done,
    )


def attempts_context(
    view: MessageAttempts, *, poll_url: str, csrf_token: str | None
) -> dict[str, Any]:
    """The context ``partials/attempts.html`` needs; it polls ``poll_url``
    only while a delivery is pending."""
    return {
        "destinations": view.destinations,
        "poll_url": poll_url if view.pending else None,
        "csrf_token": csrf_token,
        "truncated": view.truncated,
    }
