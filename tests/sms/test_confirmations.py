"""Confirmation texts (issue 14 part 2): a public sign-up's yes, and (when the organization
turns it on) a yes staff recorded, text the person the action's time and place and a link to
its calendar file, in their language; never to someone who did not agree to texts or opted
out. A known person's pending sign-up is asked to reply YES, with the time and place."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from organizer.actions.models import RsvpStatus
from organizer.audit.models import AuditEvent
from organizer.extensions import db
from organizer.people.models import SmsConsent
from organizer.settings.models import Organization
from organizer.sms.models import MessageKind, OutboxMessage
from tests.sms.conftest import PUBLIC, at

pytestmark = pytest.mark.usefixtures("twilio_app", "org")


@pytest.fixture
def action(make_action):
    return make_action(starts_at=at("2099-03-10T23:00+00:00"), title="Bus hearing", location="City Hall")


def _sign_up(client, action, **fields):
    url = f"/signup/{action.signup_token}"
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)
    data = {"first_name": "Dolores", "last_name": "", "phone": "", "email": "", "website": "", "csrf_token": token,
            **fields}
    return client.post(url, data=data, environ_base={"REMOTE_ADDR": "203.0.113.9"})


def _outbox(app):
    with app.app_context():
        return [(o.phone, o.kind, o.body) for o in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def _texts_on_staff_yes(app, on=True):
    with app.app_context():
        db.session.get(Organization, 1).text_staff_rsvp_confirmations = on
        db.session.commit()


def test_a_new_sign_up_with_consent_is_texted_its_time_place_and_calendar_link(app, client, fake, action):
    _sign_up(client, action, phone="3125550142", sms_consent="y")
    assert _outbox(app) == [("+13125550142", MessageKind.ACTION_CONFIRMATION,
                             "Metro Federation: you're confirmed for Bus hearing, Tue Mar 10, 6:00 PM at City Hall. "
                             f"Calendar: {PUBLIC}/signup/{action.signup_token}/calendar.ics")]
    assert [m.to for m in fake.messages] == ["+13125550142"]  # sent once the sign-up was committed


def test_the_calendar_link_in_the_text_serves_the_actions_calendar(app, client, action):
    _sign_up(client, action, phone="3125550142", sms_consent="y")
    link = _outbox(app)[0][2].rsplit(" ", 1)[1]
    response = client.get(link.removeprefix(PUBLIC))
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "Bus hearing" in response.get_data(as_text=True)


def test_a_sign_up_on_the_page_in_spanish_is_confirmed_in_spanish(app, client, action):
    url = f"/signup/{action.signup_token}"
    spanish = {"Accept-Language": "es"}
    page = client.get(url, headers=spanish).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(url, headers=spanish, environ_base={"REMOTE_ADDR": "203.0.113.9"}, data={
        "first_name": "Rosa", "last_name": "", "phone": "3125550144", "email": "", "website": "", "sms_consent": "y",
        "csrf_token": token})
    [(_phone, _kind, body)] = _outbox(app)
    assert body.startswith("Metro Federation: quedas confirmado/a para Bus hearing, martes 10 de marzo, 6:00 p. m. "
                           "en City Hall.")


def test_a_sign_up_without_consent_gets_no_text(app, client, fake, action):
    _sign_up(client, action, phone="3125550142")
    assert _outbox(app) == [] and fake.messages == []


def test_a_known_persons_sign_up_is_asked_to_reply_yes_with_time_and_place(app, client, action, make_person):
    make_person(first_name="Dolores", phone="+13125550142", sms_consent=SmsConsent.OPTED_IN)
    _sign_up(client, action, phone="3125550142")
    [(phone, kind, body)] = _outbox(app)
    assert kind is MessageKind.SIGNUP_CONFIRMATION
    assert body == ("Metro Federation: someone signed you up for Bus hearing, Tue Mar 10, 6:00 PM at City Hall. "
                    "Reply YES to confirm or NO if you are not coming.")


def _staff_yes(app, login_as, make_user, action, person):
    staff = login_as(make_user("organizer"))
    response = staff.post(f"/actions/{action.id}/rsvps", {"person_id": str(person.id), "status": "yes"})
    assert response.status_code == 302
    with app.app_context():
        from organizer.actions.models import Rsvp

        assert db.session.scalars(select(Rsvp.status)).one() is RsvpStatus.YES


def test_a_staff_yes_is_not_texted_unless_the_organization_wants_it(app, action, make_person, make_user, login_as):
    person = make_person(phone="+13125550150", sms_consent=SmsConsent.OPTED_IN)
    _staff_yes(app, login_as, make_user, action, person)
    assert _outbox(app) == []


def test_a_staff_yes_is_texted_in_spanish_to_a_spanish_speaker(app, fake, action, make_person, make_user, login_as):
    _texts_on_staff_yes(app)
    person = make_person(phone="+13125550151", sms_consent=SmsConsent.OPTED_IN, preferred_language="es")
    _staff_yes(app, login_as, make_user, action, person)
    assert _outbox(app) == [("+13125550151", MessageKind.ACTION_CONFIRMATION,
                             "Metro Federation: quedas confirmado/a para Bus hearing, martes 10 de marzo, 6:00 p. m. "
                             f"en City Hall. Calendario: {PUBLIC}/signup/{action.signup_token}/calendar.ics")]
    assert [m.to for m in fake.messages] == ["+13125550151"]


@pytest.mark.parametrize("consent", [SmsConsent.OPTED_OUT, SmsConsent.UNKNOWN])
def test_a_staff_yes_never_texts_someone_who_did_not_agree(app, action, make_person, make_user, login_as, consent):
    _texts_on_staff_yes(app)
    person = make_person(phone="+13125550152", sms_consent=consent)
    _staff_yes(app, login_as, make_user, action, person)
    assert _outbox(app) == []


def test_the_setting_is_on_the_settings_page_and_audited(app, make_user, login_as):
    admin = login_as(make_user("admin"))
    page = admin.client.get("/admin/settings").get_data(as_text=True)
    assert "Text a confirmation when staff record an RSVP yes" in page
    form = {"name": "Metro Federation", "timezone": "America/Chicago", "default_phone_region": "US",
            "going_cold_days": "90", "sms_help_text": "Metro Federation: reply STOP to stop.",
            "text_staff_rsvp_confirmations": "y"}
    assert admin.post("/admin/settings", form).status_code == 302
    with app.app_context():
        assert db.session.get(Organization, 1).text_staff_rsvp_confirmations is True
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "organization")
                                   .order_by(AuditEvent.id.desc())).first()
        assert "text_staff_rsvp_confirmations" in str(event.details)
    del form["text_staff_rsvp_confirmations"]
    admin.post("/admin/settings", form)
    with app.app_context():
        assert db.session.get(Organization, 1).text_staff_rsvp_confirmations is False
