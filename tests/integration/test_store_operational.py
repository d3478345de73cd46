"""Operational events are written with the change that causes them: endpoint
management and delivery results commit the event's message and its deliveries
to the operational endpoints in their own transaction, on SQLite and PostgreSQL.
(SQL only: the in-memory fake keeps no management and no operational events.)"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from hookgate.store import endpoints, operational
from hookgate.store.database import Database
from hookgate.store.internal_apps import OPERATIONAL, OPERATIONAL_APP_ID
from hookgate.store.queue import SqlDeliveryQueue
from hookgate.store.records import DeliveryStatus, Endpoint
from hookgate.store.tables import deliveries, messages
from tests.integration.conftest import NOW, make_app, make_endpoint
from tests.integration.test_store_queue import LEASE, result, seed


async def _operational_endpoint(db: Database, **fields: Any) -> Endpoint:
    await operational.ensure_app(db, NOW)
    fields.setdefault("url", "https://ops.example.com/alerts")
    return await endpoints.create(db, OPERATIONAL, fields, NOW)


async def _events(db: Database) -> list[tuple[dict[str, Any], list[str]]]:
    """Each operational message's body, with the endpoints it is due to."""
    async with db.read() as conn:
        msgs = (
            await conn.execute(
                select(messages.c.id, messages.c.payload)
                .where(messages.c.app_id == OPERATIONAL_APP_ID)
                .order_by(messages.c.id)
            )
        ).all()
        due = (
            await conn.execute(
                select(deliveries.c.msg_id, deliveries.c.endpoint_id).where(
                    deliveries.c.app_id == OPERATIONAL_APP_ID,
                    deliveries.c.status == DeliveryStatus.PENDING,
                )
            )
        ).all()
    return [
        (orjson.loads(payload), sorted(ep for m, ep in due if m == msg_id))
        for msg_id, payload in msgs
    ]


async def test_endpoint_changes_write_events_for_subscribed_operational_endpoints(
    db: Database,
) -> None:
    everything = await _operational_endpoint(db)
    only_deleted = await _operational_endpoint(db, event_types=["endpoint.deleted"])
    await _operational_endpoint(db, disabled=True)
    app = await make_app(db, uid="acme")
    ep = await make_endpoint(db, app.id, uid="billing")
    await endpoints.update_fields(db, app.id, ep.id, {"description": "b"}, NOW)
    await endpoints.delete_endpoint(db, app.id, ep.id, NOW)

    data = {"appId": app.id, "appUid": "acme", "endpointId": ep.id, "endpointUid": "billing"}
    assert await _events(db) == [
        ({"type": "endpoint.created", "data": data}, [everything.id]),
        ({"type": "endpoint.updated", "data": data}, [everything.id]),
        ({"type": "endpoint.deleted", "data": data}, sorted([everything.id, only_deleted.id])),
    ]


async def test_changes_to_operational_endpoints_and_apps_without_them_write_nothing(
    db: Database,
) -> None:
    app = await make_app(db)
    await make_endpoint(db, app.id)
    ops = await _operational_endpoint(db)
    await endpoints.update_fields(db, OPERATIONAL, ops.id, {"description": "x"}, NOW)
    assert await _events(db) == []


async def test_results_write_failing_exhausted_recovered_and_disabled(db: Database) -> None:
    queue = SqlDeliveryQueue(db)
    endpoint, _ = await seed(db, 3)
    ops = await _operational_endpoint(db)
    failing, gone, flaky = await queue.claim_due(NOW, 10, NOW + LEASE)
    failing.attempt_count = 3  # this is its fourth attempt
    flaky.attempt_count = 2

    await queue.record_results(
        [
            result(failing, DeliveryStatus.FAIL, NOW, code=500),
            result(gone, DeliveryStatus.FAIL, NOW, code=410, disable=True),
            result(flaky, DeliveryStatus.SUCCESS, NOW, code=200),
        ],
        NOW,
    )

    events = await _events(db)
    assert all(targets == [ops.id] for _, targets in events)
    by_type = {body["type"]: body["data"] for body, _ in events}
    assert sorted(by_type) == [
        "endpoint.disabled",
        "message.attempt.exhausted",
        "message.attempt.failing",
        "message.attempt.recovered",
    ]
    assert by_type["message.attempt.failing"]["msgId"] == failing.msg_id
    assert by_type["message.attempt.exhausted"]["lastAttempt"]["responseStatusCode"] == 500
    assert by_type["message.attempt.recovered"]["msgId"] == flaky.msg_id
    assert by_type["endpoint.disabled"]["endpointId"] == endpoint.id
    assert by_type["endpoint.disabled"]["failSince"].endswith("Z")


async def test_results_of_operational_deliveries_write_no_events(db: Database) -> None:
    ops = await _operational_endpoint(db)
    app = await make_app(db)
    await make_endpoint(db, app.id)  # one endpoint.created event, due to ``ops``
    queue = SqlDeliveryQueue(db)
    [job] = await queue.claim_due(NOW, 10, NOW + LEASE)
    assert job.endpoint.id == ops.id
    job.attempt_count = 3
    await queue.record_results([result(job, DeliveryStatus.FAIL, NOW, code=410, disable=True)], NOW)
    assert [body["type"] for body, _ in await _events(db)] == ["endpoint.created"]
