"""In real Chromium, with the Content-Security-Policy on: the main pages (every page without a
download, filled with a little of everything) load without one CSP violation or script error."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.support.browser import log_in
from tests.support.pages import page_urls

pytestmark = pytest.mark.browser


def test_main_pages_load_without_content_security_policy_violations(page: Page, app, live_server, rows):
    admin, ids = rows
    violations: list[str] = []
    # Chromium reports each blocked script, handler or style as "Refused to ... because it
    # violates the following Content Security Policy directive: ...".
    page.on("console", lambda msg: violations.append(f"{page.url}: {msg.text}")
            if "Content Security Policy" in msg.text or msg.text.startswith("Refused to") else None)
    page.on("pageerror", lambda error: violations.append(f"{page.url}: {error}"))

    log_in(page, live_server, admin)

    for url in page_urls(app, ids):
        response = page.goto(f"{live_server}{url}")
        assert response is not None and response.status == 200, url
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("load")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/")
    page.get_by_role("button", name="Menu").click()  # Bootstrap's collapse runs under the policy
    page.locator("#mainnav").get_by_role("link", name="People").wait_for(state="visible")
    assert not violations, "\n".join(violations)
