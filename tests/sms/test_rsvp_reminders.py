"""Texts for actions: merge fields in the action's zone, the RSVP-status audience, "Reply
YES to RSVP", RSVP counts, and reminders (once each, around quiet hours)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from organizer.actions.models import Action, Rsvp, RsvpSource, RsvpStatus
from organizer.auth.models import User
from organizer.extensions import db
from organizer.sms import services
from organizer.sms.models import MessageKind, OutboxMessage, ReminderSent
from organizer.sms.services import AudienceFilter, MobilizationError
from organizer.sms.tasks import dispatch_noted, run_sweep
from tests.sms.conftest import at, signed_post

pytestmark = pytest.mark.usefixtures("twilio_app", "org")


@pytest.fixture
def make_action(make_action):
    """The suite's ``make_action``, with the title and place these texts quote."""

    def make(starts_at: datetime, **overrides) -> Action:
        overrides.setdefault("title", "Bus hearing")
        overrides.setdefault("location", "City Hall")
        return make_action(starts_at=starts_at, **overrides)

    return make


def _rsvp(app, action, person, status="yes"):
    with app.app_context():
        db.session.add(Rsvp(action_id=action.id, person_id=person.id, status=RsvpStatus(status),
                            source=RsvpSource.ORGANIZER))
        db.session.commit()


def _mobilize(app, user, action, body, audience=None, rsvp_prompt=True, text_language="en"):
    with app.app_context():
        actor = db.session.get(User, user.id)
        m = services.save_mobilization(None, title="Turnout", body=body, audience=audience or AudienceFilter(),
                                       actor=actor, action_id=action.id, rsvp_prompt=rsvp_prompt,
                                       text_language=text_language)
        services.launch(m, actor)
        db.session.commit()
        dispatch_noted()
        return m.id


def test_action_merge_fields_use_the_actions_zone_and_public_link(app, fake, make_user, make_person, make_action,
                                                                 phone_for):
    action = make_action(at("2099-03-10T23:00+00:00"))  # 6:00 PM in Chicago (CDT)
    make_person(phone=phone_for(1), first_name="Ana")
    _mobilize(app, make_user("organizer"), action,
              "{first_name}: {action_title} {action_time} at {action_place}. {rsvp_link}", rsvp_prompt=False)
    assert fake.messages[0].body == (
        f"Ana: Bus hearing Tue Mar 10, 6:00 PM at City Hall. http://sms.example.test/signup/{action.signup_token}")


@pytest.mark.parametrize("reply", ["YES", "y", "yes!", "Sí"])
def test_yes_by_reply_records_the_rsvp_and_confirms(app, client, fake, make_user, make_person, make_action,
                                                    phone_for, reply):
    action = make_action(at("2099-03-10T23:00+00:00"))
    person = make_person(phone=phone_for(2), first_name="Luis")
    mobilization_id = _mobilize(app, make_user("organizer"), action, "Hearing {action_time}!")
    assert fake.messages[0].body == "Hearing Tue Mar 10, 6:00 PM! Reply YES to RSVP."

    signed_post(client, "/sms/inbound", {"MessageSid": "SMyes", "From": phone_for(2), "Body": reply})

    with app.app_context():
        rsvp = db.session.scalars(select(Rsvp)).one()
        assert (rsvp.person_id, rsvp.status, rsvp.source) == (person.id, RsvpStatus.YES, RsvpSource.SMS)
        from organizer.sms.models import Mobilization

        assert services.progress(db.session.get(Mobilization, mobilization_id)).rsvped == 1
    assert fake.messages[-1].body == "Thanks Luis! You're confirmed for Bus hearing, Tue Mar 10, 6:00 PM at City Hall."


def test_a_text_written_in_spanish_gets_its_time_and_rsvp_prompt_in_spanish(app, client, fake, make_user,
                                                                           make_person, make_action, phone_for):
    action = make_action(at("2099-03-10T23:00+00:00"))
    make_person(phone=phone_for(2), first_name="Luis")
    _mobilize(app, make_user("organizer"), action, "Audiencia el {action_time}.", text_language="es")
    text = fake.messages[0].body
    assert text == "Audiencia el martes 10 de marzo, 6:00 p. m.. Responde SI para confirmar."
    with app.app_context():
        assert db.session.scalars(select(OutboxMessage.encoding)).one() == "GSM-7"  # no Í: one price

    signed_post(client, "/sms/inbound", {"MessageSid": "SMsi", "From": phone_for(2), "Body": "si"})
    with app.app_context():
        assert db.session.scalars(select(Rsvp.status)).one() is RsvpStatus.YES


def test_a_text_that_already_asks_for_si_gets_no_second_prompt(app, fake, make_user, make_person, make_action,
                                                              phone_for):
    action = make_action(at("2099-03-10T23:00+00:00"))
    make_person(phone=phone_for(2))
    _mobilize(app, make_user("organizer"), action, "¿Vienes? Responde SÍ.", text_language="es")
    assert fake.messages[0].body == "¿Vienes? Responde SÍ."


def test_no_by_reply_records_a_no_without_a_reply(app, client, fake, make_user, make_person, make_action, phone_for):
    action = make_action(at("2099-03-10T23:00+00:00"))
    make_person(phone=phone_for(3))
    _mobilize(app, make_user("organizer"), action, "Hearing!")
    signed_post(client, "/sms/inbound", {"MessageSid": "SMno", "From": phone_for(3), "Body": "no"})
    with app.app_context():
        assert db.session.scalars(select(Rsvp.status)).one() is RsvpStatus.NO
    assert len(fake.messages) == 1


