"""Twilio webhooks: signatures, deduplication, opt-outs and opt-ins by reply, HELP, possible
opt-outs, threads, and status callbacks in and out of order."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from organizer.auth.models import User
from organizer.extensions import db
from organizer.people.models import Person, SmsConsent
from organizer.sms import services
from organizer.sms.keywords import OPT_OUT_KEYWORDS, TWILIO_HANDLED_KEYWORDS
from organizer.sms.models import (
    Conversation,
    InboundMessage,
    MessageKind,
    Mobilization,
    OutboxMessage,
    OutboxStatus,
    PhoneOptOut,
    StatusEvent,
)
from organizer.sms.services import AudienceFilter
from organizer.sms.tasks import dispatch_noted
from tests.sms.conftest import client_transport, signed_post

pytestmark = pytest.mark.usefixtures("twilio_app", "org")

_sids = iter(range(1, 10_000))


def _inbound(client, phone, body, sid=None, **kwargs):
    form = {"MessageSid": sid or f"SMin{next(_sids):030d}", "From": phone, "To": "+13125550199", "Body": body,
            "AccountSid": "AC" + "1" * 32}
    return signed_post(client, "/sms/inbound", form, **kwargs)


def _count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _texts_to(app, phone):
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.phone == phone)))
        db.session.expunge_all()
        return rows


# --- signatures -----------------------------------------------------------------------------


def test_inbound_with_valid_signature_is_recorded_and_answered_with_twiml(app, client, make_person, phone_for):
    make_person(phone=phone_for(1), first_name="Rosa")
    response = _inbound(client, phone_for(1), "See you there")
    assert response.status_code == 200
    assert response.mimetype == "text/xml" and b"<Response>" in response.data
    with app.app_context():
        message = db.session.scalars(select(InboundMessage)).one()
        assert message.body == "See you there" and message.person.first_name == "Rosa"
        assert db.session.scalars(select(Conversation)).one().unread == 1


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
def test_inbound_with_missing_or_wrong_signature_is_refused_and_not_recorded(app, client, phone_for, signature):
    response = _inbound(client, phone_for(1), "STOP", signature=signature)
    assert response.status_code == 403
    assert _count(app, InboundMessage) == 0 and _count(app, PhoneOptOut) == 0


def test_signature_made_with_another_token_is_refused(app, client, phone_for):
    assert _inbound(client, phone_for(1), "hi", token="other-token").status_code == 403
    assert _count(app, InboundMessage) == 0


def test_webhooks_need_no_csrf_token_but_a_signature(app, client, phone_for):
    # Signed and without a CSRF token: accepted (CSRF is on in the test app).
    assert _inbound(client, phone_for(1), "hello").status_code == 200


def test_the_same_message_sid_twice_is_recorded_once(app, client, phone_for):
    _inbound(client, phone_for(1), "STOP", sid="SMdup")
    assert _inbound(client, phone_for(1), "STOP", sid="SMdup").status_code == 200
    assert _count(app, InboundMessage) == 1


# --- opt-outs and opt-ins -------------------------------------------------------------------


@pytest.mark.parametrize("word", sorted(OPT_OUT_KEYWORDS))
def test_every_opt_out_keyword_opts_the_person_out_everywhere(app, client, fake, make_person, phone_for, word):
    person = make_person(phone=phone_for(2))
    _inbound(client, phone_for(2), f"  {word.lower()} ")
    with app.app_context():
        p = db.session.get(Person, person.id)
        assert p.sms_consent is SmsConsent.OPTED_OUT and p.sms_consent_source == "SMS STOP reply"
        assert p.sms_consent_at is not None
        assert db.session.scalar(select(PhoneOptOut.phone)) == phone_for(2)
    confirmations = [t for t in _texts_to(app, phone_for(2)) if t.kind is MessageKind.OPT_OUT_CONFIRMATION]
    if word in TWILIO_HANDLED_KEYWORDS:
        assert confirmations == []  # Twilio already answered; a second reply would be a duplicate
    else:
        assert len(confirmations) == 1 and confirmations[0].sid  # e.g. ALTO: Twilio does not answer it
        assert [m.to for m in fake.messages] == [phone_for(2)]


def test_a_second_opt_out_sends_no_second_confirmation(app, client, fake, make_person, phone_for):
    make_person(phone=phone_for(3))
    _inbound(client, phone_for(3), "ALTO")
    _inbound(client, phone_for(3), "Alto!")
    _inbound(client, phone_for(3), "STOP")
    assert len(fake.messages) == 1


def test_unknown_number_that_says_stop_is_never_texted_when_it_becomes_a_person(
        app, client, fake, make_user, make_person, phone_for):
    _inbound(client, phone_for(4), "stop")
    make_person(phone=phone_for(4))
    make_person(phone=phone_for(5))
    organizer = make_user("organizer")
    with app.app_context():
        actor = db.session.get(User, organizer.id)
        m = services.save_mobilization(None, title="T", body="Hi", audience=AudienceFilter(), actor=actor)
        services.launch(m, actor)
        db.session.commit()
        dispatch_noted()
        assert db.session.get(Mobilization, m.id).excluded_opted_out == 1
    assert [msg.to for msg in fake.messages] == [phone_for(5)]


def test_stop_cancels_texts_still_waiting_for_that_number(app, client, make_person, phone_for):
    person = make_person(phone=phone_for(6))
    with app.app_context():
        row = services.queue_text(phone_for(6), "Later", MessageKind.REPLY, person=db.session.get(Person, person.id),
                                  not_before=services.utcnow().replace(year=2030))
        db.session.commit()
        services.take_noted_dispatches()
        row_id = row.id
    _inbound(client, phone_for(6), "STOP")
    with app.app_context():
        assert db.session.get(OutboxMessage, row_id).status is OutboxStatus.CANCELED


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
def test_start_unstop_and_yes_opt_back_in(app, client, fake, make_person, phone_for, word):
    person = make_person(phone=phone_for(7))
    _inbound(client, phone_for(7), "STOP")
    _inbound(client, phone_for(7), word)
    with app.app_context():
        p = db.session.get(Person, person.id)
        assert p.sms_consent is SmsConsent.OPTED_IN
        assert _count(app, PhoneOptOut) == 0
    assert fake.messages == []  # Twilio answers STOP, START, UNSTOP and YES itself


def test_help_gets_the_organizations_help_text(app, client, fake, make_person, phone_for):
    make_person(phone=phone_for(8))
    _inbound(client, phone_for(8), "help")
    _inbound(client, phone_for(8), "INFO")
    assert [m.body for m in fake.messages] == ["Metro Federation: reply STOP to stop."] * 2


def test_possible_opt_out_is_flagged_for_an_organizer_not_acted_on(app, client, make_user, make_person, phone_for,
                                                                    login_as):
    person = make_person(phone=phone_for(9))
    _inbound(client, phone_for(9), "please stop texting me")
    with app.app_context():
        message = db.session.scalars(select(InboundMessage)).one()
        assert message.needs_review and db.session.get(Person, person.id).sms_consent is SmsConsent.UNKNOWN
        message_id, conversation_id = message.id, message.conversation_id
    organizer = login_as(make_user("organizer"))
    page = organizer.client.get(f"/sms/inbox/{conversation_id}").get_data(as_text=True)
    assert "please stop texting me" in page and "Opt them out" in page
    response = organizer.post(f"/sms/inbox/review/{message_id}/confirm")
    assert response.status_code == 302
    with app.app_context():
        p = db.session.get(Person, person.id)
        assert p.sms_consent is SmsConsent.OPTED_OUT and p.sms_consent_source.startswith("reply confirmed by")
        assert not db.session.get(InboundMessage, message_id).needs_review


# --- status callbacks -----------------------------------------------------------------------


def _send_one(app, phone, body="Hello"):
    with app.app_context():
        row = services.queue_text(phone, body, MessageKind.REPLY)
        db.session.commit()
        dispatch_noted()
        return row.id


def _row(app, row_id):
    with app.app_context():
        row = db.session.get(OutboxMessage, row_id)
        db.session.expunge(row)
        return row


def test_status_callbacks_in_order_reach_delivered(app, client, fake, phone_for):
    row_id = _send_one(app, phone_for(10))
    results = fake.send_status_callbacks(["sent", "delivered"], transport=client_transport(client))
    assert [r[2] for r in results] == [200, 200]
    row = _row(app, row_id)
    assert row.status is OutboxStatus.DELIVERED and row.provider_status == "delivered" and row.delivered_at


def test_a_late_sent_never_overwrites_delivered(app, client, fake, phone_for):
    row_id = _send_one(app, phone_for(11))
    sid = fake.messages[0].sid
    fake.send_status_callbacks(order=[(sid, "delivered"), (sid, "sent"), (sid, "queued")],
                               transport=client_transport(client))
    assert _row(app, row_id).status is OutboxStatus.DELIVERED


def test_duplicate_callbacks_are_recorded_once(app, client, fake, phone_for):
    _send_one(app, phone_for(12))
    sid = fake.messages[0].sid
    fake.send_status_callbacks(order=[(sid, "sent"), (sid, "sent")], transport=client_transport(client))
    assert _count(app, StatusEvent) == 1


def test_undelivered_callback_keeps_the_error_code(app, client, fake, phone_for):
    row_id = _send_one(app, phone_for(13))
    sid = fake.messages[0].sid
    fake.send_status_callbacks(order=[(sid, ("undelivered", 30003))], transport=client_transport(client))
    row = _row(app, row_id)
    assert row.status is OutboxStatus.UNDELIVERED and row.error_code == 30003


def test_status_callback_with_bad_signature_changes_nothing(app, client, fake, phone_for):
    row_id = _send_one(app, phone_for(14))
    form = {"MessageSid": fake.messages[0].sid, "MessageStatus": "delivered"}
    assert signed_post(client, f"/sms/status?outbox_id={row_id}", form, signature="bad").status_code == 403
    assert _row(app, row_id).status is OutboxStatus.SENDING and _count(app, StatusEvent) == 0


def test_signature_is_checked_against_the_public_url(app, client, fake, phone_for):
    row_id = _send_one(app, phone_for(15))
    form = {"MessageSid": fake.messages[0].sid, "MessageStatus": "delivered"}
    from twilio.request_validator import RequestValidator

    # Signed for the address this server sees (http://localhost/...), not the public one: refused.
    local = RequestValidator("test-token").compute_signature(f"http://localhost/sms/status?outbox_id={row_id}", form)
    assert signed_post(client, f"/sms/status?outbox_id={row_id}", form, signature=local).status_code == 403
    app.config["PUBLIC_BASE_URL"] = ""
    assert signed_post(client, f"/sms/status?outbox_id={row_id}", form, signature=local).status_code == 200


# --- a fault while acting on a text never loses it --------------------------------------------


def test_a_text_whose_processing_fails_is_kept_for_review_and_answered(app, client, make_person, phone_for,
                                                                       monkeypatch):
    make_person(phone=phone_for(1), first_name="Rosa")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in acting on the reply")

    monkeypatch.setattr(services, "person_for_phone", broken)
    response = _inbound(client, phone_for(1), "Can I bring my daughter?", sid="SMkept")
    assert response.status_code == 200  # Twilio would not deliver it again after an error
    with app.app_context():
        message = db.session.scalars(select(InboundMessage)).one()
        assert (message.message_sid, message.body, message.needs_review) == ("SMkept", "Can I bring my daughter?",
                                                                             True)
        assert message.outcome == "unprocessed"
    assert _inbound(client, phone_for(1), "Can I bring my daughter?", sid="SMkept").status_code == 200
    assert _count(app, InboundMessage) == 1  # delivered twice, kept once


def test_a_stop_whose_processing_fails_still_opts_the_number_out(app, client, make_person, phone_for,
                                                                 monkeypatch):
    make_person(phone=phone_for(2), first_name="Ana")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in threading the reply")

    monkeypatch.setattr(services, "person_for_phone", broken)
    assert _inbound(client, phone_for(2), "STOP").status_code == 200
    assert _count(app, PhoneOptOut, PhoneOptOut.phone == phone_for(2)) == 1
    with app.app_context():
        person = db.session.scalars(select(Person).where(Person.phone == phone_for(2))).one()
        assert person.sms_consent is SmsConsent.OPTED_OUT
