"""The public sign-up page: no login, matches without revealing, resists duplicates and abuse."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from organizer.actions.models import Rsvp, RsvpSource, RsvpStatus
from organizer.extensions import db
from organizer.people.models import Person, SmsConsent


def _token(client, url):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _submit(client, url, **fields):
    data = {"first_name": "Dolores", "last_name": "Huerta", "phone": "", "email": "", "website": "", **fields}
    data.setdefault("csrf_token", _token(client, url))
    return client.post(url, data=data, environ_base={"REMOTE_ADDR": fields.pop("addr", "203.0.113.9")})


@pytest.fixture
def signup_url(make_action):
    action = make_action(title="Route 9 hearing")
    return f"/signup/{action.signup_token}"


def _people(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Person))


def test_a_visitor_signs_up_without_an_account(app, client, signup_url):
    page = client.get(signup_url)
    assert page.status_code == 200 and "Route 9 hearing" in page.get_data(as_text=True)
    response = _submit(client, signup_url, phone="(312) 555-0142", email="Dolores@Example.org", sms_consent="y")
    assert response.status_code == 200 and "Thank you, Dolores!" in response.get_data(as_text=True)
    with app.app_context():
        person = db.session.scalar(select(Person))
        assert (person.phone, person.email, person.owner_id, person.created_by_id) == (
            "+13125550142", "dolores@example.org", None, None)
        assert person.sms_consent is SmsConsent.OPTED_IN and person.sms_consent_source == "signup form Route 9 hearing"
        rsvp = db.session.scalar(select(Rsvp))
        assert (rsvp.person_id, rsvp.status, rsvp.source) == (person.id, RsvpStatus.YES, RsvpSource.SIGNUP)


def test_the_sign_up_asks_a_phone_for_its_number_pad_and_lets_the_browser_fill_in_its_owner(client, signup_url):
    """On a phone, type="tel" brings up the number pad; the person signs up themself, so the
    browser may fill in their own name, number and email."""
    html = client.get(signup_url).get_data(as_text=True)
    inputs = {re.search(r'name="([^"]+)"', tag).group(1): tag for tag in re.findall(r"<input[^>]*>", html)}
    assert 'type="tel"' in inputs["phone"] and 'autocomplete="tel"' in inputs["phone"]
    assert 'autocomplete="given-name"' in inputs["first_name"]
    assert 'autocomplete="family-name"' in inputs["last_name"]
    assert 'autocomplete="email"' in inputs["email"]


def test_someone_elses_number_gets_the_number_pad_but_not_the_browsers_memory(app, login_as, make_user,
                                                                             make_action):
    """At the door and on a person's record the number typed is another person's: the browser
    must not offer the organizer's own."""
    action = make_action(days=0)
    client = login_as(make_user("organizer")).client
    for url in (f"/actions/{action.id}/checkin", "/people/new"):
        html = client.get(url).get_data(as_text=True)
        phone = re.search(r'<input[^>]*name="phone"[^>]*>', html).group(0)
        assert 'type="tel"' in phone and 'autocomplete="off"' in phone, url


def test_a_known_phone_and_name_or_email_reuses_the_person_and_reveals_nothing(app, client, signup_url, make_person):
    known = make_person(first_name="Guadalupe", last_name="Secret", phone="+13125550142", email="lupe@example.org",
                        sms_consent=SmsConsent.OPTED_OUT)
    by_phone = _submit(client, signup_url, first_name="guadalupe", last_name="", phone="312.555.0142")
    by_email = _submit(client, signup_url, first_name="Mallory", email="LUPE@example.org")
    fresh = _submit(client, signup_url, first_name="guadalupe", last_name="", email="someone-new@example.org")
    bodies = [r.get_data(as_text=True) for r in (by_phone, by_email, fresh)]
    assert all("Guadalupe" not in b and "Secret" not in b for b in bodies)
    strip = lambda html: re.sub(r'name="csrf_token"[^>]*>', "", html)  # noqa: E731
    assert strip(bodies[0]) == strip(bodies[2])  # same page whether or not the person was known
    with app.app_context():
        person = db.session.get(Person, known.id)
        assert person.first_name == "Guadalupe" and person.sms_consent is SmsConsent.OPTED_OUT  # untouched
        assert db.session.scalar(select(func.count()).select_from(Person)) == 2  # Guadalupe and the new one
        assert db.session.scalar(select(func.count()).select_from(Rsvp)) == 2  # one per person