def test_yes_without_an_rsvp_question_is_just_a_reply(app, client, make_person, phone_for):
    make_person(phone=phone_for(4))
    signed_post(client, "/sms/inbound", {"MessageSid": "SMy2", "From": phone_for(4), "Body": "yes"})
    with app.app_context():
        assert db.session.scalar(select(Rsvp.id)) is None


def test_audience_by_rsvp_status(app, fake, make_user, make_person, make_action, phone_for):
    action = make_action(at("2099-03-10T23:00+00:00"))
    yes, maybe = make_person(phone=phone_for(5)), make_person(phone=phone_for(6))
    make_person(phone=phone_for(7))
    _rsvp(app, action, yes, "yes")
    _rsvp(app, action, maybe, "maybe")
    _mobilize(app, make_user("organizer"), action, "Still coming?", AudienceFilter(rsvp_status="maybe"),
              rsvp_prompt=False)
    _mobilize(app, make_user("organizer"), action, "Can you come?", AudienceFilter(rsvp_status="none"),
              rsvp_prompt=False)
    assert [(m.to, m.body) for m in fake.messages] == [(phone_for(6), "Still coming?"), (phone_for(7), "Can you come?")]


def test_action_fields_need_an_action(app, make_user):
    with app.app_context():
        actor = db.session.get(User, make_user("organizer").id)
        with pytest.raises(MobilizationError):
            services.save_mobilization(None, title="T", body="{rsvp_link}", audience=AudienceFilter(), actor=actor)


def _reminders(app):
    with app.app_context():
        rows = db.session.execute(select(ReminderSent.person_id, ReminderSent.offset_minutes, ReminderSent.outcome)
                                  .order_by(ReminderSent.id)).all()
        texts = db.session.execute(select(OutboxMessage.phone, OutboxMessage.not_before)
                                   .where(OutboxMessage.kind == MessageKind.REMINDER)).all()
        return rows, texts


def test_reminders_go_once_per_offset_to_yes_rsvps(app, make_user, make_person, make_action, phone_for):
    start = at("2099-03-11T00:00+00:00")  # 19:00 in Chicago
    action = make_action(start)
    yes, no = make_person(phone=phone_for(8)), make_person(phone=phone_for(9))
    _rsvp(app, action, yes, "yes")
    _rsvp(app, action, no, "no")
    with app.app_context():
        run_sweep(start - timedelta(hours=30))
        assert _reminders(app)[0] == []
        run_sweep(start - timedelta(hours=24))
        run_sweep(start - timedelta(hours=23))  # again: nothing new
        run_sweep(start - timedelta(hours=2))
        run_sweep(start - timedelta(hours=1))
    rows, texts = _reminders(app)
    assert rows == [(yes.id, 1440, "queued"), (yes.id, 120, "queued")]
    assert [t.phone for t in texts] == [phone_for(8)] * 2


def test_a_reminder_in_quiet_hours_waits_for_morning_or_is_skipped(app, make_user, make_person, make_action,
                                                                   phone_for):
    app.config["SMS_QUIET_HOURS"] = "21:00-08:00"
    morning = make_action(at("2099-03-11T15:00+00:00"))  # 10:00 in Chicago: the 2 h reminder falls at 08:00
    early = make_action(at("2099-03-11T12:00+00:00"), title="Early")  # 07:00: its 2 h reminder is at 05:00
    person = make_person(phone=phone_for(10))
    _rsvp(app, morning, person)
    _rsvp(app, early, person)
    with app.app_context():
        run_sweep(at("2099-03-11T10:00+00:00"))  # 05:00 in Chicago: both 2 h reminders due, both quiet
    rows, texts = _reminders(app)
    by_offset = {(r.offset_minutes, r.outcome) for r in rows}
    assert (120, "skipped: quiet hours") in by_offset  # the 07:00 action: morning comes too late
    assert [t.not_before for t in texts] == [at("2099-03-11T13:00+00:00")]  # 08:00 in Chicago, before 10:00


def test_reminders_skip_people_who_opted_out(app, client, make_person, make_action, phone_for):
    start = at("2099-03-11T00:00+00:00")
    action = make_action(start)
    person = make_person(phone=phone_for(11))
    _rsvp(app, action, person)
    signed_post(client, "/sms/inbound", {"MessageSid": "SMstop", "From": phone_for(11), "Body": "STOP"})
    with app.app_context():
        run_sweep(start - timedelta(hours=2))
    rows, texts = _reminders(app)
    assert [r.outcome for r in rows] == ["superseded", "skipped: opted out"] and texts == []


def test_automatic_texts_go_in_the_persons_language(app, client, fake, make_user, make_person, make_action,
                                                   phone_for):
    action = make_action(at("2099-03-10T23:00+00:00"))
    make_person(phone=phone_for(12), first_name="Lupe", preferred_language="es")
    _mobilize(app, make_user("organizer"), action, "¡La audiencia es {action_time}!")
    signed_post(client, "/sms/inbound", {"MessageSid": "SMsi", "From": phone_for(12), "Body": "Sí"})
    signed_post(client, "/sms/inbound", {"MessageSid": "SMalto", "From": phone_for(12), "Body": "ALTO"})
    assert [m.body for m in fake.messages[1:]] == [
        "¡Gracias, Lupe! Quedaste confirmado/a para Bus hearing, martes 10 de marzo, 6:00 p. m. en City Hall.",
        "Metro Federation: te diste de baja y no recibirás más textos. Responde START para volver a suscribirte.",
    ]
    assert {m.body for m in fake.messages} and all("\u202f" not in m.body for m in fake.messages)
