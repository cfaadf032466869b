"""In real Chromium on a phone: the live preview while composing, the progress bar advancing
while a mobilization is sent, a reply showing up in the inbox, staff deciding about a shared
number, and an admin verifying a test number (phone and desktop widths, nothing overflows)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from organizer.auth.models import User
from organizer.extensions import db
from organizer.sms import sending, services
from organizer.sms.services import AudienceFilter
from tests.sms.conftest import signed_post
from tests.support.browser import assert_no_sideways_scroll, log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("twilio_app", "org")]


def _login(page: Page, live_server: str, user) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, user)


def test_compose_preview_updates_as_you_type(page: Page, live_server, make_user, bulk_people):
    bulk_people(3)
    _login(page, live_server, make_user("organizer"))
    page.goto(f"{live_server}/sms/new")
    page.get_by_label("Text", exact=True).fill("Hi {first_name}, the hearing is Tuesday ✊")
    preview = page.locator("#preview")
    expect(preview.locator('[data-preview="encoding"]')).to_have_text("UCS-2 (✊)")
    expect(preview.locator('[data-preview="recipients"]')).to_have_text("3")
    expect(preview.locator('[data-preview="sample"]')).to_have_text("Hi Pat0, the hearing is Tuesday ✊")


def test_progress_bar_advances_while_sending(page: Page, app, live_server, fake, make_user, bulk_people):
    user = make_user("organizer")
    bulk_people(6)
    with app.app_context():
        actor = db.session.get(User, user.id)
        m = services.save_mobilization(None, title="Turnout", body="Hearing Tuesday", audience=AudienceFilter(),
                                       actor=actor)
        services.launch(m, actor)
        db.session.commit()
        services.take_noted_dispatches()  # the worker has not picked it up yet
        mobilization_id = m.id
    _login(page, live_server, user)
    page.goto(f"{live_server}/sms/{mobilization_id}")
    bar = page.get_by_test_id("progress-bar")
    expect(bar).to_have_text("0%")

    with app.app_context():  # the worker sends three texts...
        for _ in range(3):
            sending.process(sending.claim_next(mobilization_id, sending.utcnow()))
    expect(bar).to_have_text("50%")
    with app.app_context():  # ...and the rest
        sending.run_dispatcher(mobilization_id)
    expect(bar).to_have_text("100%")
    expect(page.locator('[data-count="sent"]')).to_have_text("6")
    assert len(fake.messages) == 6


def test_a_reply_shows_up_in_the_inbox(page: Page, app, client, live_server, make_user, make_person):
    make_person(first_name="Rosa", last_name="Parks", phone="+13125550142")
    _login(page, live_server, make_user("organizer"))
    signed_post(client, "/sms/inbound", {"MessageSid": "SMbrowser", "From": "+13125550142",
                                         "Body": "Count me in for Tuesday"})
    page.goto(f"{live_server}/sms/inbox")
    expect(page.get_by_test_id("unread-total")).to_have_text("1")
    page.get_by_role("link", name="Rosa Parks").click()
    expect(page.get_by_test_id("thread")).to_contain_text("Count me in for Tuesday")
    page.get_by_label("Reply").fill("Great, see you there!")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_test_id("thread")).to_contain_text("Great, see you there!")
    # Each bubble is as tall as its text and its time, no more: the template's own line breaks
    # once made every one-line text a box four times its height.
    for bubble in page.get_by_test_id("thread").locator(".rounded.border").all():
        boxes = [child.bounding_box() for child in bubble.locator(":scope > *").all()]
        content = boxes[-1]["y"] + boxes[-1]["height"] - boxes[0]["y"]  # from the text's top to the time's foot
        assert bubble.bounding_box()["height"] <= content + 24, bubble.inner_html()  # padding, border, a line's foot
    # A text written on several lines keeps them.
    assert page.get_by_test_id("thread").locator(".rounded.border > div").first.evaluate(
        "el => getComputedStyle(el).whiteSpace") == "pre-wrap"


def test_staff_allow_a_shared_number_from_a_phone(page: Page, app, live_server, fake, make_user, make_person):
    from organizer.people.services import PersonData, create_person

    first, second = make_user("leader", name="Ana Leader"), make_user("leader", name="Bo Leader")
    make_person(owner=first, first_name="Maria", last_name="Lopez", phone="+13125550142")
    with app.app_context():
        create_person(PersonData(first_name="Juan", last_name="Lopez", phone="+13125550142"),
                      db.session.get(User, second.id), region="US")
        db.session.commit()
    _login(page, live_server, make_user("organizer"))
    page.goto(f"{live_server}/sms/")
    page.get_by_role("link", name="Shared numbers").click()
    listing = page.get_by_test_id("open-conflicts-list")
    expect(listing).to_contain_text("Juan Lopez")
    expect(listing).to_contain_text("Maria Lopez (Ana Leader)")
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name="Same household: allow texting").click()
    expect(page.get_by_text("Allowed: 0 held texts go out now.")).to_be_visible()
    expect(page.get_by_text("No shared numbers to check.")).to_be_visible()


def test_admin_verifies_a_test_number_on_a_desktop(page: Page, live_server, make_user):
    make_user("leader", name="Lena Leader")
    _login(page, live_server, make_user("admin"))
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server}/sms/test-numbers")
    page.get_by_label("User").select_option(label=next(
        o for o in page.locator("#user_id option").all_inner_texts() if o.startswith("Lena Leader")))
    page.get_by_label("Mobile phone").fill("(312) 555-0401")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("verified-numbers")).to_contain_text("Lena Leader · (312) 555-0401")
    assert_no_sideways_scroll(page)
    page.set_viewport_size({"width": 390, "height": 844})
    assert_no_sideways_scroll(page)
