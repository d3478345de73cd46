"""Forwarded messages' headers through the store (accept, claim, resend,
expunge) and each source's internal application, on SQLite and PostgreSQL
only: resend, expunge, reading a message back and a source's application are
management functions, which have no in-memory counterpart (see
``store.contract``). That forwarding happens in the recording transaction is
the contract's, tested on the fake too in ``test_inbound_recorder``."""

from __future__ import annotations

import pytest

from hookgate.store import applications, messages, sources
from hookgate.store.accept_messages import AcceptItem, AcceptStatus, accept_batch
from hookgate.store.database import Database
from hookgate.store.errors import NotFound
from hookgate.store.queue import SqlDeliveryQueue
from tests.integration.conftest import NOW, make_app, make_endpoint

LEASE = 60_000
HEADERS = [
    ("Content-Type", "text/plain; charset=latin-1"),
    ("X-Repeated", "1"),
    ("x-repeated", "2"),
    ("X-Hookgate-Verified", "github"),
]


async def test_headers_round_trip_through_accept_and_claim(db: Database) -> None:
    app = await make_app(db)
    endpoint = await make_endpoint(db, app.id)
    forwarded = AcceptItem(app_ref=app.id, event_type="push", payload=b"\xff raw", headers=HEADERS)
    plain = AcceptItem(app_ref=app.id, event_type="push", payload=b"{}")

    out_forwarded, out_plain = await accept_batch(db, [forwarded, plain], NOW, 0)

    assert out_forwarded.status is AcceptStatus.CREATED
    assert out_forwarded.message is not None
    assert out_forwarded.message.headers == HEADERS
    assert [job.headers for job in out_forwarded.jobs] == [HEADERS]
    assert [job.headers for job in out_plain.jobs] == [None]
    msg_id = out_forwarded.message.id
    assert (await messages.get_message(db, app.id, msg_id)).headers == HEADERS

    claimed = await SqlDeliveryQueue(db).claim_due(NOW, 10, NOW + LEASE)
    by_msg = {job.msg_id: job for job in claimed}
    assert by_msg[msg_id].headers == HEADERS
    assert by_msg[msg_id].payload == b"\xff raw"
    assert out_plain.message is not None
    assert by_msg[out_plain.message.id].headers is None

    await messages.resend(db, app.id, msg_id, endpoint.id, NOW + 1)
    reclaimed = await SqlDeliveryQueue(db).claim_due(NOW + LEASE + 1, 10, NOW + 2 * LEASE)
    assert [job.headers for job in reclaimed if job.msg_id == msg_id] == [HEADERS]

    await messages.expunge_message(db, app.id, msg_id)
    assert (await messages.get_message(db, app.id, msg_id)).headers is None


async def test_a_source_gets_one_internal_application(db: Database) -> None:
    fields = {"name": "GitHub", "type": "github", "scheme": "github", "config": {}}
    source = await sources.create(db, fields, NOW)
    assert source.app_id is None
    app_id = await sources.ensure_app(db, source.id, NOW)
    assert await sources.ensure_app(db, source.id, NOW) == app_id
    assert (await sources.get(db, source.id)).app_id == app_id
    assert (await applications.get(db, app_id)).metadata == {"hookgate:source": source.id}

    await sources.delete_source(db, source.id)
    with pytest.raises(NotFound):
        await applications.get(db, app_id)
