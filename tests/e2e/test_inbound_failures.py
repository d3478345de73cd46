"""``/in`` requests that used to end in an unrecorded 500, through the real
server on SQLite and PostgreSQL: values the database cannot hold are made
storable, and a request that fails in any unexpected way is still recorded
(refused, with the kind of failure) and answered without internals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from hookgate.config import Settings, to_async_url
from hookgate.store.database import Database
from tests.e2e.harness import Receiver, ServerProcess, unique
from tests.e2e.test_inbound import GITHUB_SECRET, github_headers, received
from tests.integration.test_store_accept_messages import refuse_messages_of_type

pytestmark = pytest.mark.slow


def _generic_source(api: httpx.Client, config: dict[str, Any]) -> str:
    created = api.post(
        "/ingest/api/v1/source",
        json={"name": "generic", "uid": unique("gen"), "type": "generic-webhook", "config": config},
    )
    assert created.status_code == 201, created.text
    source_id: str = created.json()["id"]
    return source_id


def test_lone_surrogates_in_located_event_ids_and_types_are_stored(
    server: ServerProcess, api: httpx.Client
) -> None:
    keys = {"dedupeKey": {"jsonPath": "id"}, "eventTypeKey": {"jsonPath": "type"}}
    source_id = _generic_source(api, keys)
    url = f"{server.url}/in/{source_id}"
    body = b'{"id": "evt-\\ud800", "type": "order.\\udfff\\u0000created"}'

    first = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
    repeat = httpx.post(url, content=body, headers={"Content-Type": "application/json"})

    assert (first.status_code, repeat.status_code) == (200, 200), first.text
    stored = received(api, source_id)
    assert [item["status"] for item in stored] == ["duplicate", "accepted"]
    assert {item["eventId"] for item in stored} == {"evt-\ufffd"}
    assert {item["eventType"] for item in stored} == {"order.\ufffdcreated"}


def _refuse_forwarded_type(server: ServerProcess, event_type: str) -> None:
    """Make ``server``'s database refuse messages of ``event_type``."""
    url = server.database_url
    settings = Settings(data_dir=server.data_dir, database_url=url and to_async_url(url))

    async def run() -> None:
        db = Database(settings.resolved_database_url)
        try:
            await refuse_messages_of_type(db, event_type)
        finally:
            await db.dispose()

    asyncio.run(run())


def test_a_request_failing_unexpectedly_is_recorded_and_answered_without_internals(
    server_factory: Callable[..., ServerProcess], receiver: Receiver
) -> None:
    server = server_factory()
    path = receiver.new_path("failing")
    with server.http() as api:
        created = api.post(
            "/ingest/api/v1/source",
            json={
                "name": "GitHub",
                "uid": unique("gh"),
                "type": "github",
                "config": {"secret": GITHUB_SECRET},
            },
        )
        assert created.status_code == 201, created.text
        source = created.json()
        endpoint = api.post(
            f"/ingest/api/v1/source/{source['id']}/endpoint", json={"url": receiver.url(path)}
        )
        assert endpoint.status_code == 201, endpoint.text
        # The database refuses to store the forwarded message of this type.
        _refuse_forwarded_type(server, "poison")
        body = json.dumps({"action": "opened"}).encode()
        headers = {**github_headers(body), "X-GitHub-Event": "poison"}

        failed = httpx.post(source["ingestUrl"], content=body, headers=headers)

        assert failed.status_code == 500
        assert failed.json()["code"] == "internal_error"
        assert "trigger" not in failed.text
        [stored] = received(api, source["id"])
        assert stored["status"] == "rejected"
        assert stored["rejection"].startswith("internal error (")
        # Nothing of the failed request was kept (not its forward, not its
        # event id): the provider's retry, once the cause is gone, is accepted
        # and forwarded.
        retry = httpx.post(
            source["ingestUrl"], content=body, headers={**headers, "X-GitHub-Event": "issues"}
        )
        assert retry.status_code == 200, retry.text
        statuses = [item["status"] for item in received(api, source["id"])]
        assert statuses == ["accepted", "rejected"]
        [forwarded] = receiver.wait_for(path, 1)
        assert forwarded.body == body
