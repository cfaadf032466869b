"""In real Chromium on a phone: from the turnout page of last night's action, "Text the
no-shows" lands on an editable draft that counts the no-shows who can be texted."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import assert_no_sideways_scroll, log_in

pytestmark = pytest.mark.browser


def test_text_the_no_shows_from_the_turnout_page_on_a_phone(page: Page, live_server, app, make_user, make_person,
                                                           make_action, add_rsvp):
    organizer = make_user("organizer")
    action = make_action(days=-1, title="Route 9 hearing")
    for n in range(2):
        add_rsvp(action, make_person(phone=f"+1312555016{n}"), "yes")
    add_rsvp(action, make_person(), "yes")  # no phone: on the list, not texted
    add_rsvp(action, make_person(phone="+13125550169"), "yes", came=True)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, organizer)

    page.goto(f"{live_server}/actions/{action.id}/turnout")
    expect(page.get_by_test_id("no-shows").locator("li")).to_have_count(3)
    page.get_by_role("button", name="Text the no-shows").click()

    expect(page).to_have_url(re.compile(r"/sms/\d+/edit$"))
    body = page.get_by_label("Text", exact=True)
    expect(body).to_have_value("Hi {first_name}, we missed you at Route 9 hearing. We hope everything is OK! "
                               "What got in the way? We would love to see you next time.")
    expect(page.get_by_test_id("turnout-audience")).to_contain_text("Said yes to Route 9 hearing")
    expect(page.locator('[data-preview="recipients"]')).to_have_text("2")
    body.fill("Hi {first_name}, we missed you at the hearing. Call us?")
    expect(page.locator('[data-preview="sample"]')).to_contain_text("we missed you at the hearing")
    expect(page.locator('[data-preview="recipients"]')).to_have_text("2")
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name="Save and review").click()
    expect(page.get_by_test_id("recipient-count")).to_have_text("2")


def test_on_a_phone_in_spanish_the_reminder_schedule_shows_every_column(
        page: Page, live_server, app, make_user, make_person, make_action, add_rsvp):
    """Before a Spanish speaker's action, the turnout page says when each reminder goes out and
    to how many, every column on the phone's screen ("Destinatarios" was pushed off it on the
    demo's action, by a long time in a table sized for a laptop)."""
    app.config["SMS_REMINDER_OFFSETS"] = "24h,2h"
    organizer = make_user("organizer", locale="es")
    action = make_action(days=3, title="Audiencia de la ruta 9")
    add_rsvp(action, make_person(phone="+13125550160"), "yes")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, organizer)
    page.goto(f"{live_server}/actions/{action.id}/turnout")
    schedule = page.get_by_test_id("reminder-schedule")
    expect(schedule).to_contain_text("Destinatarios")
    for cell in schedule.locator("td.recipients").all():
        expect(cell).to_have_text("1")
        box = cell.bounding_box()
        assert box and box["x"] + box["width"] <= 390, box
    assert_no_sideways_scroll(page)
