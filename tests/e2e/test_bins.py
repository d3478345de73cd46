"""Inspector bins through the real server: a ``hookgate-bin`` source created
with the ingest API keeps every request byte for byte (read back through the
request detail) and answers with its configured response."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from svix.api import IngestSourceIn, Svix
from svix.api.ingest_source import IngestSourceListOptions

from tests.e2e.harness import ServerProcess, unique
from tests.e2e.test_cli_trigger import ANSI, run_in_pty

pytestmark = pytest.mark.slow

#: Requests a developer might throw at a bin: (method, sub-path and query, headers, body).
ODD_REQUESTS: list[tuple[str, str, list[tuple[str, str]], bytes]] = [
    (
        "POST",
        "",
        [("Content-Type", "application/json")],
        b'{ "a" :  1.50 ,\n\t"b":[1 ,2 ] }  \n',
    ),
    (
        "PUT",
        "/hooks/stripe?x=1&x=2&y=%20z",
        [("Content-Type", "application/json; charset=utf-8")],
        b'{"name":"\\u00e9\\ud83d\\ude00","raw":"na\xc3\xafve"}',
    ),
    (
        "POST",
        "/bin/ary",
        [("Content-Type", "application/octet-stream")],
        bytes(range(256)) + b"\x00\xff",
    ),
    (
        "GET",
        "/anything?q=%E2%9C%93",
        [("X-Dup", "one"), ("X-Other", "2"), ("X-Dup", "two")],
        b"",
    ),
    ("DELETE", "/items/42", [("X-Reason", "cleanup")], b""),
    ("PATCH", "/", [("Content-Type", "text/plain")], b"line one\r\nline two"),
    ("OPTIONS", "/preflight", [("Access-Control-Request-Method", "POST")], b""),
    ("HEAD", "/probe", [("X-Probe", "1")], b""),
]


def create_bin(api: httpx.Client, config: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api.post(
        "/ingest/api/v1/source",
        json={
            "name": "Inspector",
            "uid": unique("bin"),
            "type": "hookgate-bin",
            "config": config or {},
        },
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def stored_requests(api: httpx.Client, source_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/ingest/api/v1/source/{source_id}/request", params={"limit": 250})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]
    return items[::-1]


def test_a_bin_keeps_odd_requests_byte_exact(server: ServerProcess, api: httpx.Client) -> None:
    created = create_bin(api)
    # Shown as a type the official SDKs can read, marked as a bin.
    assert (created["type"], created["hookgateType"]) == ("generic-webhook", "hookgate-bin")
    ingest_url = created["ingestUrl"]
    assert "/in/" in ingest_url
    for method, sub, headers, body in ODD_REQUESTS:
        answer = httpx.request(method, ingest_url + sub, headers=headers, content=body)
        assert answer.status_code == 200, (method, sub, answer.text)
        assert method == "HEAD" or answer.json() == {"ok": True}

    items = stored_requests(api, created["id"])
    assert len(items) == len(ODD_REQUESTS)
    for item, (method, sub, headers, body) in zip(items, ODD_REQUESTS, strict=True):
        detail = api.get(f"/ingest/api/v1/source/{created['id']}/request/{item['id']}")
        assert detail.status_code == 200, detail.text
        got = detail.json()
        path, _, query = sub.partition("?")
        assert got["method"] == method
        assert got["path"] == "/in/<token>" + path
        assert got["query"] == query
        assert base64.b64decode(got["body"]) == body
        sent = [(k.lower(), v) for k, v in headers]
        received = [(k.lower(), v) for k, v in got["headers"]]
        assert [pair for pair in received if pair in sent] == sent
        assert got["verified"] is False
        assert got["status"] == "accepted"


def test_a_bin_answers_with_its_configured_response(api: httpx.Client) -> None:
    response = {
        "status": 418,
        "headers": {"X-Bin": "teapot", "Content-Type": "text/plain"},
        "body": "short and stout",
        "delaySeconds": 0.05,
    }
    created = create_bin(api, {"response": response})
    assert created["config"]["response"] == response
    for url in (created["ingestUrl"], created["ingestUrl"] + "/deep/path?a=b"):
        answer = httpx.post(url, content=b"x")
        assert answer.status_code == 418
        assert answer.headers["x-bin"] == "teapot"
        assert answer.text == "short and stout"
    assert len(stored_requests(api, created["id"])) == 2


def test_the_official_sdk_reads_a_bin(api: httpx.Client, svix_client: Svix) -> None:
    created = create_bin(api)
    got = svix_client.ingest.source.get(created["id"])
    assert got.type == "generic-webhook"
    listed = svix_client.ingest.source.list(IngestSourceListOptions(limit=250))
    assert listed.data is not None


def test_an_sdk_upsert_keeps_a_bin_a_bin_with_its_response(
    api: httpx.Client, svix_client: Svix
) -> None:
    created = create_bin(api, {"response": {"status": 202, "body": "kept"}})
    svix_client.ingest.source.upsert(
        created["id"], IngestSourceIn(name="Renamed", type="generic-webhook")
    )
    updated = api.get(f"/ingest/api/v1/source/{created['id']}").json()
    assert (updated["name"], updated["hookgateType"]) == ("Renamed", "hookgate-bin")
    answer = httpx.delete(created["ingestUrl"] + "/still/a/bin")
    assert (answer.status_code, answer.text) == (202, "kept")


def test_a_bin_honours_the_size_limit_and_records_the_refusal(api: httpx.Client) -> None:
    created = create_bin(api, {"maxBodyBytes": 16})
    answer = httpx.post(created["ingestUrl"] + "/big", content=b"x" * 17)
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"
    (item,) = stored_requests(api, created["id"])
    assert item["status"] == "rejected"
    assert item["path"] == "/in/<token>/big"


def test_a_bin_refuses_verification_options(api: httpx.Client) -> None:
    response = api.post(
        "/ingest/api/v1/source",
        json={"name": "Bad bin", "type": "hookgate-bin", "config": {"secret": "s3cret"}},
    )
    assert response.status_code == 422
    assert "verifies nothing" in response.text
    response = api.post(
        "/ingest/api/v1/source",
        json={
            "name": "Bad bin",
            "type": "hookgate-bin",
            "config": {"response": {"delaySeconds": 31}},
        },
    )
    assert response.status_code == 422
    assert "delaySeconds" in response.text


def test_an_ordinary_source_does_not_answer_a_sub_path(api: httpx.Client) -> None:
    response = api.post(
        "/ingest/api/v1/source",
        json={"name": "Generic", "uid": unique("gen"), "type": "generic-webhook", "config": {}},
    )
    assert response.status_code == 201, response.text
    source = response.json()
    assert httpx.post(source["ingestUrl"] + "/sub?x=1", content=b"{}").status_code == 404
    assert httpx.post(source["ingestUrl"], content=b"{}").status_code == 200
    items = stored_requests(api, source["id"])
    assert [item["path"] for item in items] == ["/in/<token>"]


@pytest.mark.sqlite_only  # the CLI writes the data dir's embedded database
def test_bin_create_in_a_terminal_prints_a_working_url(
    tmp_path: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    data_dir = tmp_path / "data"
    args = ["--name", "Teapot", "--status", "418", "--header", "X-Bin: yes", "--body", "tea"]
    args += ["--keep", "50", "--max-age", "3600"]
    code, output = run_in_pty("bin", "create", *args, "--data-dir", str(data_dir))
    assert code == 0, output
    text = ANSI.sub("", output)
    match = re.search(r"Bin (src_\w+): send anything to http://\S+(/in/[\w-]{32})", text)
    assert match, text
    assert f"hookgate tail {match.group(1)}" in text

    server = server_factory(data_dir)
    answer = httpx.put(server.url + match.group(2) + "/x/y?z=1", content=b"\x00\x01")
    assert (answer.status_code, answer.headers["x-bin"], answer.text) == (418, "yes", "tea")
    with server.http() as api:
        (item,) = stored_requests(api, match.group(1))
        shown = api.get(f"/ingest/api/v1/source/{match.group(1)}").json()
    assert shown["name"] == "Teapot"
    assert shown["config"]["retention"] == {"count": 50, "maxAgeSeconds": 3600}
    assert (item["method"], item["path"], item["query"]) == ("PUT", "/in/<token>/x/y", "z=1")
    assert base64.b64decode(item["body"]) == b"\x00\x01"


def test_bin_create_refuses_a_bad_response_option(tmp_path: Path) -> None:
    code, output = run_in_pty("bin", "create", "--delay", "45", "--data-dir", str(tmp_path))
    assert code == 2
    assert "Invalid bin" in ANSI.sub("", output)


def test_a_bin_keeps_only_its_newest_requests(api: httpx.Client) -> None:
    created = create_bin(api, {"retention": {"count": 3}})
    assert created["config"]["retention"] == {"count": 3}
    for n in range(6):
        assert httpx.post(created["ingestUrl"], content=f"request {n}".encode()).status_code == 200
    bodies = [base64.b64decode(item["body"]) for item in stored_requests(api, created["id"])]
    assert bodies == [b"request 3", b"request 4", b"request 5"]
