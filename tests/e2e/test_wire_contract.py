"""The Svix wire contract where the official SDK and generated clients rely on
it: string error locations, ids in upsert paths validated like ids in bodies,
the ``limit`` maximum, and endpoint URLs no delivery could ever reach."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from svix.api import (
    ApplicationIn,
    EndpointIn,
    EndpointPatch,
    IngestEndpointIn,
    IngestSourceIn,
    Svix,
)
from svix.exceptions import HTTPValidationError
from svix.models import EndpointUpsertIn, GithubConfig

from tests.e2e.harness import Receiver, unique

# Every test here drives real server processes over HTTP.
pytestmark = pytest.mark.slow

NAME = re.compile(r"^[a-zA-Z0-9\-_.]+$")


def _problems(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    items: list[dict[str, Any]] = response.json()["detail"]
    for item in items:
        assert all(isinstance(part, str) for part in item["loc"]), item
    return items


# --- 422 locations ---------------------------------------------------------------


def test_list_index_in_an_error_location_is_a_bracketed_string(
    api: httpx.Client, app_id: str
) -> None:
    items = _problems(
        api.post(
            f"/api/v1/app/{app_id}/endpoint",
            json={"url": "https://example.com/x", "eventTypes": ["ok", "not valid"]},
        )
    )
    assert [item["loc"] for item in items] == [["body", "eventTypes", "[1]"]]


def test_message_channel_error_location_is_a_string(api: httpx.Client, app_id: str) -> None:
    items = _problems(
        api.post(
            f"/api/v1/app/{app_id}/msg",
            json={"eventType": "a.b", "payload": {}, "channels": ["fine", "not fine"]},
        )
    )
    assert [item["loc"] for item in items] == [["body", "channels", "[1]"]]


def test_sdk_reads_the_string_locations(svix_client: Svix, app_id: str) -> None:
    with pytest.raises(HTTPValidationError) as exc:
        svix_client.endpoint.create(
            app_id, EndpointIn(url="https://example.com/x", channels=["a", "b c"])
        )
    assert exc.value.detail[0].loc == ["body", "channels", "[1]"]


def test_json_decode_error_location_is_a_string(api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/app", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert _problems(response)[0]["loc"][0] == "body"


# --- ids in upsert paths --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/app/a%20b",
        "/api/v1/app/a%2Cb",
        "/api/v1/app/" + "a" * 257,
        "/api/v1/app/app_not-an-id",
        "/api/v1/event-type/a%2Cb",
        "/api/v1/event-type/a%20b",
        "/api/v1/event-type/" + "e" * 300,
        "/ingest/api/v1/source/a%20b",
        "/ingest/api/v1/source/src_not-an-id",
    ],
)
def test_put_refuses_an_id_that_post_would_refuse(api: httpx.Client, path: str) -> None:
    body: dict[str, Any] = {"name": "x", "description": "x", "type": "generic-webhook"}
    items = _problems(api.put(path, json=body))
    assert items[0]["loc"][0] == "path"
    assert api.get(path).status_code == 404


def test_put_refuses_a_bad_endpoint_id(api: httpx.Client, app_id: str) -> None:
    for bad in ("a%20b", "ep_not-an-id", "x" * 257):
        items = _problems(
            api.put(f"/api/v1/app/{app_id}/endpoint/{bad}", json={"url": "https://example.com/"})
        )
        assert items[0]["loc"] == ["path", "endpoint_id"]
    assert api.get(f"/api/v1/app/{app_id}/endpoint").json()["data"] == []


def test_lists_only_ever_show_valid_uids_and_names(api: httpx.Client) -> None:
    api.put("/api/v1/app/a%20b", json={"name": "spaced"})
    api.put("/api/v1/event-type/a%2Cb", json={"description": "comma"})
    good = unique("put-ok")
    assert api.put(f"/api/v1/app/{good}", json={"name": "fine"}).status_code == 201
    assert api.put(f"/api/v1/event-type/{good}", json={"description": "d"}).status_code == 201
    apps = api.get("/api/v1/app", params={"limit": 250, "order": "descending"}).json()["data"]
    assert good in [a["uid"] for a in apps]
    assert all(NAME.match(a["uid"]) for a in apps if a["uid"] is not None)
    types = api.get("/api/v1/event-type", params={"limit": 250}).json()["data"]
    assert all(NAME.match(t["name"]) and len(t["name"]) <= 256 for t in types)


# --- limit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/app",
        "/api/v1/event-type",
        "/api/v1/app/{app}/endpoint",
        "/api/v1/app/{app}/msg",
        "/ingest/api/v1/source",
    ],
)
def test_limit_above_250_is_422(api: httpx.Client, app_id: str, path: str) -> None:
    url = path.format(app=app_id)
    items = _problems(api.get(url, params={"limit": 251}))
    assert items[0]["loc"] == ["query", "limit"]
    assert api.get(url, params={"limit": 250}).status_code == 200


# --- endpoint URLs the address policy can never reach ---------------------------------------
# The shared test server allows 127.0.0.0/8 (HOOKGATE_ALLOWED_SUBNETS) and nothing else.


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://10.0.0.5/hook", "a private address"),
        ("https://192.168.1.20:8443/hook", "a private address"),
        ("http://169.254.169.254/latest/meta-data", "a cloud metadata address"),
        ("http://[::1]:8080/hook", "a loopback address"),
        ("http://[::ffff:10.1.2.3]/hook", "a private address"),
        ("http://0.0.0.0/hook", "an unspecified address"),
        ("http://10.1/hook", "a private address"),  # 10.0.0.1, as the resolver reads it
        ("http://167772161/hook", "a private address"),
    ],
)
def test_endpoint_at_a_blocked_address_is_refused(
    svix_client: Svix, app_id: str, url: str, why: str
) -> None:
    with pytest.raises(HTTPValidationError) as exc:
        svix_client.endpoint.create(app_id, EndpointIn(url=url))
    assert exc.value.detail[0].loc == ["body", "url"]
    assert why in exc.value.detail[0].msg
    assert "HOOKGATE_ALLOWED_SUBNETS=" in exc.value.detail[0].msg
    assert svix_client.endpoint.list(app_id).data == []


def test_update_to_a_blocked_address_is_refused_and_changes_nothing(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    allowed = receiver.url(receiver.new_path())  # 127.0.0.1: in the allowed subnet
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=allowed, uid=unique("ep")))
    with pytest.raises(HTTPValidationError):
        svix_client.endpoint.upsert(app_id, ep.id, EndpointUpsertIn(url="http://10.9.8.7/"))
    with pytest.raises(HTTPValidationError):
        svix_client.endpoint.patch(app_id, ep.id, EndpointPatch(url="http://[fe80::1]/"))
    with pytest.raises(HTTPValidationError):
        svix_client.endpoint.upsert(app_id, unique("new"), EndpointUpsertIn(url="http://10.0.0.1/"))
    assert [e.url for e in svix_client.endpoint.list(app_id).data] == [allowed]


def test_host_names_are_left_to_the_connect_time_check(svix_client: Svix, app_id: str) -> None:
    ep = svix_client.endpoint.create(app_id, EndpointIn(url="http://internal.invalid:8080/x"))
    assert ep.url == "http://internal.invalid:8080/x"


def test_ingest_destination_at_a_blocked_address_is_refused(svix_client: Svix) -> None:
    source = svix_client.ingest.source.create(
        IngestSourceIn(name="gh", type="github", config=GithubConfig(secret="s3cret"))
    )
    with pytest.raises(HTTPValidationError) as exc:
        svix_client.ingest.endpoint.create(source.id, IngestEndpointIn(url="http://10.0.0.7/gh"))
    assert "a private address" in exc.value.detail[0].msg


def test_application_upsert_with_a_valid_uid_still_works(svix_client: Svix) -> None:
    uid = unique("upsert")
    app = svix_client.application.upsert(uid, ApplicationIn(name="x"))
    assert app.uid == uid


@pytest.mark.parametrize("ref", ["app_not-an-id", "a%20b"])
def test_message_that_would_create_its_application_validates_the_path(
    api: httpx.Client, ref: str
) -> None:
    body = {"eventType": "a.b", "payload": {}, "application": {"name": "on the fly"}}
    items = _problems(api.post(f"/api/v1/app/{ref}/msg", json=body))
    assert items[0]["loc"] == ["path", "app_id"]
    assert api.get(f"/api/v1/app/{ref}").status_code == 404


def test_portal_access_that_would_create_its_application_validates_the_path(
    api: httpx.Client,
) -> None:
    body = {"application": {"name": "portal"}}
    items = _problems(api.post("/api/v1/auth/app-portal-access/app_not-an-id", json=body))
    assert items[0]["loc"] == ["path", "app_id"]
    assert api.get("/api/v1/app/app_not-an-id").status_code == 404
    uid = unique("portal")
    assert api.post(f"/api/v1/auth/app-portal-access/{uid}", json=body).status_code == 200
    assert api.get(f"/api/v1/app/{uid}").json()["uid"] == uid


# --- values the document's types forbid ------------------------------------------------------


def test_datetimes_are_iso_8601_not_epoch_numbers(api: httpx.Client, app_id: str) -> None:
    for value in ("0", "1700000000", "1.5"):
        items = _problems(api.get(f"/api/v1/app/{app_id}/msg", params={"before": value}))
        assert items[0]["loc"] == ["query", "before"]
    ok = api.get(f"/api/v1/app/{app_id}/msg", params={"before": "2026-01-31T12:00:00Z"})
    assert ok.status_code == 200


def test_booleans_are_json_booleans(api: httpx.Client) -> None:
    name = unique("strict")
    items = _problems(
        api.post("/api/v1/event-type", json={"name": name, "description": "d", "deprecated": 0})
    )
    assert items[0]["loc"] == ["body", "deprecated"]
    assert api.get(f"/api/v1/event-type/{name}").status_code == 404
    created = api.post(
        "/api/v1/event-type", json={"name": name, "description": "d", "deprecated": None}
    )
    assert created.status_code == 201
    assert created.json()["deprecated"] is False
