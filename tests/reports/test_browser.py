"""In real Chromium, on a phone and on a laptop: the equity dashboard draws its charts, each beside its table."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import assert_no_sideways_scroll, log_in, open_phone_menu

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", [(390, 844), (1280, 800)])
def test_the_dashboard_draws_every_chart_beside_its_table(page: Page, live_server, make_user, make_person, size):
    organizer = make_user("organizer")
    for i in range(8):
        make_person(first_name=f"Vecina{i}", preferred_language="es")
    page.set_viewport_size({"width": size[0], "height": size[1]})
    # log_in waits for the home page: a "Menu" clicked while the login page is still up opens
    # that page's menu, and the home page then arrives with its own closed.
    log_in(page, live_server, organizer)
    if size[0] < 992:
        open_phone_menu(page)
    reports = page.get_by_role("button", name="Reports").or_(page.get_by_role("link", name="Reports")).first
    reports.click()
    equity = page.get_by_role("link", name="Equity dashboard")
    if not equity.is_visible():
        reports.click()
    equity.click()
    expect(page.get_by_role("heading", name="Equity dashboard")).to_be_visible()
    expect(page.get_by_test_id("suppression-rule")).to_contain_text("Small numbers are hidden.")

    page.get_by_label("Split by").select_option("language")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("table-reach").locator('tr[data-group="Spanish"] td[data-measure="base"]')).to_have_text("8")

    canvases = page.locator("canvas[data-chart]")
    expect(canvases).to_have_count(6)  # four sections, representation, trend
    # charts.js draws after the canvases are in the page: wait for it rather than race it.
    page.wait_for_function("() => window.Chart && [...document.querySelectorAll('canvas[data-chart]')]"
                           ".every(c => Chart.getChart(c))")
    drawn = page.evaluate("() => [...document.querySelectorAll('canvas[data-chart]')].map(c => !!Chart.getChart(c))")
    assert drawn == [True] * 6
    for section in ("reach", "leadership", "turnout", "texting", "representation", "trend"):
        block = page.locator(f'section[data-section="{section}"]')
        expect(block.locator("table")).to_be_visible()
        box = block.locator("canvas").bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, section
    # Nothing wider than the screen but the scrolling tables themselves.
    assert_no_sideways_scroll(page)
