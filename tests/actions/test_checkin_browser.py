"""In real Chromium on a phone-sized window: search, one tap to check in, a walk-in; the counter goes up."""

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import assert_no_sideways_scroll, log_in

pytestmark = pytest.mark.browser


def test_door_volunteer_checks_in_a_person_and_a_walk_in_on_a_phone(
        page: Page, live_server, make_user, make_person, make_action, add_rsvp):
    staff = make_user()
    action = make_action(days=0, title="Route 9 hearing")
    add_rsvp(action, make_person(first_name="Dolores", last_name="Huerta", phone="+13125550142"), "yes")
    page.set_viewport_size({"width": 390, "height": 844})

    log_in(page, live_server, staff)

    page.goto(f"{live_server}/actions/{action.id}/checkin")
    counter = page.get_by_test_id("checkin-count")
    expect(counter).to_have_text("0")
    page.get_by_placeholder("Name or phone").fill("huerta")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_test_id("checkin-results")
    expect(results).to_contain_text("Dolores Huerta")
    expect(results).to_contain_text("RSVP: Yes")
    page.get_by_role("button", name="Check in Dolores Huerta").click()
    expect(counter).to_have_text("1")
    expect(results).to_contain_text("Here ✓")

    page.get_by_text("Walk-in", exact=True).click()
    page.get_by_label("First name").fill("Luis")
    page.get_by_label("Last name").fill("Flores")
    page.get_by_label("Mobile phone").fill("773 555 0199")
    page.get_by_role("button", name="Check in this walk-in").click()
    expect(page.get_by_text("Welcome, Luis Flores! Checked in.")).to_be_visible()
    expect(counter).to_have_text("2")
    # The page fits the phone: no sideways scrolling.
    assert_no_sideways_scroll(page)
