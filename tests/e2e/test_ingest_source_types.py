"""Svix Ingest source types through the official SDK and the real server
(both databases): every verifying type the SDK knows is created by
``ingest.source.create``; genuine requests of a Standard Webhooks type
(``resend``), HMAC variants (``port-io``; ``panda-doc``, signed in the query
string) and Telnyx (Ed25519) reach ``/in``
and are accepted, tampered ones refused; refused types get a 422 naming them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from standardwebhooks.webhooks import Webhook as StandardWebhook
from svix.api import IngestSourceIn, Svix
from svix.exceptions import HTTPValidationError
from svix.models import CronConfig

from tests.e2e.harness import unique
from tests.e2e.test_inbound import assert_error, received, send
from tests.unit.test_source_types import QUERY_SIGNED, SIGNED, STANDARD, WHSEC

pytestmark = pytest.mark.slow

BODY = b'{"data": {"id": "ev_1", "event_type": "message.received", "x": "\\u00e9"}}'
PORT_SECRET = "port-client-secret"


def create(svix_client: Svix, source_type: str, config: dict[str, str]) -> tuple[str, str]:
    source = svix_client.ingest.source.create(
        IngestSourceIn(name=source_type, uid=unique("src"), type=source_type, config=config)  # type: ignore[arg-type]
    )
    assert source.type == source_type
    assert source.ingest_url is not None
    return source.id, source.ingest_url


def test_sdk_creates_a_source_of_every_verifying_type(svix_client: Svix) -> None:
    configs = {name: config for name, (config, _) in {**SIGNED, **QUERY_SIGNED}.items()}
    configs.update({name: {"secret": WHSEC} for name in STANDARD})
    for source_type, config in sorted(configs.items()):
        create(svix_client, source_type, config)


def test_resend_source_verifies_standard_webhooks(svix_client: Svix, api: httpx.Client) -> None:
    source_id, url = create(svix_client, "resend", {"secret": WHSEC})
    now = datetime.now(tz=UTC)
    headers = {
        "webhook-id": "msg_e2e_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": StandardWebhook(WHSEC).sign("msg_e2e_1", now, BODY.decode()),
        "content-type": "application/json",
    }
    assert send(url, BODY, headers).status_code == 200
    assert_error(send(url, BODY + b" ", headers), 401, "bad_signature")
    rows = received(api, source_id)
    accepted = [row for row in rows if row["verified"]]
    assert [row["eventId"] for row in accepted] == ["msg_e2e_1"]


def port_headers(ts: int) -> dict[str, str]:
    mac = hmac.new(PORT_SECRET.encode(), f"{ts}.".encode() + BODY, hashlib.sha256).digest()
    return {
        "x-port-timestamp": str(ts),
        "x-port-signature": "v1," + base64.b64encode(mac).decode(),
        "content-type": "application/json",
    }


def test_port_io_source_verifies_its_hmac_variant(svix_client: Svix, api: httpx.Client) -> None:
    source_id, url = create(svix_client, "port-io", {"secret": PORT_SECRET})
    now = int(time.time())
    assert send(url, BODY, port_headers(now)).status_code == 200
    tampered = BODY.replace(b"ev_1", b"ev_2")
    assert_error(send(url, tampered, port_headers(now)), 401, "bad_signature")
    assert_error(send(url, BODY, port_headers(now - 3600)), 401, "stale_timestamp")
    assert [row["verified"] for row in received(api, source_id)].count(True) == 1


def test_telnyx_source_verifies_ed25519_with_the_public_key(
    svix_client: Svix, api: httpx.Client
) -> None:
    key = Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    source_id, url = create(svix_client, "telnyx", {"publicKey": public.decode()})
    shown = svix_client.ingest.source.get(source_id)
    assert shown.config.public_key == public.decode()  # type: ignore[union-attr]

    ts = str(int(time.time()))
    headers = {
        "telnyx-timestamp": ts,
        "telnyx-signature-ed25519": base64.b64encode(key.sign(f"{ts}|".encode() + BODY)).decode(),
        "content-type": "application/json",
    }
    assert send(url, BODY, headers).status_code == 200
    assert_error(send(url, BODY.replace(b"ev_1", b"ev_2"), headers), 401, "bad_signature")
    assert_error(send(url, BODY, {"content-type": "application/json"}), 400, "missing_header")
    rows = received(api, source_id)
    accepted = [row for row in rows if row["verified"]]
    assert [(row["eventId"], row["eventType"]) for row in accepted] == [
        ("ev_1", "message.received")
    ]


def test_panda_doc_signature_in_the_query_string(svix_client: Svix, api: httpx.Client) -> None:
    source_id, url = create(svix_client, "panda-doc", {"secret": PORT_SECRET})
    signature = hmac.new(PORT_SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    json_type = {"content-type": "application/json"}
    assert send(f"{url}?signature={signature}", BODY, json_type).status_code == 200
    tampered = BODY.replace(b"ev_1", b"ev_2")
    assert_error(send(f"{url}?signature={signature}", tampered, json_type), 401, "bad_signature")
    assert_error(send(url, BODY, json_type), 401, "bad_signature")
    assert [row["verified"] for row in received(api, source_id)].count(True) == 1


def test_refused_types_get_422_naming_the_type(svix_client: Svix, api: httpx.Client) -> None:
    cron = IngestSourceIn(
        name="c", type="cron", config=CronConfig(schedule="* * * * *", payload="{}")
    )
    with pytest.raises(HTTPValidationError) as caught:
        svix_client.ingest.source.create(cron)
    assert caught.value.status_code == 422
    assert "'cron'" in str(caught.value.detail[0].msg)

    for source_type in ("hubspot", "vgs", "acme-hooks"):
        answer = api.post(
            "/ingest/api/v1/source",
            json={"name": "x", "type": source_type, "config": {"secret": "s"}},
        )
        assert answer.status_code == 422, answer.text
        assert f"'{source_type}'" in answer.text
