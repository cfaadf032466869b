"""In real Chromium on a phone: a person's institutions are read whole, their role and buttons
below them when there is no room beside."""

import pytest
from playwright.sync_api import Page, expect

from organizer.extensions import db
from tests.support.browser import assert_no_sideways_scroll, log_in

pytestmark = pytest.mark.browser


def test_on_a_phone_a_membership_names_its_institution_on_one_line(
        page: Page, live_server, app, make_user, make_person, make_institution):
    from organizer.institutions.models import Membership

    school, person = make_institution(name="Benito Juárez High School PTA"), make_person()
    with app.app_context():
        db.session.add(Membership(person_id=person.id, institution_id=school.id))
        db.session.commit()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, make_user("organizer"))
    page.goto(f"{live_server}/people/{person.id}")
    name = page.get_by_role("link", name="Benito Juárez High School PTA")
    expect(name).to_be_visible()
    box = name.bounding_box()
    # One line (44 px is the phone's tap height for a link), not a word a line beside the
    # role's select and its buttons.
    assert box and box["height"] <= 44 and box["width"] > 150, box
    save = page.locator("form").filter(has=page.locator('input[name="institution_id"]')).get_by_role("button")
    assert save.first.bounding_box()["x"] + save.first.bounding_box()["width"] <= 390
    assert_no_sideways_scroll(page)
