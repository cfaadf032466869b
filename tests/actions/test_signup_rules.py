"""A public sign-up never overrides what a person told us: answers and opt-outs stay, a "yes"
for somebody already on file waits for their confirmation (a YES text or staff), and floods
of sign-ups are held for staff review past a cap per action and hour."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from organizer.actions.models import HeldSignup, Rsvp, RsvpSource, RsvpStatus
from organizer.extensions import db
from organizer.people.models import ConsentChange, ConsentMethod, Person, PersonSource, SmsConsent
from organizer.sms.models import MessageKind, OutboxMessage
from tests.sms.conftest import signed_post

pytestmark = pytest.mark.usefixtures("twilio_app", "org")


def _submit(client, url, addr="203.0.113.9", **fields):
    html = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    data = {"first_name": "Mallory", "last_name": "", "phone": "", "email": "", "website": "",
            "csrf_token": token, **fields}
    return client.post(url, data=data, environ_base={"REMOTE_ADDR": addr})


@pytest.fixture
def action(make_action):
    return make_action(title="Route 9 hearing", days=7)


@pytest.fixture
def url(action):
    return f"/signup/{action.signup_token}"


def _rsvp(app, action, person_id):
    with app.app_context():
        return db.session.scalar(select(Rsvp).where(Rsvp.action_id == action.id, Rsvp.person_id == person_id))


def _turnout_figures(client, action) -> dict[str, str]:
    page = client.get(f"/actions/{action.id}/turnout").get_data(as_text=True)
    return dict(re.findall(r'data-testid="fig-([a-z-]+)">([^<]+)<', page))


def test_an_opted_out_persons_phone_with_the_box_ticked_changes_nothing_they_said(
        app, client, url, action, make_person, make_user, login_as):
    """The report in issue 8: they became "Agreed to texts" with a "yes" they never gave."""
    lupe = make_person(first_name="Guadalupe", phone="+13125550142", sms_consent=SmsConsent.OPTED_OUT)
    response = _submit(client, url, first_name="Guadalupe", phone="312 555 0142", sms_consent="y")
    assert "Thank you, Guadalupe!" in response.get_data(as_text=True)

    with app.app_context():
        person = db.session.get(Person, lupe.id)
        assert person.sms_consent is SmsConsent.OPTED_OUT
        assert db.session.scalar(select(func.count()).select_from(ConsentChange)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0  # never texted
    assert _rsvp(app, action, lupe.id).status is RsvpStatus.PENDING

    organizer = login_as(make_user("organizer")).client
    figures = _turnout_figures(organizer, action)
    assert (figures["yes"], figures["predicted"], figures["pending"]) == ("0", "0", "1")
    assert "not counted as a yes" in organizer.get(f"/actions/{action.id}/turnout").get_data(as_text=True)


def test_an_answer_already_given_is_kept(app, client, url, action, make_person, add_rsvp):
    said_no = make_person(first_name="Mallory", phone="+13125550142")  # the name the form sends
    said_maybe = make_person(email="maybe@example.org")
    add_rsvp(action, said_no, "no")
    add_rsvp(action, said_maybe, "maybe")
    _submit(client, url, phone="3125550142")
    _submit(client, url, email="MAYBE@example.org")
    assert _rsvp(app, action, said_no.id).status is RsvpStatus.NO
    assert _rsvp(app, action, said_maybe.id).status is RsvpStatus.MAYBE


def test_a_new_person_is_signed_up_marked_as_from_the_sign_up_page(app, client, url, action):
    _submit(client, url, first_name="Dolores", phone="3125550142", sms_consent="y")
    with app.app_context():
        person = db.session.scalar(select(Person))
        assert (person.source, person.sms_consent, person.owner_id) == (PersonSource.SIGNUP, SmsConsent.OPTED_IN, None)
        change = db.session.scalar(select(ConsentChange))
        assert (change.person_id, change.method, change.from_consent, change.to_consent, change.changed_by_id) == (
            person.id, ConsentMethod.SIGNUP, SmsConsent.UNKNOWN, SmsConsent.OPTED_IN, None)
    assert _rsvp(app, action, person.id).status is RsvpStatus.YES


def test_a_known_person_is_asked_by_text_and_their_yes_confirms(app, client, url, action, make_person, fake,
                                                                make_user, login_as):
    ana = make_person(first_name="Ana", phone="+13125550142", sms_consent=SmsConsent.UNKNOWN)
    _submit(client, url, first_name="Ana", phone="3125550142")
    assert _rsvp(app, action, ana.id).status is RsvpStatus.PENDING
    with app.app_context():
        asked = db.session.scalar(select(OutboxMessage))
        assert (asked.phone, asked.kind) == ("+13125550142", MessageKind.SIGNUP_CONFIRMATION)
        assert "Route 9 hearing" in asked.body and "Reply YES" in asked.body
    assert [m.to for m in fake.messages] == ["+13125550142"]  # sent once the sign-up was committed

    assert signed_post(client, "/sms/inbound", {"MessageSid": "SMyes1", "From": "+13125550142",
                                                 "To": "+13125550199", "Body": "yes"}).status_code == 200
    rsvp = _rsvp(app, action, ana.id)
    assert (rsvp.status, rsvp.source) == (RsvpStatus.YES, RsvpSource.SIGNUP)
    organizer = login_as(make_user("organizer")).client
    figures = _turnout_figures(organizer, action)
    assert figures["yes"] == "1" and "pending" not in figures


def test_staff_confirm_or_discard_a_pending_sign_up_from_the_rsvp_list(app, client, url, action, make_person,
                                                                       make_user, login_as):
    first = make_person(first_name="Zelda", phone="+13125550142", sms_consent=SmsConsent.OPTED_OUT)
    second = make_person(first_name="Yolanda", phone="+13125550143", sms_consent=SmsConsent.OPTED_OUT)
    _submit(client, url, first_name="Zelda", phone="3125550142")
    _submit(client, url, first_name="Yolanda", phone="3125550143")
    organizer = login_as(make_user("organizer"))
    listing = organizer.client.get(f"/actions/{action.id}?status=pending").get_data(as_text=True)
    assert "Zelda" in listing and "Yolanda" in listing and listing.count('data-testid="pending-actions"') == 2

    rsvp_ids = {p.id: _rsvp(app, action, p.id).id for p in (first, second)}
    assert organizer.post(f"/actions/{action.id}/rsvps/{rsvp_ids[first.id]}/confirm").status_code == 302
    assert organizer.post(f"/actions/{action.id}/rsvps/{rsvp_ids[second.id]}/discard").status_code == 302
    assert _rsvp(app, action, first.id).status is RsvpStatus.YES
    assert _rsvp(app, action, second.id) is None
    with app.app_context():
        assert db.session.get(Person, second.id) is not None  # only the sign-up went


def test_a_flood_from_many_addresses_is_held_after_the_cap(app, client, url, action, make_user, login_as):
    app.config.update(SIGNUP_HOURLY_CAP=5)
    pages = [_submit(client, url, addr=f"198.51.100.{i}", first_name=f"Bot{i}", phone=f"31255501{i:02d}")
             .get_data(as_text=True) for i in range(8)]
    assert all("You are signed up" in p for p in pages[:5])
    assert all("an organizer will look at it shortly" in p for p in pages[5:])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == 5
        assert db.session.scalar(select(func.count()).select_from(Rsvp)) == 5
        assert db.session.scalar(select(func.count()).select_from(HeldSignup)) == 3
        held = {h.first_name: h.id for h in db.session.scalars(select(HeldSignup))}

    organizer = login_as(make_user("organizer"))
    review = organizer.client.get("/actions/signups").get_data(as_text=True)
    assert all(name in review for name in ("Bot5", "Bot6", "Bot7")) and "Bot0" in review  # held, and people made
    assert organizer.post(f"/actions/signups/{held['Bot5']}/accept").status_code == 302
    assert organizer.post(f"/actions/signups/{held['Bot6']}/discard").status_code == 302
    assert organizer.post(f"/actions/signups/{held['Bot6']}/accept").status_code == 302  # decided already
    with app.app_context():
        accepted = db.session.scalar(select(Person).where(Person.first_name == "Bot5"))
        assert accepted.source is PersonSource.SIGNUP
        assert db.session.scalar(select(Rsvp.status).where(Rsvp.person_id == accepted.id)) is RsvpStatus.YES
        assert db.session.scalar(select(Person).where(Person.first_name == "Bot6")) is None
        assert db.session.scalar(select(func.count()).where(HeldSignup.decided_at.is_(None))) == 1
    review = organizer.client.get("/actions/signups").get_data(as_text=True)
    assert "Bot7" in review and "Bot6" not in review


def test_leaders_do_not_review_sign_ups(app, login_as, make_user, action):
    leader = login_as(make_user("leader"))
    assert leader.client.get("/actions/signups").status_code == 403
