"""GitHub's event id (``X-GitHub-Delivery``) is not signed: a captured
request replayed with a new delivery id must not be forwarded again. GitHub
sources deduplicate on the body's hash by default (``dedupeOnBodyHash``),
through the real server on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from svix.api import IngestSourceIn, Svix
from svix.models import GithubConfig

from tests.e2e.harness import Receiver, unique
from tests.e2e.test_inbound import GITHUB_SECRET, github_headers, received
from tests.e2e.test_inbound_forwarding import destination

pytestmark = pytest.mark.slow


def _github_source(api: httpx.Client, **options: object) -> tuple[str, str]:
    created = api.post(
        "/ingest/api/v1/source",
        json={
            "name": "GitHub",
            "uid": unique("gh"),
            "type": "github",
            "config": {"secret": GITHUB_SECRET, **options},
        },
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], created.json()["ingestUrl"]


def test_a_replayed_body_with_a_new_delivery_id_is_a_duplicate(
    svix_client: Svix, api: httpx.Client, receiver: Receiver
) -> None:
    source = svix_client.ingest.source.create(
        IngestSourceIn(
            name="GitHub",
            uid=unique("gh"),
            type="github",
            config=GithubConfig(secret=GITHUB_SECRET),
        )
    )
    path = receiver.new_path("replayed")
    destination(svix_client, source.id, receiver.url(path))
    shown = api.get(f"/ingest/api/v1/source/{source.id}").json()["config"]
    assert shown["dedupeOnBodyHash"] is True
    body = json.dumps({"action": "opened", "issue": {"number": 7}}).encode()
    genuine = github_headers(body)
    replayed = {**genuine, "X-GitHub-Delivery": str(uuid.uuid4())}
    other = json.dumps({"action": "closed", "issue": {"number": 7}}).encode()

    for body_sent, headers in ((body, genuine), (body, replayed), (other, github_headers(other))):
        assert httpx.post(source.ingest_url, content=body_sent, headers=headers).status_code == 200

    newest_first = received(api, source.id)
    assert [item["status"] for item in newest_first] == ["accepted", "duplicate", "accepted"]
    # The replay keeps its own delivery id on record (searchable).
    assert newest_first[1]["eventId"] == replayed["X-GitHub-Delivery"]
    assert newest_first[1]["rejection"] == f"duplicate of {newest_first[2]['id']}"
    forwarded = receiver.wait_for(path, 2)
    receiver.assert_quiet(path, expected=2)
    assert sorted(r.body for r in forwarded) == sorted([body, other])


def test_body_hash_dedupe_can_be_turned_off(api: httpx.Client) -> None:
    source_id, url = _github_source(api, dedupeOnBodyHash=False)
    assert (
        api.get(f"/ingest/api/v1/source/{source_id}").json()["config"]["dedupeOnBodyHash"] is False
    )
    body = b'{"action":"opened"}'
    genuine = github_headers(body)
    for headers in (genuine, {**genuine, "X-GitHub-Delivery": str(uuid.uuid4())}, genuine):
        assert httpx.post(url, content=body, headers=headers).status_code == 200
    assert [item["status"] for item in received(api, source_id)] == [
        "duplicate",
        "accepted",
        "accepted",
    ]


def test_sources_with_a_signed_event_id_do_not_default_to_it(api: httpx.Client) -> None:
    created = api.post(
        "/ingest/api/v1/source",
        json={"name": "Stripe", "type": "stripe", "config": {"secret": "whsec_abc"}},
    )
    assert created.status_code == 201, created.text
    assert created.json()["config"]["dedupeOnBodyHash"] is False
