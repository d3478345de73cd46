"""What a batch of delivery results writes besides the deliveries
themselves: one ``attempts`` row per attempt made, and the facts of the
``message.attempt.*`` operational events they call for (used by
``store.queue``'s result write)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hookgate.core import operational_events as events
from hookgate.store import operational
from hookgate.store.internal_apps import OPERATIONAL_APP_ID
from hookgate.store.records import DeliveryResult, DeliveryStatus


def attempt_facts(
    results: Sequence[DeliveryResult],
) -> list[tuple[str, operational.AttemptFacts]]:
    """The ``message.attempt.*`` events ``results`` call for: failing on the
    fourth failed attempt, exhausted when the last retry failed, recovered on
    a success after failures. None for operational messages (no loops)."""
    facts: list[tuple[str, operational.AttemptFacts]] = []
    for r in results:
        attempt = r.attempt
        if attempt is None or r.job.app_id == OPERATIONAL_APP_ID:
            continue
        about = operational.AttemptFacts(
            app_id=r.job.app_id,
            msg_id=r.job.msg_id,
            endpoint_id=r.job.endpoint.id,
            attempt_id=attempt.id,
            response_status_code=attempt.response_status_code,
            attempt_at_ms=attempt.created_at,
        )
        if attempt.status == DeliveryStatus.SUCCESS:
            if r.job.attempt_count > 1:
                facts.append((events.ATTEMPT_RECOVERED, about))
            continue
        if r.job.attempt_count == events.FAILING_AT_ATTEMPT:
            facts.append((events.ATTEMPT_FAILING, about))
        if r.status == DeliveryStatus.FAIL and not r.disable_endpoint:
            facts.append((events.ATTEMPT_EXHAUSTED, about))
    return facts


def attempt_row(result: DeliveryResult) -> dict[str, Any]:
    """The ``attempts`` row of ``result``'s attempt (it has one)."""
    attempt = result.attempt
    assert attempt is not None
    job = result.job
    return {
        "id": attempt.id,
        "msg_id": job.msg_id,
        "endpoint_id": job.endpoint.id,
        "app_id": job.app_id,
        "delivery_id": job.delivery_id,
        "url": attempt.url,
        "status": attempt.status,
        "response_status_code": attempt.response_status_code,
        "response": attempt.response,
        "response_headers": attempt.response_headers,
        "response_duration_ms": attempt.response_duration_ms,
        "trigger_type": job.trigger_type,
        "error_kind": attempt.error_kind,
        "error_message": attempt.error_message,
        "created_at": attempt.created_at,
    }