def test_someone_else_on_a_known_phone_is_a_new_household_member_who_cannot_lift_its_opt_out(
        app, client, signup_url, make_person):
    """A phone alone does not say who signed up (households share one), and a ticked box on a
    public form does not outweigh the "no" another holder of that number gave."""
    known = make_person(first_name="Guadalupe", last_name="Secret", phone="+13125550142",
                        sms_consent=SmsConsent.OPTED_OUT)
    response = _submit(client, signup_url, first_name="Mallory", last_name="X", phone="312.555.0142",
                       sms_consent="y")
    assert response.status_code == 200 and "Guadalupe" not in response.get_data(as_text=True)
    with app.app_context():
        mallory = db.session.scalar(select(Person).where(Person.first_name == "Mallory"))
        assert mallory.phone == known.phone and mallory.sms_consent is not SmsConsent.OPTED_IN
        assert db.session.get(Person, known.id).sms_consent is SmsConsent.OPTED_OUT
        assert db.session.scalar(select(Rsvp.person_id)) == mallory.id  # her RSVP, not Guadalupe's


def test_signing_up_twice_keeps_one_person_and_one_rsvp(app, client, signup_url):
    for _ in range(2):
        _submit(client, signup_url, phone="312-555-0142")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == 1
        assert db.session.scalar(select(func.count()).select_from(Rsvp)) == 1


def test_an_unticked_consent_never_opts_anyone_out(app, client, signup_url, make_person):
    make_person(phone="+13125550142", sms_consent=SmsConsent.OPTED_IN)
    _submit(client, signup_url, phone="3125550142")
    with app.app_context():
        assert db.session.scalar(select(Person.sms_consent)) is SmsConsent.OPTED_IN


def test_the_honeypot_answers_thank_you_and_stores_nothing(app, client, signup_url):
    response = _submit(client, signup_url, phone="3125550142", website="http://spam.example")
    assert response.status_code == 200 and "Thank you" in response.get_data(as_text=True)
    assert _people(app) == 0


def test_without_a_csrf_token_nothing_is_stored(app, client, signup_url):
    response = _submit(client, signup_url, phone="3125550142", csrf_token="forged")
    assert response.status_code == 400
    assert _people(app) == 0


def test_hostile_input_is_refused_or_escaped(app, client, signup_url):
    missing = _submit(client, signup_url)
    assert missing.status_code == 200 and "Give us a phone number or an email address." in missing.get_data(as_text=True)
    bad_phone = _submit(client, signup_url, phone="<script>1</script>")
    assert "not a valid phone number" in bad_phone.get_data(as_text=True)
    too_long = _submit(client, signup_url, first_name="x" * 5000, phone="3125550142")
    assert "Thank you" not in too_long.get_data(as_text=True)
    assert _people(app) == 0
    script = _submit(client, signup_url, first_name="<script>alert(1)</script>", phone="3125550143")
    body = script.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_the_same_phone_again_and_again_from_one_address_gets_429(app, client, signup_url):
    app.config.update(SIGNUP_MAX_ATTEMPTS=3, SIGNUP_WINDOW_SECONDS=600)
    for _ in range(3):
        assert _submit(client, signup_url, phone="312-555-0100").status_code == 200
    assert _submit(client, signup_url, phone="(312) 555-0100").status_code == 429  # the same number, typed otherwise
    assert _submit(client, signup_url, phone="3125550100", addr="198.51.100.7").status_code == 200
    assert _submit(client, signup_url, phone="3125550109").status_code == 200  # somebody else, same Wi-Fi
    assert _people(app) == 2


def test_thirty_people_at_a_house_meeting_on_one_wifi_all_sign_up(app, client, signup_url):
    for i in range(30):
        response = _submit(client, signup_url, first_name=f"Neighbor{i}", phone=f"312555{i:04d}")
        assert response.status_code == 200 and "You are signed up" in response.get_data(as_text=True)
    assert _people(app) == 30
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Rsvp.status == RsvpStatus.YES)) == 30


def test_one_address_sending_sign_ups_without_end_is_stopped(app, client, signup_url):
    app.config.update(SIGNUP_MAX_PER_ADDRESS=4)
    codes = [_submit(client, signup_url, phone=f"31255501{i:02d}").status_code for i in range(6)]
    assert codes == [200, 200, 200, 200, 429, 429]


def test_unknown_or_archived_actions_have_no_sign_up_page(client, make_action):
    from organizer.db import utcnow

    assert client.get("/signup/not-a-token").status_code == 404
    assert client.get(f"/signup/{make_action(archived_at=utcnow()).signup_token}").status_code == 404
