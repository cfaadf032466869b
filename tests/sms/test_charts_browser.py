"""In real Chromium, on a phone and a desktop, as staff and as a leader: the texting charts
draw (a canvas Chart.js took over) beside their tables, and nothing makes the page scroll sideways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from organizer.db import utcnow
from organizer.sms.models import MobilizationKind, OutboxStatus
from tests.sms.test_charts import _mobilization, _phones, _reply
from tests.support.browser import assert_no_sideways_scroll, log_in, wait_for_chart

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("org")]

SIZES = [{"width": 390, "height": 844}, {"width": 1280, "height": 800}]


def _drawn(page: Page, testid: str) -> None:
    canvas = page.get_by_test_id(testid)
    expect(canvas).to_be_visible()
    # Chart.js sizes the canvas it draws on; an undrawn canvas keeps the 300x150 default.
    wait_for_chart(page, canvas)
    assert canvas.bounding_box()["height"] > 100


def _no_sideways_scroll(page: Page) -> None:
    assert_no_sideways_scroll(page)


@pytest.mark.parametrize("size", SIZES, ids=["phone", "desktop"])
@pytest.mark.parametrize("role", ["organizer", "leader"])
def test_texting_charts_draw_beside_their_tables(page: Page, app, live_server, make_user, size, role):
    user = make_user(role)
    launched = utcnow() - timedelta(hours=5)
    texts = [(OutboxStatus.DELIVERED if i % 4 else OutboxStatus.FAILED, launched + timedelta(minutes=11 * i),
              launched + timedelta(minutes=11 * i + 1)) for i in range(12)]
    m_id = _mobilization(app, user, launched, texts,
                         kind=MobilizationKind.P2P if role == "leader" else MobilizationKind.BROADCAST)
    for i, phone in enumerate(_phones(app, m_id)[:4]):
        _reply(app, phone, launched + timedelta(minutes=30 + 25 * i), "STOP" if i == 3 else "Yes!",
               outcome="opted_out" if i == 3 else None)

    page.set_viewport_size(size)
    log_in(page, live_server, user)
    page.goto(f"{live_server}/sms/{m_id}")
    for chart in ("timeline-chart", "by-hour-chart"):
        _drawn(page, chart)
    expect(page.get_by_test_id("timeline-table").locator('[data-total="sent"]')).to_have_text(
        page.locator('[data-count="sent"]').inner_text())
    expect(page.get_by_test_id("by-hour-table")).to_be_visible()
    _no_sideways_scroll(page)

    page.goto(f"{live_server}/sms/")
    _drawn(page, "monthly-chart")
    expect(page.get_by_test_id("monthly-table").locator("tbody tr")).to_have_count(12)
    _no_sideways_scroll(page)
