"""The message pages over plain HTTP: search filters and paging, the message
page (payload, attempts, explanations), Resend with CSRF, the live attempts
part, and 404 pages for unknown ids."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pytest
from svix.api import EndpointIn, MessageIn, Svix

from tests.e2e.harness import Receiver, Reply, ServerProcess, unique, wait_until

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_MSG_ROW = re.compile(r'<tr data-msg="([^"]+)"')


@dataclass
class Operator:
    client: httpx.Client
    csrf: str


@pytest.fixture
def operator(server: ServerProcess) -> Iterator[Operator]:
    """An HTTP client logged in to the dashboard, and its CSRF token."""
    with httpx.Client(base_url=server.url) as client:
        form = client.get("/login")
        login_csrf = _CSRF.search(form.text)
        assert login_csrf
        answer = client.post(
            "/login", data={"token": server.token, "csrf_token": login_csrf.group(1)}
        )
        assert answer.status_code == 303
        overview = client.get("/")
        csrf = _CSRF.search(overview.text)
        assert csrf
        yield Operator(client, csrf.group(1))


def _failed_then(api: httpx.Client, app_id: str, msg_id: str, status: int) -> None:
    def settled() -> bool | None:
        page = api.get(f"/api/v1/app/{app_id}/msg/{msg_id}/endpoint").json()
        return (all(d["status"] == status for d in page["data"]) and bool(page["data"])) or None

    wait_until(
        settled,
        timeout=20,
        message=lambda: (
            f"{msg_id} with status {status}: "
            + api.get(f"/api/v1/app/{app_id}/msg/{msg_id}/endpoint").text
        ),
    )


def _found(op: Operator, app_id: str, **params: str) -> list[str]:
    answer = op.client.get(f"/apps/{app_id}/msg", params=params)
    assert answer.status_code == 200, answer.text
    return _MSG_ROW.findall(answer.text)


@dataclass
class Sent:
    failing: str
    passing: str
    failing_path: str
    passing_path: str
    event_id: str


@pytest.fixture
def sent(svix_client: Svix, receiver: Receiver, app_id: str, api: httpx.Client) -> Sent:
    """Two messages: one to an endpoint that always answers 500 (failed
    after its retries), one to an endpoint that answers 200."""
    failing_path, passing_path = receiver.new_path("fails"), receiver.new_path("passes")
    receiver.script(
        failing_path,
        then=Reply(500, body=b'{"error": "database is down"}', headers={"X-Orders-Trace": "tr-7"}),
    )
    svix_client.endpoint.create(
        app_id, EndpointIn(url=receiver.url(failing_path), event_types=["order.failed"])
    )
    svix_client.endpoint.create(
        app_id, EndpointIn(url=receiver.url(passing_path), event_types=["order.ok"])
    )
    event_id = unique("evt")
    failing = svix_client.message.create(
        app_id,
        MessageIn(
            event_type="order.failed",
            payload={"order": 1, "note": "first"},
            channels=["eu"],
            tags=["vip"],
        ),
    )
    passing = svix_client.message.create(
        app_id,
        MessageIn(event_type="order.ok", payload={"order": 2}, channels=["us"], event_id=event_id),
    )
    _failed_then(api, app_id, failing.id, 2)
    _failed_then(api, app_id, passing.id, 0)
    return Sent(failing.id, passing.id, failing_path, passing_path, event_id)


def test_search_filters(operator: Operator, app_id: str, sent: Sent) -> None:
    both = {sent.failing, sent.passing}
    assert set(_found(operator, app_id)) == both
    assert _found(operator, app_id, event_type="order.failed") == [sent.failing]
    assert set(_found(operator, app_id, event_type="order.failed, order.ok")) == both
    assert _found(operator, app_id, outcome="failed") == [sent.failing]
    assert _found(operator, app_id, outcome="success") == [sent.passing]
    assert _found(operator, app_id, outcome="pending") == []
    assert _found(operator, app_id, channel="eu") == [sent.failing]
    assert _found(operator, app_id, tag="vip") == [sent.failing]
    assert _found(operator, app_id, q=sent.event_id) == [sent.passing]
    assert _found(operator, app_id, q=sent.failing) == [sent.failing]
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert _found(operator, app_id, after=future) == []
    assert set(_found(operator, app_id, after=past, before=future)) == both
    assert _found(operator, app_id, before=past) == []


def test_search_shows_delivery_outcomes(operator: Operator, app_id: str, sent: Sent) -> None:
    text = operator.client.get(f"/apps/{app_id}/msg", params={"q": sent.failing}).text
    assert "1 failed" in text
    assert "order.failed" in text


def test_bad_filters_give_the_page_with_a_message(operator: Operator, app_id: str) -> None:
    for params, words in [
        ({"outcome": "exploded"}, "no outcome"),
        ({"after": "yesterday"}, "not a date and time"),
        ({"after": "2026-01-02T00:00", "before": "2026-01-01T00:00"}, "must be earlier"),
        ({"tag": "x" * 300}, "too long"),
        ({"q": "a\x00b"}, "NUL"),
    ]:
        answer = operator.client.get(f"/apps/{app_id}/msg", params=params)
        assert answer.status_code == 400
        assert answer.headers["content-type"].startswith("text/html")
        assert words in unescape(answer.text)


def test_search_pages_through_many_messages(
    operator: Operator, svix_client: Svix, app_id: str
) -> None:
    ids = [
        svix_client.message.create(app_id, MessageIn(event_type="bulk", payload={"n": n})).id
        for n in range(55)
    ]
    first = operator.client.get(f"/apps/{app_id}/msg", params={"event_type": "bulk"})
    on_first = _MSG_ROW.findall(first.text)
    assert len(on_first) == 50
    older = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert older
    second = operator.client.get(unescape(older.group(1)))
    on_second = _MSG_ROW.findall(second.text)
    assert len(on_second) == 5
    assert set(on_first) | set(on_second) == set(ids)
    assert 'rel="next"' not in second.text
    newer = re.search(r'<a href="([^"]+)" rel="prev">', second.text)
    assert newer
    assert _MSG_ROW.findall(operator.client.get(unescape(newer.group(1))).text) == on_first


def test_message_page_shows_payload_attempts_and_explanations(
    operator: Operator, app_id: str, sent: Sent
) -> None:
    answer = operator.client.get(f"/apps/{app_id}/msg/{sent.failing}")
    assert answer.status_code == 200
    text = unescape(answer.text)
    assert "order.failed" in text
    assert '"note": "first"' in text
    assert "vip" in text
    assert "eu" in text
    assert text.count('class="attempt"') == 4
    assert "The endpoint answered 500 after" in text
    assert '"error": "database is down"' in text
    assert "X-Orders-Trace: tr-7" in text
    assert 'data-status="failed"' in text
    assert "every 1s" not in text  # nothing pending: no polling

    by_event_id = operator.client.get(f"/apps/{app_id}/msg/{sent.event_id}")
    assert by_event_id.status_code == 200
    assert sent.passing in by_event_id.text
    assert "The endpoint answered 200 in" in by_event_id.text


def test_resend_needs_the_csrf_token(
    operator: Operator, app_id: str, sent: Sent, receiver: Receiver, api: httpx.Client
) -> None:
    endpoint_id = api.get(f"/api/v1/app/{app_id}/msg/{sent.failing}/endpoint").json()["data"][0][
        "id"
    ]
    url = f"/apps/{app_id}/msg/{sent.failing}/endpoint/{endpoint_id}/resend"
    assert operator.client.post(url).status_code == 403
    assert operator.client.post(url, data={"csrf_token": "0" * 64}).status_code == 403
    assert len(receiver.requests(sent.failing_path)) == 4

    receiver.script(sent.failing_path, then=200)
    answer = operator.client.post(url, data={"csrf_token": operator.csrf})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/apps/{app_id}/msg/{sent.failing}?resent={endpoint_id}"
    receiver.wait_for(sent.failing_path, 5)
    _failed_then(api, app_id, sent.failing, 0)
    page = operator.client.get(answer.headers["location"]).text
    assert f"Queued again for {receiver.url(sent.failing_path)}" in page
    assert "The endpoint answered 200 in" in page
    assert ">resent<" in page


def test_attempts_part_polls_while_a_delivery_is_pending(
    operator: Operator, app_id: str, sent: Sent, receiver: Receiver, api: httpx.Client
) -> None:
    endpoint_id = api.get(f"/api/v1/app/{app_id}/msg/{sent.failing}/endpoint").json()["data"][0][
        "id"
    ]
    release = threading.Event()
    receiver.script(sent.failing_path, Reply(200, hold=release), then=200)
    try:
        operator.client.post(
            f"/apps/{app_id}/msg/{sent.failing}/endpoint/{endpoint_id}/resend",
            data={"csrf_token": operator.csrf},
        )
        receiver.wait_for(sent.failing_path, 5)
        part = f"/apps/{app_id}/msg/{sent.failing}/attempts"
        pending = operator.client.get(part, headers={"HX-Request": "true"}).text
        assert 'hx-trigger="every 1s"' in pending
        assert 'data-status="pending"' in pending or 'data-status="sending"' in pending
    finally:
        release.set()
    done = wait_until(
        lambda: text if "every 1s" not in (text := operator.client.get(part).text) else None,
        timeout=20,
        message="the attempts part to stop polling",
    )
    assert "The endpoint answered 200 in" in done
    assert "<html" not in done  # the part alone, for htmx to swap in


def test_unknown_ids_give_404_pages(
    operator: Operator, app_id: str, sent: Sent, svix_client: Svix
) -> None:
    for path in [
        "/apps/app_nope/msg",
        "/apps/app_nope/msg/msg_nope",
        f"/apps/{app_id}/msg/msg_nope",
        f"/apps/{app_id}/msg/msg_nope/attempts",
        f"/apps/{app_id}/msg/msg%00nope",
        "/apps/app%00nope/msg",
    ]:
        answer = operator.client.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html")
    resend = operator.client.post(
        f"/apps/{app_id}/msg/{sent.failing}/endpoint/ep_nope/resend",
        data={"csrf_token": operator.csrf},
    )
    assert resend.status_code == 404
    assert "Endpoint not found" in resend.text
    nul = operator.client.post(
        f"/apps/{app_id}/msg/{sent.failing}/endpoint/ep%00nope/resend",
        data={"csrf_token": operator.csrf},
    )
    assert nul.status_code == 404
    garbage_cursor = operator.client.get(f"/apps/{app_id}/msg", params={"iterator": "x\x00'"})
    assert garbage_cursor.status_code == 200


def test_message_pages_need_a_login(server: ServerProcess, app_id: str) -> None:
    with httpx.Client(base_url=server.url) as client:
        answer = client.get(f"/apps/{app_id}/msg")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")


def test_a_message_without_content_cannot_be_resent(
    operator: Operator, app_id: str, sent: Sent, api: httpx.Client
) -> None:
    assert api.delete(f"/api/v1/app/{app_id}/msg/{sent.failing}/content").status_code == 204
    endpoint_id = api.get(f"/api/v1/app/{app_id}/msg/{sent.failing}/endpoint").json()["data"][0][
        "id"
    ]
    page = operator.client.get(f"/apps/{app_id}/msg/{sent.failing}")
    assert "The payload was removed" in page.text
    answer = operator.client.post(
        f"/apps/{app_id}/msg/{sent.failing}/endpoint/{endpoint_id}/resend",
        data={"csrf_token": operator.csrf},
    )
    assert answer.status_code == 409
    assert "cannot be sent again" in answer.text
