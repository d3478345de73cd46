"""``store.request_stream`` on SQLite and PostgreSQL: a source's requests
read forwards by id, and the local responses listeners report (kept once
per request, gone with the request)."""

from __future__ import annotations

import pytest

from hookgate.core.clock import now_ms
from hookgate.inbound import bins
from hookgate.inbound.request import HttpRequest, stored
from hookgate.store import inbound_requests, request_stream, sources
from hookgate.store.database import Database
from hookgate.store.errors import NotFound
from hookgate.store.request_stream import LocalResponse


async def _bin_with_requests(db: Database, count: int) -> tuple[str, list[str]]:
    scheme, config = bins.parse({})
    fields = {"uid": None, "name": "Bin", "type": bins.BIN_TYPE, "scheme": scheme}
    source = await sources.create(db, {**fields, "config": config, "metadata": {}}, now_ms())
    made = []
    for n in range(count):
        http = HttpRequest("POST", "/in/x", "", [], "http://h/in/x", None, f"r{n}".encode())
        record = stored(source, http, 1_700_000_000.0 + n, verified=False, rejection=None)
        await inbound_requests.record_batch(db, [inbound_requests.Received(record, 0)])
        made.append(record.id)
    return source.id, made


def _answer(request_id: str, status: int) -> LocalResponse:
    return LocalResponse(request_id, status, [("X-Local", "1")], b"ok", 3, None, "http://l", 1)


async def test_requests_are_read_forwards_from_a_cursor(db: Database) -> None:
    source_id, made = await _bin_with_requests(db, 5)
    assert await request_stream.newest_id(db, source_id) == made[-1]
    assert await request_stream.ids_after(db, source_id, made[1], 2) == made[2:4]
    assert await request_stream.ids_after(db, source_id, made[-1], 10) == []
    found = await request_stream.requests_with_ids(db, source_id, [made[3], made[0], "inreq_nope"])
    assert [(r.id, r.body) for r in found] == [(made[0], b"r0"), (made[3], b"r3")]
    other_id, _ = await _bin_with_requests(db, 0)
    assert await request_stream.requests_with_ids(db, other_id, made) == []
    assert await request_stream.newest_id(db, other_id) is None


async def test_a_local_response_is_kept_once_per_request_and_goes_with_it(db: Database) -> None:
    source_id, made = await _bin_with_requests(db, 2)
    assert await request_stream.local_response(db, made[0]) is None
    await request_stream.save_local_response(db, source_id, _answer(made[0], 500))
    await request_stream.save_local_response(db, source_id, _answer(made[0], 201))
    kept = await request_stream.local_response(db, made[0])
    assert kept is not None
    assert (kept.status, kept.headers, kept.body) == (201, [("X-Local", "1")], b"ok")
    with pytest.raises(NotFound):
        await request_stream.save_local_response(db, source_id, _answer("inreq_nope", 200))
    assert await bins.trim(db, source_id, bins.Retention(count=1), 0) == 1
    assert await request_stream.local_response(db, made[0]) is None
