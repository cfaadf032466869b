"""In real Chromium, on a phone and on a laptop: the equity dashboard draws its charts, each beside its table."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import assert_no_sideways_scroll, log_in, open_phone_menu, wait_for_chart

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


def test_on_a_phone_each_group_is_read_beside_its_numbers(page: Page, live_server, make_user, make_person):
    """The race/ethnicity tables are wider than a phone: the group names stay put and wrap, so
    a row's first number is on the screen beside its name (the names, each a screen wide, used
    to push every number out of sight); the charts' names wrap onto two lines instead of being
    cut at the screen's edge, every group named."""
    organizer = make_user("organizer")
    for _ in range(6):
        make_person()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, organizer)
    page.goto(f"{live_server}/reports/equity")
    row = page.get_by_test_id("table-reach").locator('tr[data-group="American Indian or Alaska Native"]')
    name, base = row.locator("th").bounding_box(), row.locator('td[data-measure="base"]').bounding_box()
    assert name and base
    assert base["x"] >= name["x"] + name["width"] - 1 and base["x"] + base["width"] <= 390, (name, base)
    assert name["height"] > base["height"] / 2  # the name wraps rather than widening the column

    canvas = page.locator('section[data-section="reach"] canvas')
    wait_for_chart(page, canvas)
    labels = page.evaluate("""(el) => {
        const chart = Chart.getChart(el), scale = chart.scales.y, ctx = chart.ctx;
        ctx.font = Chart.helpers.toFont(scale.options.ticks.font).string;
        return {groups: chart.data.labels.length, scaleWidth: scale.width, canvasWidth: chart.width,
                ticks: scale.ticks.map(t => [].concat(t.label)).map(lines => ({
                    lines, widest: Math.max(...lines.map(line => ctx.measureText(line).width))}))};
    }""", canvas.element_handle())
    assert len(labels["ticks"]) == labels["groups"]  # no name skipped
    assert labels["scaleWidth"] < labels["canvasWidth"] / 2  # the bars keep half the chart
    for tick in labels["ticks"]:
        assert 1 <= len(tick["lines"]) <= 2 and tick["widest"] <= labels["scaleWidth"], tick
    long_name = next(t["lines"] for t in labels["ticks"] if t["lines"][0].startswith("American"))
    assert long_name == ["American Indian or", "Alaska Native"]
    assert_no_sideways_scroll(page)


def test_on_a_phone_every_data_quality_link_is_on_the_screen(page: Page, live_server, make_user, make_person):
    """"Compare and merge" and "Review and clear flags" used to sit beside "See the people" on
    one line that would not wrap, past the phone's edge."""
    make_person(phone=None)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, make_user("organizer"))
    page.goto(f"{live_server}/reports/data-quality")
    links = page.get_by_test_id("data-quality").locator("a")
    assert links.count() >= 10
    for link in links.all():
        box = link.bounding_box()
        assert box and box["x"] + box["width"] <= 390, (link.inner_text(), box)
    assert_no_sideways_scroll(page)
