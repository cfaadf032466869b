"""In real Chromium: the printable sign-in sheet, in Spanish with a long name on the list, scrolls
its table within itself on a phone (the page does not scroll sideways), and on paper shows the
whole table."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import assert_no_sideways_scroll, log_in

pytestmark = pytest.mark.browser


def test_the_sign_in_sheet_fits_a_phone_and_prints_whole(page: Page, live_server, make_user, make_person,
                                                          make_action, add_rsvp):
    action = make_action(days=1, title="Audiencia de la Ruta 9")
    add_rsvp(action, make_person(first_name="Guadalupe", last_name="Hernández-Villaseñor de la Fuente",
                                 phone="+13125550142"), "yes")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, make_user("organizer", locale="es"))
    page.goto(f"{live_server}/actions/{action.id}/sign-in-sheet")
    expect(page.get_by_role("cell", name="Guadalupe Hernández-Villaseñor de la Fuente")).to_be_visible()
    assert_no_sideways_scroll(page)

    page.emulate_media(media="print")
    wrapper = page.locator(".sign-in-sheet .table-responsive")
    assert wrapper.evaluate("(el) => getComputedStyle(el).overflowX") == "visible"
