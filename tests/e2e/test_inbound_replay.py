"""Replaying stored inbound requests and reading one of them
(``/ingest/api/v1/source/{id}/request/{request_id}[/replay]``)."""

from __future__ import annotations

import base64

import httpx
import pytest
from svix.api import Svix

from tests.e2e.harness import Receiver, ServerProcess
from tests.e2e.test_inbound_forwarding import BODY, destination, github_headers, github_source, post

pytestmark = pytest.mark.slow


def _requests(api: httpx.Client, source_id: str) -> list[dict[str, object]]:
    listed = api.get(f"/ingest/api/v1/source/{source_id}/request")
    assert listed.status_code == 200, listed.text
    data: list[dict[str, object]] = listed.json()["data"]
    return data


def test_replay_forwards_the_request_again_byte_for_byte(
    server: ServerProcess, svix_client: Svix, receiver: Receiver, api: httpx.Client
) -> None:
    source = github_source(svix_client)
    path = receiver.new_path("replay")
    destination(svix_client, source.id, receiver.url(path))
    headers = github_headers(BODY)
    assert post(source.ingest_url, BODY, headers).status_code == 200
    (first,) = receiver.wait_for(path, 1)

    (stored,) = _requests(api, source.id)
    one = api.get(f"/ingest/api/v1/source/{source.id}/request/{stored['id']}")
    assert one.status_code == 200, one.text
    # The single request adds what a listener's local server answered (none here).
    assert one.json() == {**stored, "localResponse": None}
    assert base64.b64decode(str(stored["body"])) == BODY

    replayed = api.post(f"/ingest/api/v1/source/{source.id}/request/{stored['id']}/replay")
    assert replayed.status_code == 202, replayed.text
    msg_id = replayed.json()["msgId"]
    _, second = receiver.wait_for(path, 2)
    assert second.msg_id == msg_id != first.msg_id
    assert second.body == first.body == BODY
    for name in ("content-type", "x-github-event", "x-github-delivery", "x-hub-signature-256"):
        assert second.headers[name] == first.headers[name]
    assert second.headers["x-hookgate-verified"] == "github"


def test_duplicate_can_be_replayed(
    server: ServerProcess, svix_client: Svix, receiver: Receiver, api: httpx.Client
) -> None:
    source = github_source(svix_client)
    path = receiver.new_path("replay-dup")
    destination(svix_client, source.id, receiver.url(path))
    headers = github_headers(BODY)
    assert post(source.ingest_url, BODY, headers).status_code == 200
    assert post(source.ingest_url, BODY, headers).status_code == 200
    receiver.wait_for(path, 1)
    duplicate, _ = _requests(api, source.id)  # newest first
    assert str(duplicate["rejection"]).startswith("duplicate of ")
    replayed = api.post(f"/ingest/api/v1/source/{source.id}/request/{duplicate['id']}/replay")
    assert replayed.status_code == 202, replayed.text
    _, again = receiver.wait_for(path, 2)
    assert again.body == BODY


def test_rejected_unknown_and_no_destination_requests_are_refused(
    server: ServerProcess, svix_client: Svix, api: httpx.Client
) -> None:
    source = github_source(svix_client)
    bad = github_headers(BODY, signature="sha256=" + "0" * 64)
    assert post(source.ingest_url, BODY, bad).status_code == 401
    assert post(source.ingest_url, BODY, github_headers(BODY)).status_code == 200
    good, rejected = _requests(api, source.id)
    assert rejected["rejection"]
    assert good["rejection"] is None
    base = f"/ingest/api/v1/source/{source.id}/request"

    refused = api.post(f"{base}/{rejected['id']}/replay")
    assert refused.status_code == 409, refused.text
    assert "rejected" in refused.json()["detail"]
    # No destinations yet: nothing would be delivered.
    empty = api.post(f"{base}/{good['id']}/replay")
    assert empty.status_code == 409, empty.text
    assert "no destinations" in empty.json()["detail"]

    assert api.post(f"{base}/inreq_nope/replay").status_code == 404
    assert api.get(f"{base}/inreq_nope").status_code == 404
    assert api.get(f"/ingest/api/v1/source/src_nope/request/{good['id']}").status_code == 404
    other = github_source(svix_client)
    assert api.get(f"/ingest/api/v1/source/{other.id}/request/{good['id']}").status_code == 404
    # Authenticated like the other ingest routes.
    anonymous = httpx.post(f"{server.url}{base}/{good['id']}/replay", timeout=15.0)
    assert anonymous.status_code == 401
