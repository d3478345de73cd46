"""A source's page in real Chromium: with the page open, a request sent to
the source's ``/in`` URL appears at the top of the list without a reload;
opening it shows the exact body; Replay forwards it again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from svix.api import Svix

from tests.e2e.browser import Screenshots, log_in
from tests.e2e.harness import Receiver, ServerProcess
from tests.e2e.test_inbound_forwarding import BODY, destination, github_headers, github_source, post

pytestmark = pytest.mark.slow


def test_a_new_request_appears_live_and_can_be_replayed(
    page: Page,
    server: ServerProcess,
    svix_client: Svix,
    receiver: Receiver,
    screenshots: Screenshots,
) -> None:
    source = github_source(svix_client)
    path = receiver.new_path("live")
    destination(svix_client, source.id, receiver.url(path))
    log_in(page, server.url, server.token)

    page.get_by_role("link", name="Inbound sources").click()
    expect(page.get_by_role("heading", name="Inbound sources")).to_be_visible()
    screenshots.take(page, "sources-list")
    page.get_by_role("link", name=source.name).first.click()
    expect(page).to_have_url(f"{server.url}/sources/{source.id}")
    rows = page.locator("#requests tr:not(.empty)")
    expect(rows).to_have_count(0)
    expect(page.get_by_text("No requests yet.")).to_be_visible()
    screenshots.take(page, "empty-source")

    bad = github_headers(BODY, signature="sha256=" + "0" * 64)
    assert post(source.ingest_url, BODY, bad).status_code == 401
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("rejected")
    expect(rows.first).to_contain_text(re.compile("signature", re.IGNORECASE))
    expect(page.get_by_text("No requests yet.")).to_be_hidden()

    assert post(source.ingest_url, BODY, github_headers(BODY)).status_code == 200
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("accepted")
    expect(rows.nth(1)).to_contain_text("rejected")
    screenshots.take(page, "rows-arrived-live")
    receiver.wait_for(path, 1)

    expect(rows.first.get_by_role("link", name="forwarded")).to_be_visible()
    rows.first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^Request inreq_"))).to_be_visible()
    expect(page.locator("pre.body").first).to_contain_text('"title": "naïve ✓"')
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_contain_text("Replayed: forwarded again as message")
    screenshots.take(page, "replayed")
    _, again = receiver.wait_for(path, 2)
    assert again.body == BODY
