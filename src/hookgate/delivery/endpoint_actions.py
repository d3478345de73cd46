"""What the API and the dashboard both do to an endpoint beyond editing it:
recover its failed deliveries, and send it an example event.

Each function is the whole use case (store change, then waking or feeding the
dispatcher), so that ``POST .../recover`` and ``.../send-example`` of the API
and the dashboard's buttons behave the same.
"""

from __future__ import annotations

from typing import Any

import orjson

from hookgate.delivery.engine import Engine
from hookgate.store import endpoints, event_types
from hookgate.store.accept_messages import AcceptItem, AcceptStatus
from hookgate.store.errors import NotFound
from hookgate.store.records import Message


async def recover(
    engine: Engine,
    app_ref: str,
    endpoint_ref: str,
    since_ms: int,
    until_ms: int | None,
    now_ms: int,
) -> int:
    """Queue again every failed delivery to the endpoint created in the
    window, wake the dispatcher, and return how many were queued."""
    count = await endpoints.recover(engine.db, app_ref, endpoint_ref, since_ms, until_ms, now_ms)
    await engine.wake()
    return count


async def send_example(engine: Engine, app_ref: str, endpoint_ref: str, event_type: str) -> Message:
    """Create a message of ``event_type`` with its example payload (see
    ``example_payload``) routed to this one endpoint only; ``NotFound`` for
    an unknown application or endpoint."""
    ep = await endpoints.get(engine.db, app_ref, endpoint_ref)
    payload = await example_payload(engine, event_type)
    outcome = await engine.accept(
        AcceptItem(
            app_ref=ep.app_id,
            event_type=event_type,
            payload=orjson.dumps(payload),
            idempotency_key=None,
            only_endpoint_id=ep.id,
        )
    )
    if outcome.status is not AcceptStatus.CREATED or outcome.message is None:
        raise NotFound("Application")
    return outcome.message


async def example_payload(engine: Engine, event_type: str) -> dict[str, Any]:
    """The first example in the event type's schema, or a generic one."""
    try:
        et = await event_types.get(engine.db, event_type)
    except NotFound:
        et = None
    for schema in (et.schemas or {}).values() if et else ():
        examples = schema.get("examples") if isinstance(schema, dict) else None
        if isinstance(examples, list) and examples and isinstance(examples[0], dict):
            return examples[0]
    return {"type": event_type, "data": {"example": True}}
