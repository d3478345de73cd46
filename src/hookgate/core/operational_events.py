"""The operational events Hookgate sends to the operator's own systems (the
names Svix uses; payloads are built by ``store.operational``)."""

from __future__ import annotations

ENDPOINT_CREATED = "endpoint.created"
ENDPOINT_UPDATED = "endpoint.updated"
ENDPOINT_DELETED = "endpoint.deleted"
ENDPOINT_DISABLED = "endpoint.disabled"
ATTEMPT_FAILING = "message.attempt.failing"
ATTEMPT_EXHAUSTED = "message.attempt.exhausted"
ATTEMPT_RECOVERED = "message.attempt.recovered"

OPERATIONAL_EVENT_TYPES = frozenset(
    {
        ENDPOINT_CREATED,
        ENDPOINT_UPDATED,
        ENDPOINT_DELETED,
        ENDPOINT_DISABLED,
        ATTEMPT_FAILING,
        ATTEMPT_EXHAUSTED,
        ATTEMPT_RECOVERED,
    }
)

#: ``message.attempt.failing`` is sent on this failed attempt of a message
#: to an endpoint, as Svix does.
FAILING_AT_ATTEMPT = 4
