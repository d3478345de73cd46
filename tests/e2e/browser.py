"""Real headless Chromium for the browser journeys: Debian's ``chromium``
driven by Playwright (``executable_path``; Playwright never downloads a
browser here). ``scripts/test.sh`` installs the package when it is missing.

Each journey saves screenshots under ``artifacts/browser/<test name>/``
(``HOOKGATE_TEST_ARTIFACTS`` moves the root), kept after the run.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from playwright.sync_api import Page

#: Where Debian installs Chromium.
CHROMIUM = (
    os.environ.get("HOOKGATE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)

ARTIFACTS = (
    Path(
        os.environ.get("HOOKGATE_TEST_ARTIFACTS")
        or Path(__file__).resolve().parents[2] / "artifacts"
    )
    / "browser"
)

#: Playwright waits at most this long for anything (ms).
TIMEOUT_MS = 15_000


class Screenshots:
    """Numbered screenshots of one journey in its own directory."""

    def __init__(self, test_name: str) -> None:
        self.directory = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._count = 0

    def take(self, page: Page, name: str) -> Path:
        self._count += 1
        path = self.directory / f"{self._count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def log_in(page: Page, base_url: str, token: str) -> None:
    """Log in to the dashboard through its login form."""
    page.goto(f"{base_url}/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")
