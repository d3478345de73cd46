"""The operator's journey in Chromium: a webhook fails, the operator finds
the message through the search page, reads why it failed, fixes the
receiver, resends, and watches the attempt turn green without reloading."""

from __future__ import annotations

import re
import threading

import httpx
from playwright.sync_api import Page, expect
from svix.api import EndpointIn, MessageIn, Svix

from tests.e2e.browser import Screenshots, log_in
from tests.e2e.harness import Receiver, Reply, ServerProcess, unique, wait_until


def _delivery_status(api: httpx.Client, app_id: str, msg_id: str) -> int | None:
    data = api.get(f"/api/v1/app/{app_id}/msg/{msg_id}/endpoint").json()["data"]
    return data[0]["status"] if data else None


def test_operator_finds_a_failed_message_resends_it_and_watches_it_succeed(
    page: Page,
    server: ServerProcess,
    receiver: Receiver,
    svix_client: Svix,
    app_id: str,
    api: httpx.Client,
    screenshots: Screenshots,
) -> None:
    path = receiver.new_path("orders")
    receiver.script(path, then=Reply(500, body=b'{"error": "orders database unavailable"}'))
    endpoint = svix_client.endpoint.create(
        app_id, EndpointIn(url=receiver.url(path), description="Order service")
    )
    event_type = unique("order.paid").replace("-", "_")
    msg = svix_client.message.create(
        app_id, MessageIn(event_type=event_type, payload={"order": 4711, "total": "99.50"})
    )
    wait_until(
        lambda: _delivery_status(api, app_id, msg.id) == 2,
        timeout=20,
        message="the message's attempts to be exhausted",
    )
    assert len(receiver.requests(path)) == 4

    log_in(page, server.url, server.token)
    page.goto(f"{server.url}/apps/{app_id}")
    page.get_by_role("link", name="Messages of this application").click()
    expect(page).to_have_url(re.compile(rf"/apps/{app_id}/msg$"))
    page.get_by_label("Event types").fill(event_type)
    page.get_by_label("Outcome").select_option("failed")
    page.get_by_role("button", name="Search").click()
    link = page.get_by_role("link", name=msg.id)
    expect(link).to_be_visible()
    expect(page).to_have_url(re.compile(r"outcome=failed"))
    expect(page.locator("#results")).to_contain_text("1 failed")
    screenshots.take(page, "search-failed")

    link.click()
    expect(page).to_have_url(re.compile(rf"/msg/{msg.id}$"))
    destination = page.locator(f"#dest-{endpoint.id}")
    expect(destination.locator("h3 .badge")).to_have_text("failed")
    newest = destination.locator(".attempt").first
    expect(newest.locator(".status-code")).to_have_text("500")
    expect(newest.locator(".response-body")).to_contain_text("orders database unavailable")
    expect(newest.locator(".explanation")).to_contain_text("answered 500")
    expect(destination.locator(".attempt")).to_have_count(4)
    expect(page.locator("pre.payload")).to_contain_text('"order": 4711')
    screenshots.take(page, "failed-message")

    # The receiver is fixed; its first answer waits until we have seen the
    # page show the delivery pending, so the change to green is seen live.
    answer = threading.Event()
    receiver.script(path, Reply(200, body=b'{"ok": true}', hold=answer), then=200)
    try:
        destination.get_by_role("button", name="Resend to this endpoint").click()
        expect(page.get_by_role("status")).to_contain_text("Queued again")
        expect(page.locator(f"#dest-{endpoint.id} h3 .badge")).to_have_text(
            re.compile("pending|sending")
        )
        expect(page.locator("#attempts[data-live]")).to_have_count(1)
        screenshots.take(page, "resent-pending")
    finally:
        answer.set()
    fixed = page.locator(f"#dest-{endpoint.id}")
    expect(fixed.locator("h3 .badge")).to_have_text("success")
    green = fixed.locator(".attempt").first
    expect(green.locator(".badge.success")).to_be_visible()
    expect(green.locator(".explanation")).to_contain_text("answered 200")
    expect(green).to_contain_text("resent")
    expect(fixed.locator(".attempt")).to_have_count(5)
    expect(page.locator("#attempts[data-live]")).to_have_count(0)  # polling stopped
    screenshots.take(page, "resent-succeeded")
