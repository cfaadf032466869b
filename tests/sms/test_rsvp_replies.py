"""RSVPs from replies in words (issue 14): what the signed webhook records from a reply, when it
leaves an earlier answer alone, and the thread's "Recorded" / Undo / one-tap buttons. What
counts as a clear answer is pinned in test_rsvp_intent.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from organizer.actions.models import Rsvp, RsvpSource, RsvpStatus
from organizer.audit.models import AuditEvent
from organizer.auth.models import User
from organizer.extensions import db
from organizer.sms import services
from organizer.sms.models import InboundMessage, ReplyRsvp
from organizer.sms.services import AudienceFilter
from organizer.sms.tasks import dispatch_noted
from tests.sms.conftest import at, signed_post

# --- through the signed webhook ------------------------------------------------------------------


@pytest.fixture
def texted(app, fake, make_user, make_person, make_action, phone_for):
    """Luis was texted about the Bus hearing (no "Reply YES" in the text): returns (action, person, phone)."""
    action = make_action(starts_at=at("2099-03-10T23:00+00:00"), title="Bus hearing", location="City Hall")
    person = make_person(phone=phone_for(1), first_name="Luis")
    with app.app_context():
        actor = db.session.get(User, make_user("organizer").id)
        m = services.save_mobilization(None, title="Turnout", body="Bus hearing {action_time}!",
                                       audience=AudienceFilter(), actor=actor, action_id=action.id,
                                       rsvp_prompt=False, text_language="en")
        services.launch(m, actor)
        db.session.commit()
        dispatch_noted()
    return action, person, phone_for(1)


def _reply(client, phone, body, sid):
    assert signed_post(client, "/sms/inbound", {"MessageSid": sid, "From": phone, "Body": body}).status_code == 200


def _rsvp(app):
    with app.app_context():
        row = db.session.scalars(select(Rsvp)).one_or_none()
        return (row.status, row.source) if row else None


pytestmark = pytest.mark.usefixtures("twilio_app", "org")


def test_a_yes_in_words_is_recorded_as_a_text_reply_and_confirmed(app, client, fake, texted):
    action, person, phone = texted
    _reply(client, phone, "Yes I'll be there, can I bring my daughter?", "SMw1")
    assert _rsvp(app) == (RsvpStatus.YES, RsvpSource.SMS)
    assert fake.messages[-1].body == "Thanks Luis! You're confirmed for Bus hearing, Tue Mar 10, 6:00 PM at City Hall."
    with app.app_context():
        link = db.session.scalars(select(ReplyRsvp)).one()
        assert (link.action_id, link.status, link.previous_status) == (action.id, "yes", None)


def test_a_spanish_no_is_recorded_without_a_text_back(app, client, fake, texted):
    _action, _person, phone = texted
    sent = len(fake.messages)
    _reply(client, phone, "Lo siento, no puedo ir", "SMw2")
    assert _rsvp(app) == (RsvpStatus.NO, RsvpSource.SMS)
    assert len(fake.messages) == sent


def test_an_unsure_reply_records_nothing_and_is_marked_for_the_thread(app, client, texted):
    _action, _person, phone = texted
    _reply(client, phone, "sí pero no tengo ride", "SMw3")
    assert _rsvp(app) is None
    with app.app_context():
        assert db.session.scalars(select(InboundMessage.outcome)).one() == "rsvp_unsure"


def test_words_without_a_text_about_an_action_record_nothing(app, client, make_person, phone_for):
    make_person(phone=phone_for(9))
    _reply(client, phone_for(9), "I'll be there!", "SMw4")
    assert _rsvp(app) is None


def test_stop_keeps_its_priority_over_any_rsvp(app, client, texted):
    _action, _person, phone = texted
    _reply(client, phone, "STOP", "SMw5")
    assert _rsvp(app) is None
    with app.app_context():
        assert db.session.scalars(select(InboundMessage.outcome)).one() == "opted_out"


def _answer(app, action, person, status, source):
    with app.app_context():
        db.session.add(Rsvp(action_id=action.id, person_id=person.id, status=status, source=source))
        db.session.commit()


def test_a_reply_in_words_does_not_overrule_the_persons_own_earlier_answer(app, client, texted):
    action, person, phone = texted
    _answer(app, action, person, RsvpStatus.YES, RsvpSource.SIGNUP)
    _reply(client, phone, "no puedo", "SMw6")
    assert _rsvp(app) == (RsvpStatus.YES, RsvpSource.SIGNUP)
    with app.app_context():
        assert db.session.scalars(select(InboundMessage.outcome)).one() == "rsvp_unsure"


def test_a_reply_that_says_they_changed_their_mind_replaces_their_answer(app, client, texted):
    action, person, phone = texted
    _answer(app, action, person, RsvpStatus.YES, RsvpSource.SMS)
    _reply(client, phone, "Ya no puedo ir, lo siento", "SMw7")
    assert _rsvp(app) == (RsvpStatus.NO, RsvpSource.SMS)


def test_the_persons_clear_reply_replaces_an_answer_staff_recorded(app, client, texted):
    action, person, phone = texted
    _answer(app, action, person, RsvpStatus.YES, RsvpSource.ORGANIZER)
    _reply(client, phone, "can't make it, sorry", "SMw8")
    assert _rsvp(app) == (RsvpStatus.NO, RsvpSource.SMS)


# --- the thread ------------------------------------------------------------------------------------


def _thread_id(app):
    with app.app_context():
        return db.session.scalars(select(InboundMessage)).one().conversation_id, \
            db.session.scalars(select(InboundMessage.id)).one()


def test_the_thread_shows_the_recorded_rsvp_and_undo_puts_back_the_earlier_answer(app, client, texted, login_as,
                                                                                 make_user):
    action, person, phone = texted
    _answer(app, action, person, RsvpStatus.MAYBE, RsvpSource.ORGANIZER)
    _reply(client, phone, "Sí, ahí estaré", "SMt1")
    assert _rsvp(app) == (RsvpStatus.YES, RsvpSource.SMS)
    conversation_id, message_id = _thread_id(app)
    staff = login_as(make_user("organizer"))
    page = staff.client.get(f"/sms/inbox/{conversation_id}").get_data(as_text=True)
    assert "Recorded: Yes for Bus hearing" in page
    assert f"/sms/inbox/replies/{message_id}/rsvp/undo" in page

    assert staff.post(f"/sms/inbox/replies/{message_id}/rsvp/undo").status_code == 302
    assert _rsvp(app) == (RsvpStatus.MAYBE, RsvpSource.ORGANIZER)
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "rsvp_reply_undone"))
    page = staff.client.get(f"/sms/inbox/{conversation_id}").get_data(as_text=True)
    assert "Recorded: Yes" not in page
    assert "Record maybe" in page  # undone: the reply can be read again by hand


def test_undo_of_a_first_answer_removes_the_rsvp(app, client, texted, login_as, make_user):
    _action, _person, phone = texted
    _reply(client, phone, "count me in", "SMt2")
    _conversation_id, message_id = _thread_id(app)
    login_as(make_user("organizer")).post(f"/sms/inbox/replies/{message_id}/rsvp/undo")
    assert _rsvp(app) is None


def test_an_unsure_reply_gets_one_tap_buttons_for_the_last_texted_action(app, client, texted, login_as, make_user,
                                                                        make_action):
    action, person, phone = texted
    other = make_action(starts_at=at("2099-01-10T23:00+00:00"), title="Budget forum")
    _reply(client, phone, "yes but no ride", "SMt3")
    conversation_id, message_id = _thread_id(app)
    staff = login_as(make_user("organizer"))
    page = staff.client.get(f"/sms/inbox/{conversation_id}").get_data(as_text=True)
    assert "Record yes" in page and "Record no" in page and "Record maybe" in page
    assert f'<option selected value="{action.id}">' in page  # the action they were texted about
    assert f'value="{other.id}"' in page  # another upcoming action can be chosen

    staff.post(f"/sms/inbox/replies/{message_id}/rsvp", {f"r{message_id}-action_id": str(action.id),
                                                        f"r{message_id}-status": "maybe"})
    assert _rsvp(app) == (RsvpStatus.MAYBE, RsvpSource.SMS)
    page = staff.client.get(f"/sms/inbox/{conversation_id}").get_data(as_text=True)
    assert "Recorded: Maybe for Bus hearing" in page
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "rsvp_from_reply"))


def test_a_leader_records_for_their_own_person_only(app, client, make_user, make_person, make_action, login_as,
                                                   phone_for):
    owner, outsider = make_user("leader"), make_user("leader")
    action = make_action(starts_at=at("2099-03-10T23:00+00:00"), title="Bus hearing")
    make_person(owner=owner, phone=phone_for(5))
    _reply(client, phone_for(5), "not sure", "SMt4")
    conversation_id, message_id = _thread_id(app)
    form = {f"r{message_id}-action_id": str(action.id), f"r{message_id}-status": "yes"}

    assert login_as(outsider).post(f"/sms/inbox/replies/{message_id}/rsvp", form).status_code == 404
    assert _rsvp(app) is None
    assert login_as(outsider).post(f"/sms/inbox/replies/{message_id}/rsvp/undo").status_code == 404

    leader = login_as(owner)
    assert "Record yes" in leader.client.get(f"/sms/inbox/{conversation_id}").get_data(as_text=True)
    assert leader.post(f"/sms/inbox/replies/{message_id}/rsvp", form).status_code == 302
    assert _rsvp(app) == (RsvpStatus.YES, RsvpSource.SMS)
