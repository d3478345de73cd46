"""Client input that used to end in a 500: JSON nested deeper than the parsers
and serialisers allow, and a non-ASCII bearer token. Each gets a precise 4xx,
stores nothing it should not, and an ``/in`` request is recorded as refused
with its reason."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest
import svix.webhooks

from tests.e2e.harness import ServerProcess, unique
from tests.e2e.test_inbound import assert_error, received, send
from tests.e2e.test_inbound_limits import make_source

pytestmark = pytest.mark.slow

TOO_DEEP = "JSON nested deeper than 128 levels"
SVIX_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


@pytest.mark.parametrize("levels", [129, 100_000])
def test_deep_json_to_a_source_with_a_json_path_dedupe_key_is_refused_and_recorded(
    api: httpx.Client, levels: int
) -> None:
    source_id, url = make_source(api, {"dedupeKey": {"jsonPath": "data.id"}})
    answer = send(url, nested(levels).encode(), {"Content-Type": "application/json"})
    assert assert_error(answer, 400, "malformed_body") == f"malformed body: {TOO_DEEP}"
    [row] = received(api, source_id)
    assert row["rejection"] == f"malformed body: {TOO_DEEP}"
    assert row["verified"] is False


def test_deep_json_signed_for_a_svix_source_is_refused_and_recorded(api: httpx.Client) -> None:
    source_id, url = make_source(api, {"scheme": "svix", "secrets": [SVIX_SECRET]})
    body = nested(100_000)
    msg_id = f"msg_{uuid.uuid4().hex}"
    now = dt.datetime.now(tz=dt.UTC)
    signature = svix.webhooks.Webhook(SVIX_SECRET).sign(msg_id, now, body)
    headers = {
        "Content-Type": "application/json",
        "svix-id": msg_id,
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": signature,
    }
    answer = send(url, body.encode(), headers)
    assert assert_error(answer, 400, "malformed_body") == f"malformed body: {TOO_DEEP}"
    [row] = received(api, source_id)
    assert (row["verified"], row["rejection"]) == (False, f"malformed body: {TOO_DEEP}")


@pytest.mark.parametrize("levels", [254, 300, 1_029, 100_000])
def test_message_payloads_nested_too_deep_get_400_and_are_not_stored(
    api: httpx.Client, app_id: str, levels: int
) -> None:
    body = '{"eventType":"deep","payload":' + nested(levels) + "}"
    answer = api.post(
        f"/api/v1/app/{app_id}/msg",
        content=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert assert_error(answer, 400, "bad_request") == TOO_DEEP
    assert api.get(f"/api/v1/app/{app_id}/msg").json()["data"] == []


def test_message_payload_at_the_depth_limit_is_accepted(api: httpx.Client, app_id: str) -> None:
    body = '{"eventType":"deep","payload":' + nested(127) + "}"
    answer = api.post(
        f"/api/v1/app/{app_id}/msg",
        content=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 202, answer.text


def test_deep_json_to_a_management_route_gets_400(api: httpx.Client) -> None:
    uid = unique("deep")
    body = '{"name":"deep","uid":"' + uid + '","metadata":' + nested(100_000) + "}"
    answer = api.post(
        "/api/v1/app", content=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert assert_error(answer, 400, "bad_request") == TOO_DEEP
    assert api.get(f"/api/v1/app/{uid}").status_code == 404


@pytest.mark.parametrize("token", ["naïve-token", "токен", "\u00ff" * 40])
def test_non_ascii_bearer_tokens_get_401(server: ServerProcess, token: str) -> None:
    raw = f"Bearer {token}".encode()
    with httpx.Client(base_url=server.url, headers={"Authorization": raw}) as client:
        for method, path in (("GET", "/api/v1/app"), ("POST", "/api/v1/app/app_x/msg")):
            answer = client.request(method, path, json={"eventType": "x", "payload": {}})
            assert assert_error(answer, 401, "authentication_failed") == "Invalid token"
