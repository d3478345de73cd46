"""Per-source limits on ``/in/{source}`` through the real server: rate limit
(429 with ``Retry-After``), allowed content types (415), and where the event
id and type are taken from (``dedupeKey`` / ``eventTypeKey``)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.harness import ServerProcess, unique
from tests.e2e.test_inbound import GITHUB_BODY, assert_error, github_headers, received, send

pytestmark = pytest.mark.slow


def make_source(
    api: httpx.Client, config: dict[str, Any], source_type: str = "generic-webhook"
) -> tuple[str, str]:
    """``(id, ingestUrl)`` of a new source."""
    created = api.post(
        "/ingest/api/v1/source", json={"name": "limits", "type": source_type, "config": config}
    )
    assert created.status_code == 201, created.text
    document = created.json()
    return str(document["id"]), str(document["ingestUrl"])


def test_requests_over_the_rate_limit_get_429_and_are_not_stored(api: httpx.Client) -> None:
    # One token per 1000 s: none refills while the test runs, however slow the machine.
    source_id, url = make_source(api, {"rateLimit": {"perSecond": 0.001, "burst": 3}})
    answers = [send(url, b"{}", {"Content-Type": "application/json"}) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    detail = assert_error(answers[3], 429, "rate_limited")
    # Retry-After is the wait for the next token: up to 1000 s, less what has refilled.
    assert 900 < int(answers[3].headers["retry-after"]) <= 1000
    assert "0.001 requests per second" in detail
    assert len(received(api, source_id)) == 3
    assert api.get(f"/ingest/api/v1/source/{source_id}").json()["config"]["rateLimit"] == {
        "perSecond": 0.001,
        "burst": 3,
    }


def test_content_types_outside_the_allowed_list_get_415_and_are_recorded(
    api: httpx.Client,
) -> None:
    source_id, url = make_source(api, {"allowedContentTypes": ["application/json", "Text/*"]})
    assert send(url, b"{}", {"Content-Type": "application/json"}).status_code == 200
    assert send(url, b"hi", {"Content-Type": "text/plain; charset=utf-8"}).status_code == 200
    form = send(url, b"a=1", {"Content-Type": "application/x-www-form-urlencoded"})
    detail = assert_error(form, 415, "unsupported_media_type")
    assert detail == (
        "Content-Type 'application/x-www-form-urlencoded' is not accepted; "
        "use application/json, text/*"
    )
    bare = httpx.post(url, content=b"{}", headers={"Content-Type": ""})
    assert assert_error(bare, 415, "unsupported_media_type").startswith("no Content-Type")
    rows = received(api, source_id)
    assert [r["rejection"] is None for r in rows] == [False, False, True, True]
    assert rows[1]["rejection"] == detail


def test_dedupe_key_in_the_json_body_dedupes_a_source_that_does_not_verify(
    api: httpx.Client,
) -> None:
    config = {"dedupeKey": {"jsonPath": "data.id"}, "eventTypeKey": {"header": "X-Event"}}
    source_id, url = make_source(api, config)
    first = json.dumps({"data": {"id": "ord_1"}, "n": 1}).encode()
    again = json.dumps({"data": {"id": "ord_1"}, "n": 2}).encode()
    other = json.dumps({"data": {"id": "ord_2"}}).encode()
    for body in (first, again, other):
        assert send(url, body, {"X-Event": "order.paid"}).status_code == 200
    newest_first = received(api, source_id)
    assert [r["eventId"] for r in newest_first] == ["ord_2", "ord_1", "ord_1"]
    assert {r["eventType"] for r in newest_first} == {"order.paid"}
    assert newest_first[1]["rejection"] == f"duplicate of {newest_first[2]['id']}"
    assert newest_first[0]["rejection"] is None


def test_dedupe_key_replaces_the_providers_own_event_id(api: httpx.Client) -> None:
    config = {"secret": "It's a Secret to Everybody", "dedupeKey": {"header": "X-Request-Id"}}
    source_id, url = make_source(api, config, source_type="github")
    for delivery in ("d-1", "d-2"):
        headers = {**github_headers(GITHUB_BODY, delivery), "X-Request-Id": "same"}
        assert send(url, GITHUB_BODY, headers).status_code == 200
    rows = received(api, source_id)
    assert [r["eventId"] for r in rows] == ["same", "same"]
    assert rows[0]["rejection"].startswith("duplicate of ")
    assert rows[0]["eventType"] == "issues"  # the scheme still finds the type


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"rateLimit": {"perSecond": 0}}, "config.rateLimit.perSecond"),
        ({"rateLimit": {"burst": 3}}, "config.rateLimit.perSecond: Field required"),
        ({"allowedContentTypes": ["json"]}, "'json' is not a media type"),
        ({"dedupeKey": {"header": "A", "jsonPath": "b"}}, "exactly one of header or jsonPath"),
        ({"dedupeKey": {"jsonPath": "data..id"}}, "jsonPath must be object keys"),
        ({"eventTypeKey": {"header": "bad header"}}, "config.eventTypeKey.header"),
    ],
)
def test_bad_limits_config_is_refused_with_the_reason(
    api: httpx.Client, config: dict[str, Any], message: str
) -> None:
    created = api.post(
        "/ingest/api/v1/source", json={"name": "bad", "type": "generic-webhook", "config": config}
    )
    assert created.status_code == 422, created.text
    assert message in json.dumps(created.json())


def test_require_token_accepts_only_the_token_url(server: ServerProcess, api: httpx.Client) -> None:
    config = {"requireToken": True}
    created = api.post(
        "/ingest/api/v1/source",
        json={
            "name": "private",
            "uid": unique("private"),
            "type": "generic-webhook",
            "config": config,
        },
    )
    assert created.status_code == 201, created.text
    source = created.json()
    assert send(source["ingestUrl"], b"{}", {}).status_code == 200
    for ref in (source["id"], source["uid"]):
        assert_error(send(f"{server.url}/in/{ref}", b"{}", {}), 404, "not_found")
    assert len(received(api, source["id"])) == 1
