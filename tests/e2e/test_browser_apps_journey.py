"""An operator in Chromium opens an application from the list, sees which
endpoint is failing, disables it from the application page, reveals its
secret on the endpoint page and enables it again."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from svix.api import ApplicationIn, EndpointIn, MessageIn, Svix

from tests.e2e.browser import Screenshots, log_in
from tests.e2e.harness import Receiver, ServerProcess, unique


def test_operator_disables_a_failing_endpoint_and_reveals_its_secret(
    page: Page,
    server: ServerProcess,
    receiver: Receiver,
    svix_client: Svix,
    screenshots: Screenshots,
) -> None:
    name = unique("Shop")
    app = svix_client.application.create(ApplicationIn(name=name, uid=unique("app")))
    ok_path, bad_path = receiver.new_path("ok"), receiver.new_path("bad")
    receiver.script(bad_path, then=500)
    ok = svix_client.endpoint.create(
        app.id, EndpointIn(url=receiver.url(ok_path), description="Orders service")
    )
    bad = svix_client.endpoint.create(
        app.id, EndpointIn(url=receiver.url(bad_path), description="Legacy billing")
    )
    svix_client.message.create(app.id, MessageIn(event_type="order.paid", payload={"n": 1}))
    receiver.wait_for(bad_path, 4)

    log_in(page, server.url, server.token)
    page.goto(f"{server.url}/apps")
    page.get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(rf"/apps/{app.id}$"))
    bad_row = page.locator(f"#ep-{bad.id}")
    ok_row = page.locator(f"#ep-{ok.id}")
    expect(bad_row.locator("[data-state]")).to_have_text("failing")
    expect(ok_row.locator("[data-state]")).to_have_text("healthy")
    expect(bad_row.locator(".timeline span.bad")).to_have_count(4)
    screenshots.take(page, "app-with-a-failing-endpoint")

    bad_row.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_contain_text("The endpoint is disabled")
    expect(bad_row.locator("[data-state]")).to_have_text("disabled")
    expect(bad_row).to_contain_text("disabled by an operator")
    screenshots.take(page, "endpoint-disabled")
    assert svix_client.endpoint.get(app.id, bad.id).disabled

    bad_row.get_by_role("link", name=receiver.url(bad_path)).click()
    expect(page).to_have_url(re.compile(rf"/endpoints/{bad.id}$"))
    secret = svix_client.endpoint.get_secret(app.id, bad.id).key
    assert secret not in page.content()
    page.get_by_role("button", name="Reveal secret").click()
    expect(page.locator("#secret")).to_have_text(secret)
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status")).to_contain_text("The endpoint is enabled")
    expect(page.locator("#health [data-state]")).not_to_have_text("disabled")
    screenshots.take(page, "endpoint-enabled")
    assert not svix_client.endpoint.get(app.id, bad.id).disabled
