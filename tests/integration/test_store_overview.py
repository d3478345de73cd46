"""The overview's figures (``store.overview``) on SQLite and PostgreSQL: each
counts only its window, the latency is accept to first success, and the
backlog and endpoint counts follow the deliveries' and endpoints' state."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import update

from hookgate.core import ids
from hookgate.core.clock import now_ms
from hookgate.inbound import config
from hookgate.store import inbound_requests, overview, sources
from hookgate.store.database import Database
from hookgate.store.inbound_requests import InboundRequest, RequestStatus
from hookgate.store.records import DeliveryStatus, Endpoint
from hookgate.store.tables import attempts, deliveries, endpoints, messages
from tests.integration.conftest import execute, make_app, make_endpoint

MIN = 60_000
HOUR = 60 * MIN


async def message(db: Database, ep: Endpoint, created_at: int) -> str:
    msg_id = ids.new_id(ids.MESSAGE)
    await execute(
        db,
        messages.insert().values(
            id=msg_id, app_id=ep.app_id, event_type="t", payload=b"{}", created_at=created_at
        ),
    )
    return msg_id


async def delivery(
    db: Database,
    ep: Endpoint,
    msg_id: str,
    status: DeliveryStatus,
    *,
    next_attempt_at: int,
    lease_until: int = 0,
) -> str:
    delivery_id = ids.new_id(ids.DELIVERY)
    await execute(
        db,
        deliveries.insert().values(
            id=delivery_id,
            msg_id=msg_id,
            app_id=ep.app_id,
            endpoint_id=ep.id,
            status=status,
            attempt_count=0,
            next_attempt_at=next_attempt_at,
            lease_until=lease_until,
            trigger_type=0,
            created_at=next_attempt_at,
            updated_at=next_attempt_at,
        ),
    )
    return delivery_id


async def attempt(
    db: Database,
    ep: Endpoint,
    msg_id: str,
    delivery_id: str,
    status: DeliveryStatus,
    created_at: int,
    duration_ms: int = 0,
) -> None:
    await execute(
        db,
        attempts.insert().values(
            id=ids.new_id(ids.ATTEMPT),
            msg_id=msg_id,
            endpoint_id=ep.id,
            app_id=ep.app_id,
            delivery_id=delivery_id,
            url=ep.url,
            status=status,
            response_status_code=200 if status is DeliveryStatus.SUCCESS else 500,
            response=b"",
            response_duration_ms=duration_ms,
            trigger_type=0,
            created_at=created_at,
        ),
    )


async def delivered(db: Database, ep: Endpoint, created_at: int, latency_ms: int) -> None:
    """A message delivered ``latency_ms`` after it was accepted, after one
    failed attempt."""
    msg_id = await message(db, ep, created_at)
    delivery_id = await delivery(db, ep, msg_id, DeliveryStatus.SUCCESS, next_attempt_at=created_at)
    await attempt(db, ep, msg_id, delivery_id, DeliveryStatus.FAIL, created_at + 1)
    await attempt(
        db, ep, msg_id, delivery_id, DeliveryStatus.SUCCESS, created_at + latency_ms - 5, 5
    )


async def test_windows_count_messages_attempts_and_latency(db: Database) -> None:
    now = now_ms()
    app = await make_app(db)
    ep = await make_endpoint(db, app.id)
    for latency in (100, 200, 300, 400):
        await delivered(db, ep, now - 10 * MIN, latency)
    await delivered(db, ep, now - 3 * HOUR, 10_000)
    await message(db, ep, now - 2 * 86_400_000)  # before both windows

    figures = await overview.overview(db, now)

    assert figures.hour.messages_accepted == 4
    assert (figures.hour.attempts_succeeded, figures.hour.attempts_failed) == (4, 4)
    assert figures.hour.latency_p50_ms == pytest.approx(250)
    assert figures.hour.latency_p99_ms == pytest.approx(397)
    assert figures.hour.latency_sample == 4
    assert figures.day.messages_accepted == 5
    assert (figures.day.attempts_succeeded, figures.day.attempts_failed) == (5, 5)
    assert figures.day.latency_p50_ms == pytest.approx(300)


async def test_a_resent_delivery_counts_its_first_success(db: Database) -> None:
    now = now_ms()
    app = await make_app(db)
    ep = await make_endpoint(db, app.id)
    msg_id = await message(db, ep, now - 20 * MIN)
    delivery_id = await delivery(db, ep, msg_id, DeliveryStatus.SUCCESS, next_attempt_at=now)
    await attempt(db, ep, msg_id, delivery_id, DeliveryStatus.SUCCESS, now - 20 * MIN + 50)
    await attempt(db, ep, msg_id, delivery_id, DeliveryStatus.SUCCESS, now - 5 * MIN)

    figures = await overview.overview(db, now)

    assert figures.hour.latency_sample == 1
    assert figures.hour.latency_p50_ms == figures.hour.latency_p99_ms == 50


async def test_backlog_and_endpoints_in_trouble(db: Database) -> None:
    now = now_ms()
    app = await make_app(db)
    ep = await make_endpoint(db, app.id)
    failing = await make_endpoint(db, app.id, url="https://example.com/failing")
    await make_endpoint(db, app.id, url="https://example.com/off", disabled=True)
    await execute(
        db,
        update(endpoints).where(endpoints.c.id == failing.id).values(failing_since=now - HOUR),
    )
    msg_id = await message(db, ep, now)
    await delivery(db, ep, msg_id, DeliveryStatus.PENDING, next_attempt_at=now + MIN)
    await delivery(db, ep, msg_id, DeliveryStatus.PENDING, next_attempt_at=now - 10 * MIN)
    await delivery(  # being sent right now: not overdue
        db,
        ep,
        msg_id,
        DeliveryStatus.PENDING,
        next_attempt_at=now - 10 * MIN,
        lease_until=now + MIN,
    )
    await delivery(db, ep, msg_id, DeliveryStatus.FAIL, next_attempt_at=now - 10 * MIN)

    figures = await overview.overview(db, now)

    assert (figures.deliveries_pending, figures.deliveries_overdue) == (3, 1)
    assert (figures.endpoints_failing, figures.endpoints_disabled) == (1, 1)
    # Failing longest first, then the disabled ones that no longer fail.
    assert [(t.url, t.disabled, t.failing_since) for t in figures.troubled] == [
        ("https://example.com/failing", False, now - HOUR),
        ("https://example.com/off", True, None),
    ]
    assert figures.troubled[0].app_name == app.name
    assert not figures.troubled[0].operational
    assert figures.hour.latency_p50_ms is None


async def test_inbound_requests_by_verdict(db: Database) -> None:
    now = now_ms()
    scheme, stored = config.parse("github", {"secret": "s3cret"})
    source = await sources.create(
        db, {"name": "GitHub", "type": "github", "scheme": scheme, "config": stored}, now
    )
    base = InboundRequest(
        id="",
        source_id=source.id,
        received_at=now - MIN,
        method="POST",
        path="/in/x",
        query="",
        headers=[],
        body=b"{}",
        source_ip=None,
        verified=True,
        rejection=None,
        event_id=None,
        event_type=None,
    )
    received = [
        replace(base),
        replace(base, received_at=now - 2 * MIN),
        replace(base, rejection="bad signature", verified=False, status=RequestStatus.REJECTED),
        replace(base, received_at=now - 3 * HOUR),
    ]
    for item in received:
        await inbound_requests.record_request(
            db, replace(item, id=inbound_requests.new_request_id()), dedupe_window_ms=0
        )

    figures = await overview.overview(db, now)

    assert figures.hour.inbound_by_verdict == {"accepted": 2, "rejected": 1}
    assert figures.day.inbound_by_verdict == {"accepted": 3, "rejected": 1}


def test_percentile_interpolates_between_ranks() -> None:
    assert overview.percentile([], 0.5) is None
    assert overview.percentile([7], 0.99) == 7
    assert overview.percentile([1, 2, 3, 4], 0.5) == 2.5
    assert overview.percentile(list(range(101)), 0.99) == 99
