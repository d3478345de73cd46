"""The consumer's journey in Chromium: open the portal link the official SDK
made, add an endpoint through the portal, receive a message there and see
its successful attempt; a read-only link shows nothing that changes things."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from svix.api import (
    ApplicationTokenExpireIn,
    AppPortalAccessIn,
    EndpointIn,
    EventTypeIn,
    MessageIn,
    Svix,
)

from tests.e2e.browser import Screenshots
from tests.e2e.harness import Receiver, ServerProcess, unique


def test_a_customer_opens_the_portal_adds_an_endpoint_and_sees_the_delivery(
    page: Page,
    server: ServerProcess,
    receiver: Receiver,
    svix_client: Svix,
    app_id: str,
    screenshots: Screenshots,
) -> None:
    event_type = unique("invoice.paid").replace("-", "_")
    description = f"An invoice was paid ({event_type})"
    svix_client.event_type.create(
        EventTypeIn(
            name=event_type,
            description=description,
            schemas={"1": {"type": "object", "examples": [{"invoice": "in_1", "amount": 4200}]}},
        )
    )
    link = svix_client.authentication.app_portal_access(app_id, AppPortalAccessIn())

    page.goto(link.url)
    expect(page.get_by_role("heading", name="Endpoints")).to_be_visible()
    assert link.token not in page.url
    assert "#" not in page.url
    expect(page).to_have_url(f"{server.url}/portal/{app_id}")
    assert link.token not in page.content()
    screenshots.take(page, "portal-home")

    page.get_by_role("link", name="Add endpoint").click()
    path = receiver.new_path("customer")
    page.get_by_label("Endpoint URL").fill(receiver.url(path))
    page.get_by_label("Description").fill("Our billing service")
    expect(page.get_by_text(description)).to_be_visible()
    page.get_by_label(event_type).check()
    screenshots.take(page, "add-endpoint")
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.get_by_role("status")).to_contain_text("The endpoint was created.")
    expect(page.get_by_role("heading", name=receiver.url(path))).to_be_visible()
    (endpoint,) = svix_client.endpoint.list(app_id).data
    assert endpoint.event_types == [event_type]

    page.get_by_role("button", name="Reveal secret").click()
    secret = svix_client.endpoint.get_secret(app_id, endpoint.id).key
    expect(page.locator("#endpoint-secret")).to_have_text(secret)
    screenshots.take(page, "endpoint")

    msg = svix_client.message.create(
        app_id, MessageIn(event_type=event_type, payload={"invoice": "in_1", "amount": 4200})
    )
    receiver.wait_for(path, 1)
    page.get_by_role("link", name="Messages").click()
    page.get_by_role("link", name=msg.id).click()
    expect(page).to_have_url(re.compile(rf"/portal/{app_id}/messages/{msg.id}$"))
    destination = page.locator(f"#dest-{endpoint.id}")
    expect(destination.locator("h3 .badge")).to_have_text("success")
    expect(destination.locator(".attempt").first.locator(".explanation")).to_contain_text(
        "answered 200"
    )
    expect(page.locator("pre").first).to_contain_text('"invoice": "in_1"')
    screenshots.take(page, "delivered")


def test_a_read_only_link_shows_no_buttons_that_change_anything(
    page: Page,
    server: ServerProcess,
    receiver: Receiver,
    svix_client: Svix,
    app_id: str,
    screenshots: Screenshots,
) -> None:
    endpoint = svix_client.endpoint.create(
        app_id, EndpointIn(url=receiver.url(receiver.new_path("ro")), description="watched")
    )
    full = svix_client.authentication.app_portal_access(app_id, AppPortalAccessIn())
    page.goto(full.url)
    expect(page.get_by_role("link", name="Add endpoint")).to_be_visible()
    # A new link opened in the same browser replaces the session it had.
    link = svix_client.authentication.app_portal_access(app_id, AppPortalAccessIn(read_only=True))
    page.goto(link.url)
    expect(page.get_by_text("Read only")).to_be_visible()
    expect(page).to_have_url(f"{server.url}/portal/{app_id}")
    expect(page.get_by_role("link", name=endpoint.url)).to_be_visible()
    expect(page.get_by_role("link", name="Add endpoint")).to_have_count(0)
    screenshots.take(page, "read-only-home")
    page.get_by_role("link", name=endpoint.url).click()
    expect(page.get_by_role("heading", name=endpoint.url)).to_be_visible()
    for name in ("Edit endpoint", "Delete endpoint", "Rotate secret", "Recover"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_role("link", name="Edit endpoint")).to_have_count(0)
    screenshots.take(page, "read-only-endpoint")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Logged out")).to_be_visible()
    page.goto(f"{server.url}/portal/{app_id}/messages")
    expect(page.get_by_role("alert")).to_contain_text("expired or is invalid")


def test_an_expired_link_says_so(
    page: Page, server: ServerProcess, svix_client: Svix, app_id: str, screenshots: Screenshots
) -> None:
    link = svix_client.authentication.app_portal_access(app_id, AppPortalAccessIn())
    svix_client.authentication.expire_all(app_id, ApplicationTokenExpireIn())
    page.goto(link.url)
    expect(page.get_by_role("alert")).to_have_text(
        "This portal link has expired or is invalid; ask for a new one."
    )
    assert link.token not in page.url
    screenshots.take(page, "expired-link")
