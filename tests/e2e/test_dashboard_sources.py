"""The dashboard's inbound pages over HTTP, on both backends: the sources
list, a source's received requests (filters, no token anywhere), one
request byte for byte (binary as hex), Replay behind CSRF, 404 pages, and
the live stream of new rows."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest
from svix.api import Svix

from tests.e2e.harness import Receiver, ServerProcess, unique
from tests.e2e.test_inbound_forwarding import BODY, destination, github_headers, github_source, post

pytestmark = pytest.mark.slow

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ROW_ID = re.compile(r'<tr id="row-(inreq_[A-Za-z0-9]+)"')


def _csrf(text: str) -> str:
    match = _CSRF.search(text)
    assert match, text
    return match.group(1)


@pytest.fixture
def browser(server: ServerProcess) -> Iterator[httpx.Client]:
    """A logged-in dashboard client (cookies, no API token header)."""
    with httpx.Client(base_url=server.url, timeout=15.0) as client:
        form = client.get("/login")
        answer = client.post("/login", data={"token": server.token, "csrf_token": _csrf(form.text)})
        assert answer.status_code == 303, answer.text
        yield client


def _generic_source(api: httpx.Client) -> tuple[str, str]:
    created = api.post(
        "/ingest/api/v1/source",
        json={"name": unique("Open"), "type": "generic-webhook", "config": {}},
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], created.json()["ingestUrl"]


def _row_ids(text: str) -> list[str]:
    return _ROW_ID.findall(text)


def test_sources_list_and_page_show_requests_and_never_the_token(
    server: ServerProcess, svix_client: Svix, browser: httpx.Client
) -> None:
    source = github_source(svix_client)
    token = source.ingest_url.rsplit("/", 1)[1]
    assert post(source.ingest_url, BODY, github_headers(BODY)).status_code == 200
    bad = github_headers(BODY, signature="sha256=" + "0" * 64)
    assert post(source.ingest_url, BODY, bad).status_code == 401

    listed = browser.get("/sources")
    assert listed.status_code == 200
    assert source.name in listed.text
    assert f"/sources/{source.id}" in listed.text
    assert f"{server.url}/in/&lt;token&gt;" in listed.text
    assert token not in listed.text

    shown = browser.get(f"/sources/{source.id}")
    assert shown.status_code == 200, shown.text
    assert token not in shown.text
    assert "github" in shown.text
    rejected, accepted = _row_ids(shown.text)  # newest first
    assert 'class="badge accepted"' in shown.text
    assert 'class="badge rejected"' in shown.text
    assert "signature" in shown.text.lower()
    assert f'sse-connect="/sources/{source.id}/live?after={rejected}"' in shown.text

    only_rejected = browser.get(f"/sources/{source.id}", params={"verdict": "rejected"})
    assert _row_ids(only_rejected.text) == [rejected]
    only_accepted = browser.get(f"/sources/{source.id}", params={"verdict": "accepted"})
    assert _row_ids(only_accepted.text) == [accepted]
    # Every filter is carried by the live stream too.
    assert "live?verdict=accepted&amp;after=" in only_accepted.text

    wrong = browser.get(f"/sources/{source.id}", params={"verdict": "maybe", "since": "soon"})
    assert wrong.status_code == 400
    assert "Unknown verdict" in wrong.text
    assert "is not a time" in wrong.text
    assert _row_ids(wrong.text) == [rejected, accepted]


def test_request_page_shows_headers_in_order_and_a_binary_body_as_hex(
    api: httpx.Client, browser: httpx.Client
) -> None:
    source_id, url = _generic_source(api)
    binary = b"\x00\x01\xfehello\x7f"
    headers = [
        ("Content-Type", "application/octet-stream"),
        ("X-Zulu", "first"),
        ("Authorization", "Bearer sekrit-value"),
        ("X-Alpha", "last"),
    ]
    assert httpx.post(url, content=binary, headers=headers, timeout=15.0).status_code == 200
    assert post(url, b'{"b":1,"a":[true]}', {"Content-Type": "application/json"}).status_code == 200
    json_id, binary_id = _row_ids(browser.get(f"/sources/{source_id}").text)

    shown = browser.get(f"/sources/{source_id}/requests/{binary_id}")
    assert shown.status_code == 200, shown.text
    assert "Binary body, shown as hex" in shown.text
    assert "00000000  00 01 fe 68 65 6c 6c 6f 7f" in shown.text
    assert "sekrit-value" not in shown.text
    assert "&lt;redacted&gt;" in shown.text
    names = re.findall(r"<tr><td><code>([^<]+)</code></td>", shown.text)
    assert names.index("x-zulu") < names.index("authorization") < names.index("x-alpha")
    assert "/in/&lt;token&gt;" in shown.text
    assert '<span class="badge accepted">' in shown.text

    pretty = browser.get(f"/sources/{source_id}/requests/{json_id}")
    text = html.unescape(pretty.text)
    assert '{\n  "b": 1,\n  "a": [\n    true\n  ]\n}' in text
    # ... and the exact bytes as sent are one click away.
    assert '<pre class="body raw">{"b":1,"a":[true]}</pre>' in text


def test_replay_needs_csrf_and_forwards_the_request_again(
    svix_client: Svix, receiver: Receiver, api: httpx.Client, browser: httpx.Client
) -> None:
    source = github_source(svix_client)
    path = receiver.new_path("dash-replay")
    destination(svix_client, source.id, receiver.url(path))
    assert post(source.ingest_url, BODY, github_headers(BODY)).status_code == 200
    (first,) = receiver.wait_for(path, 1)
    bad = github_headers(BODY, signature="sha256=" + "0" * 64)
    assert post(source.ingest_url, BODY, bad).status_code == 401
    listed = browser.get(f"/sources/{source.id}").text
    rejected, accepted = _row_ids(listed)
    # The accepted request links to the message that forwarded it.
    app_id = api.get(f"/ingest/api/v1/source/{source.id}").json()["appId"]
    message_url = f"/apps/{app_id}/msg/{first.msg_id}"
    assert f'<a href="{message_url}">forwarded</a>' in listed
    assert browser.get(message_url).status_code == 200

    page_url = f"/sources/{source.id}/requests/{accepted}"
    shown = browser.get(page_url)
    assert f'as message <a href="{message_url}">' in shown.text
    assert 'type="submit">Replay</button>' in shown.text
    assert browser.post(f"{page_url}/replay").status_code == 403
    forged = browser.post(f"{page_url}/replay", data={"csrf_token": "0" * 64})
    assert forged.status_code == 403
    receiver.assert_quiet(path, expected=1)

    done = browser.post(f"{page_url}/replay", data={"csrf_token": _csrf(shown.text)})
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith(f"{page_url}?replayed=msg_")
    _, second = receiver.wait_for(path, 2)
    assert second.body == first.body == BODY
    assert second.msg_id != first.msg_id
    notice = browser.get(done.headers["location"])
    assert "Replayed: forwarded again as message" in notice.text
    assert f"/msg/{second.msg_id}" in notice.text

    refused_url = f"/sources/{source.id}/requests/{rejected}"
    refused = browser.post(f"{refused_url}/replay", data={"csrf_token": _csrf(shown.text)})
    assert refused.status_code == 409
    assert "cannot be replayed" in refused.text


def test_duplicates_link_to_the_request_they_repeat(
    svix_client: Svix, browser: httpx.Client
) -> None:
    source = github_source(svix_client)
    headers = github_headers(BODY)
    assert post(source.ingest_url, BODY, headers).status_code == 200
    assert post(source.ingest_url, BODY, headers).status_code == 200
    duplicate, original = _row_ids(browser.get(f"/sources/{source.id}").text)

    repeat = browser.get(f"/sources/{source.id}/requests/{duplicate}")
    assert '<span class="badge duplicate">' in repeat.text
    assert f'/sources/{source.id}/requests/{original}"' in repeat.text
    first = browser.get(f"/sources/{source.id}/requests/{original}")
    assert "Repeated by" in first.text
    assert f'/sources/{source.id}/requests/{duplicate}"' in first.text


def test_unknown_ids_answer_404_pages_and_pages_need_a_login(
    server: ServerProcess, svix_client: Svix, browser: httpx.Client
) -> None:
    source = github_source(svix_client)
    for path in (
        "/sources/src_nope",
        f"/sources/{source.id}/requests/inreq_nope",
        "/sources/src_nope/requests/inreq_nope",
        "/sources/src_nope/live",
    ):
        missing = browser.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"].startswith("text/html")
    shown = browser.get(f"/sources/{source.id}")
    gone = browser.post(
        f"/sources/{source.id}/requests/inreq_nope/replay", data={"csrf_token": _csrf(shown.text)}
    )
    assert gone.status_code == 404
    with httpx.Client(base_url=server.url) as anonymous:
        for path in ("/sources", f"/sources/{source.id}", f"/sources/{source.id}/live"):
            assert anonymous.get(path).status_code == 303, path


def _first_event(lines: Iterator[str]) -> dict[str, str]:
    """The fields of the first ``request`` event read from ``lines``."""
    fields: dict[str, str] = {}
    data: list[str] = []
    for line in lines:
        if line == "":
            if fields.get("event") == "request":
                fields["data"] = "\n".join(data)
                return fields
            fields, data = {}, []
            continue
        name, _, value = line.partition(": ")
        if name == "data":
            data.append(value)
        elif name in ("event", "id"):
            fields[name] = value
    raise AssertionError("the stream ended without a request event")


def test_the_live_stream_sends_each_new_requests_row(
    api: httpx.Client, browser: httpx.Client
) -> None:
    source_id, url = _generic_source(api)
    assert post(url, b"before", {}).status_code == 200
    (before,) = _row_ids(browser.get(f"/sources/{source_id}").text)

    live = f"/sources/{source_id}/live"
    with browser.stream("GET", live, params={"after": before}, timeout=10.0) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert post(url, b'{"live": true}', {"Content-Type": "application/json"}).status_code == 200
        event = _first_event(stream.iter_lines())
    (newest, _) = _row_ids(browser.get(f"/sources/{source_id}").text)
    assert event["id"] == newest
    assert f'<tr id="row-{newest}">' in event["data"]
    assert '<span class="badge accepted">' in event["data"]

    # A reconnecting browser sends the last id it saw: nothing is sent twice.
    resumed_headers = {"Last-Event-ID": before}
    with browser.stream("GET", live, headers=resumed_headers, timeout=10.0) as stream:
        again = _first_event(stream.iter_lines())
    assert again["id"] == newest
    # Filters apply to the stream as to the list: an accepted request, then
    # a refused one (GET is not allowed); only the refused one is sent.
    params = {"after": newest, "verdict": "rejected"}
    with browser.stream("GET", live, params=params, timeout=10.0) as stream:
        assert post(url, b"accepted", {}).status_code == 200
        assert httpx.get(url, timeout=15.0).status_code == 405
        only = _first_event(stream.iter_lines())
    assert '<span class="badge rejected">' in only["data"]
    assert "GET" in only["data"]


def _link(text: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)" rel="{rel}">', text)
    return html.unescape(match.group(1)) if match else None


def test_requests_page_by_cursor_keeping_the_filter(
    api: httpx.Client, browser: httpx.Client
) -> None:
    source_id, url = _generic_source(api)
    with httpx.Client(timeout=15.0) as sender:
        for n in range(52):
            assert sender.post(url, content=f"{n}".encode()).status_code == 200
    assert httpx.get(url, timeout=15.0).status_code == 405  # one refused, filtered out

    first = browser.get(f"/sources/{source_id}", params={"verdict": "accepted"})
    first_ids = _row_ids(first.text)
    assert len(first_ids) == 50
    assert _link(first.text, "prev") is None
    older = _link(first.text, "next")
    assert older is not None
    assert "verdict=accepted" in older

    second = browser.get(older)
    second_ids = _row_ids(second.text)
    assert len(second_ids) == 2
    assert not set(first_ids) & set(second_ids)
    assert _link(second.text, "next") is None
    assert "sse-connect" not in second.text  # live rows belong on the first page
    newer = _link(second.text, "prev")
    assert newer is not None

    assert _row_ids(browser.get(newer).text) == first_ids


def test_a_bin_created_on_the_dashboard_shows_its_url_once_and_captures_requests(
    api: httpx.Client, browser: httpx.Client
) -> None:
    sources_page = browser.get("/sources").text
    assert 'action="/sources/bins"' in sources_page
    name = unique("dash-bin")
    assert browser.post("/sources/bins", data={"name": name}).status_code == 403  # no CSRF
    bad = browser.post(
        "/sources/bins", data={"name": name, "keep": "0", "csrf_token": _csrf(sources_page)}
    )
    assert bad.status_code == 400
    assert "config.retention" in html.unescape(bad.text)

    made = browser.post(
        "/sources/bins", data={"name": name, "keep": "50", "csrf_token": _csrf(sources_page)}
    )
    assert made.status_code == 303, made.text
    location = made.headers["location"]
    source_id = location.split("/")[2].split("?")[0]
    created = api.get(f"/ingest/api/v1/source/{source_id}").json()
    assert (created["name"], created["hookgateType"]) == (name, "hookgate-bin")
    assert created["config"]["retention"] == {"count": 50}

    shown = browser.get(location).text
    match = re.search(r'<code class="bin-url">([^<]+)</code>', shown)
    assert match is not None
    assert html.unescape(match[1]) == created["ingestUrl"]
    assert httpx.put(created["ingestUrl"] + "/x?y=1", content=b"hello").status_code == 200
    # Later visits show the requests, not the token.
    again = browser.get(f"/sources/{source_id}").text
    assert "bin-url" not in again
    assert created["ingestUrl"].rsplit("/", 1)[1] not in again
    assert len(_row_ids(again)) == 1
