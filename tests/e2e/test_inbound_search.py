"""Searching received requests through the real server (Hookgate extension
``GET /ingest/api/v1/source/{source_id}/request``, raw HTTP): every filter,
combined, paged, and precise 422s for bad values."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from svix.api import Svix

from tests.e2e.harness import ServerProcess, unique
from tests.e2e.test_inbound import (
    GITHUB_BODY,
    assert_error,
    github_headers,
    github_source,
    received,
    send,
)

pytestmark = pytest.mark.slow

PUSH_BODY = b'{"ref":"refs/heads/main"}'


def search(api: httpx.Client, source_id: str, **params: Any) -> list[str]:
    return [item["id"] for item in received(api, source_id, **params)]


@pytest.fixture
def history(
    server: ServerProcess, svix_client: Svix, api: httpx.Client
) -> tuple[str, dict[str, str], list[str]]:
    """A GitHub source that received, in order: an accepted "issues" event,
    a request with a bad signature, a repeat of the first event and an
    accepted "push" event. Returns (source id, the event ids, the request
    ids oldest first)."""
    source = github_source(svix_client)
    url = f"{server.url}/in/{source.id}"
    events = {"issues": unique("delivery"), "push": unique("delivery")}
    first = github_headers(GITHUB_BODY, delivery=events["issues"])
    push = {**github_headers(PUSH_BODY, delivery=events["push"]), "X-GitHub-Event": "push"}
    bad = {**github_headers(GITHUB_BODY), "X-Hub-Signature-256": "sha256=" + "0" * 64}
    sent = ((GITHUB_BODY, first, 200), (GITHUB_BODY, bad, 401), (GITHUB_BODY, first, 200))
    for body, headers, status in (*sent, (PUSH_BODY, push, 200)):
        assert send(url, body, headers).status_code == status
    ids = list(reversed(search(api, source.id)))
    assert len(ids) == 4
    return source.id, events, ids


def test_each_filter_and_combinations(
    api: httpx.Client, history: tuple[str, dict[str, str], list[str]]
) -> None:
    source_id, events, (accepted, refused, duplicate, pushed) = history
    assert search(api, source_id, status="accepted") == [pushed, accepted]
    assert search(api, source_id, status="duplicate") == [duplicate]
    assert search(api, source_id, status="rejected") == [refused]
    assert search(api, source_id, eventId=events["issues"]) == [duplicate, accepted]
    assert search(api, source_id, eventId=events["issues"], status="accepted") == [accepted]
    assert search(api, source_id, eventType="push") == [pushed]
    assert search(api, source_id, eventType="issues", verified="true") == [duplicate, accepted]
    assert search(api, source_id, eventId="no-such-delivery") == []
    assert search(api, source_id, status="rejected", verified="true") == []


def test_each_request_shows_its_status(
    api: httpx.Client, history: tuple[str, dict[str, str], list[str]]
) -> None:
    source_id, _, (accepted, refused, duplicate, pushed) = history
    shown = {item["id"]: (item["status"], item["rejection"]) for item in received(api, source_id)}
    assert shown[accepted] == ("accepted", None)
    assert shown[pushed] == ("accepted", None)
    assert shown[duplicate] == ("duplicate", f"duplicate of {accepted}")
    status, reason = shown[refused]
    assert status == "rejected"
    assert reason


def test_time_bounds_are_exclusive_and_take_any_offset(
    api: httpx.Client, history: tuple[str, dict[str, str], list[str]]
) -> None:
    source_id, _, _ = history
    items = received(api, source_id)
    times = {item["id"]: datetime.fromisoformat(item["receivedAt"]) for item in items}
    middle = times[items[1]["id"]]
    # The same instant written with a +02:00 offset.
    shifted = middle.astimezone(timezone(timedelta(hours=2))).isoformat()
    later = [i for i, t in times.items() if t > middle]
    earlier = [i for i, t in times.items() if t < middle]
    assert items[0]["id"] in later
    assert search(api, source_id, after=shifted) == later
    assert search(api, source_id, before=middle.isoformat()) == earlier
    assert search(api, source_id, after=shifted, before=shifted) == []
    first = min(times.values()) - timedelta(milliseconds=1)
    last = max(times.values()) + timedelta(milliseconds=1)
    everything = search(api, source_id, after=first.isoformat(), before=last.isoformat())
    assert everything == [item["id"] for item in items]


def test_filtered_pages(api: httpx.Client, history: tuple[str, dict[str, str], list[str]]) -> None:
    source_id, _, (accepted, _, _, pushed) = history
    path = f"/ingest/api/v1/source/{source_id}/request"
    params: dict[str, Any] = {"status": "accepted", "limit": 1}
    first = api.get(path, params=params).json()
    assert ([i["id"] for i in first["data"]], first["done"]) == ([pushed], False)
    second = api.get(path, params={**params, "iterator": first["iterator"]}).json()
    assert ([i["id"] for i in second["data"]], second["done"]) == ([accepted], True)
    back = api.get(path, params={**params, "iterator": second["prevIterator"]}).json()
    assert [i["id"] for i in back["data"]] == [pushed]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("after", "yesterday"),
        ("before", "2024-13-01T00:00:00Z"),
        ("status", "ok"),
        ("status", "ACCEPTED"),
        ("eventId", ""),
        ("eventId", "x" * 257),
        ("eventType", ""),
        ("verified", "maybe"),
        ("limit", "-1"),
    ],
)
def test_bad_values_are_precise_422s(
    api: httpx.Client, svix_client: Svix, name: str, value: str
) -> None:
    source = github_source(svix_client)
    response = api.get(f"/ingest/api/v1/source/{source.id}/request", params={name: value})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", name]
    assert error["msg"]
    assert error["type"]


def test_nul_and_unknown_source(api: httpx.Client, svix_client: Svix) -> None:
    source = github_source(svix_client)
    path = f"/ingest/api/v1/source/{source.id}/request"
    assert_error(api.get(f"{path}?eventId=%00"), 400, "bad_request")
    assert_error(api.get(f"{path}?eventType=a%00b"), 400, "bad_request")
    missing = api.get("/ingest/api/v1/source/src_nope/request", params={"status": "accepted"})
    assert_error(missing, 404, "not_found")
