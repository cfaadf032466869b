"""In real Chromium, on a phone and a laptop: an organizer reviews held sign-ups, confirms a
pending one on the RSVP list, sees what waits on the turnout page and shared phones, and no
page scrolls sideways."""

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import assert_no_sideways_scroll, log_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", [{"width": 390, "height": 844}, {"width": 1280, "height": 800}])
def test_an_organizer_reviews_sign_ups_on_a_phone_and_a_laptop(page: Page, live_server, app, make_user, make_person,
                                                               make_action, size):
    from organizer.actions.models import HeldSignup, Rsvp, RsvpSource, RsvpStatus
    from organizer.extensions import db
    from organizer.people.models import DuplicateConflict

    organizer = make_user("organizer")
    action = make_action(title="Route 9 hearing")
    known = make_person(first_name="Guadalupe", last_name="Known", phone="+13125550142")
    shared = make_person(first_name="Leader's", last_name="Neighbor", phone="+13125550143", owner=make_user("leader"))
    with app.app_context():
        db.session.add_all([
            HeldSignup(action_id=action.id, first_name="Held", last_name="Visitor", phone="+13125550150",
                       email="a-rather-long-address-for-a-phone@example.org", sms_consent=True, address="203.0.113.9"),
            Rsvp(action_id=action.id, person_id=known.id, status=RsvpStatus.PENDING, source=RsvpSource.SIGNUP),
            DuplicateConflict(person_id=shared.id, other_person_id=known.id, matched_on="phone"),
        ])
        db.session.commit()
    page.set_viewport_size(size)
    log_in(page, live_server, organizer)

    page.goto(f"{live_server}/actions/{action.id}/turnout")
    expect(page.get_by_test_id("fig-pending")).to_have_text("1")
    assert_no_sideways_scroll(page)
    page.get_by_role("link", name="See them").click()
    expect(page.get_by_test_id("rsvp-table")).to_contain_text("Guadalupe Known")
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("The sign-up is confirmed")).to_be_visible()

    page.goto(f"{live_server}/actions/signups")
    expect(page.get_by_test_id("held-signups")).to_contain_text("Held Visitor")
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Accepted: Held Visitor is signed up.")).to_be_visible()
    expect(page.get_by_test_id("signup-people")).to_contain_text("Held Visitor")

    page.goto(f"{live_server}/people/conflicts")
    expect(page.get_by_test_id("conflicts")).to_contain_text("Guadalupe Known")
    assert_no_sideways_scroll(page)
