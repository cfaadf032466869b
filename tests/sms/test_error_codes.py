"""Twilio's error codes acted on as Twilio documents them (``organizer.sms.error_codes``):
numbers flagged and skipped until staff clear them, queue overflows sent again, a sender
that cannot send pausing the mobilization at once, unknown codes counted; Advanced
Opt-Out's ``OptOutType``; and what Twilio billed stored beside our estimate."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from organizer.auth.models import User
from organizer.extensions import db
from organizer.people.models import Person, SmsConsent
from organizer.sms import sending, services
from organizer.sms.error_codes import RULES, Action, rule_for
from organizer.sms.models import (
    InboundMessage,
    MessageKind,
    Mobilization,
    MobilizationStatus,
    OutboxMessage,
    OutboxStatus,
    PhoneFlag,
    PhoneOptOut,
)
from organizer.sms.services import AudienceFilter
from organizer.sms.tasks import dispatch_noted
from tests.sms.conftest import client_transport, signed_post

pytestmark = pytest.mark.usefixtures("twilio_app", "org")


def _launch(app, user, body="Hearing Tuesday 6pm, {first_name}!"):
    with app.app_context():
        actor = db.session.get(User, user.id)
        mobilization = services.save_mobilization(None, title="Hearing", body=body, audience=AudienceFilter(),
                                                  actor=actor)
        services.launch(mobilization, actor)
        db.session.commit()
        dispatch_noted()
        return mobilization.id


def _rows(app, mobilization_id):
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.mobilization_id == mobilization_id)
                                       .order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def _mobilization(app, mobilization_id):
    with app.app_context():
        m = db.session.get(Mobilization, mobilization_id)
        db.session.expunge(m)
        return m


# --- the table --------------------------------------------------------------------------------


def test_the_table_covers_the_codes_twilio_documents_for_outgoing_texts():
    required = {21211, 21408, 21610, 21611, 21614, *range(30001, 30011), 30022, 30032, 30034}
    assert required <= set(RULES)
    assert any(code // 1000 == 63 for code in RULES)


@pytest.mark.parametrize(("code", "action", "pause"), [
    (30006, Action.FLAG, None),  # landline: "do not retry the same SMS to that destination"
    (30005, Action.FLAG, None),  # the number does not exist
    (30004, Action.FLAG, None),  # blocked
    (30003, Action.FAIL, None),  # phone off: the next mobilization tries again
    (30001, Action.RETRY, "repeated"),  # queue overflow: never sent
    (30032, Action.FAIL, "now"),  # unverified toll-free sender: every text would fail
    (30034, Action.FAIL, "now"),
    (21610, Action.OPT_OUT, None),
])
def test_each_code_has_the_action_twilio_documents(code, action, pause):
    rule = rule_for(code)
    assert (rule.action, rule.pause, rule.known) == (action, pause, True)


def test_an_unknown_code_fails_the_text_and_is_marked_unknown():
    rule = rule_for(39999)
    assert (rule.action, rule.known) == (Action.FAIL, False)


# --- flagged numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [30004, 30005, 30006])
def test_a_number_failing_delivery_is_flagged_and_left_out_of_the_next_mobilization(
        app, client, fake, make_user, make_person, phone_for, code):
    organizer = make_user("organizer")
    make_person(phone=phone_for(1))
    make_person(phone=phone_for(2))
    first = _launch(app, organizer)
    landline_sid = next(m.sid for m in fake.messages if m.to == phone_for(1))
    fake.send_status_callbacks(order=[(landline_sid, ("undelivered", code))], transport=client_transport(client))

    second = _launch(app, organizer, body="Second text")

    with app.app_context():
        flag = db.session.scalar(select(PhoneFlag).where(PhoneFlag.phone == phone_for(1)))
        assert flag.error_code == code and flag.reason == rule_for(code).title
        assert db.session.get(Mobilization, second).excluded_invalid == 1
    assert fake.count_by_to() == {phone_for(1): 1, phone_for(2): 2}
    assert [r.status for r in _rows(app, first) if r.phone == phone_for(1)] == [OutboxStatus.UNDELIVERED]


def test_a_landline_refused_when_sending_is_flagged_too(app, fake, make_user, make_person, phone_for):
    organizer = make_user("organizer")
    make_person(phone=phone_for(3))
    fake.error_for_number(phone_for(3), 30006)
    [row] = _rows(app, _launch(app, organizer))
    assert row.status is OutboxStatus.FAILED and row.error_code == 30006
    with app.app_context():
        assert db.session.scalar(select(PhoneFlag.error_code).where(PhoneFlag.phone == phone_for(3))) == 30006


def test_an_unreachable_handset_fails_only_this_text(app, client, fake, make_user, make_person, phone_for):
    organizer = make_user("organizer")
    make_person(phone=phone_for(4))
    _launch(app, organizer)
    fake.send_status_callbacks(order=[(fake.messages[0].sid, ("undelivered", 30003))],
                               transport=client_transport(client))
    _launch(app, organizer, body="Second text")
    assert fake.count_by_to() == {phone_for(4): 2}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PhoneFlag)) == 0


def test_staff_see_flagged_numbers_and_clearing_one_makes_it_textable(app, fake, make_user, make_person, phone_for,
                                                                     login_as):
    organizer = make_user("organizer")
    person = make_person(phone=phone_for(5), first_name="Lupe")
    fake.error_for_number(phone_for(5), 30006)
    _launch(app, organizer)
    staff = login_as(organizer)

    listing = staff.client.get("/sms/flags").get_data(as_text=True)
    assert "Landline or unreachable carrier" in listing and "Lupe" in listing
    page = staff.client.get(f"/people/{person.id}").get_data(as_text=True)
    assert 'data-testid="phone-flag"' in page and "30006" in page

    response = staff.post("/sms/flags/clear", {"phone": phone_for(5)})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PhoneFlag)) == 0
        assert services.blocked_reason(phone_for(5), db.session.get(Person, person.id)) is None
        from organizer.audit.models import AuditEvent

        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.object_type == "sms_phone_flags")) \
            == "clear_flag"
    assert "No flagged numbers." in staff.client.get("/sms/flags").get_data(as_text=True)


def test_leaders_cannot_list_or_clear_flags(app, make_user, login_as):
    leader = login_as(make_user("leader"))
    assert leader.client.get("/sms/flags").status_code == 403
    assert leader.post("/sms/flags/clear", {"phone": "+13125550001"}).status_code == 403


# --- retry, pause, unknown codes ------------------------------------------------------------


def test_a_queue_overflow_is_sent_again_later_once(app, client, fake, make_user, make_person, phone_for):
    organizer = make_user("organizer")
    make_person(phone=phone_for(6))
    mobilization_id = _launch(app, organizer)
    first_sid = fake.messages[0].sid
    fake.send_status_callbacks(order=[(first_sid, ("failed", 30001))], transport=client_transport(client))

    [row] = _rows(app, mobilization_id)
    assert row.status is OutboxStatus.QUEUED and row.sid is None and row.error_code == 30001
    assert _mobilization(app, mobilization_id).status is MobilizationStatus.SENDING  # not done: a text waits
    with app.app_context():
        sending.run_dispatcher(mobilization_id, now_fn=lambda: row.not_before + timedelta(seconds=1))
    [row] = _rows(app, mobilization_id)
    assert row.sid is not None and row.sid != first_sid
    assert fake.count_by_to() == {phone_for(6): 2}
    # A late duplicate about the old SID does not take the new text back.
    fake.send_status_callbacks(order=[(first_sid, ("undelivered", 30001))], transport=client_transport(client))
    assert _rows(app, mobilization_id)[0].sid == row.sid
    assert _mobilization(app, mobilization_id).status is MobilizationStatus.DONE


def test_an_unverified_toll_free_sender_pauses_at_the_first_failure(app, client, fake, make_user, bulk_people,
                                                                     login_as):
    organizer = make_user("organizer")
    bulk_people(3)
    mobilization_id = _launch(app, organizer)
    with app.app_context():  # make it look mid-way, as a long list would be
        db.session.get(Mobilization, mobilization_id).status = MobilizationStatus.SENDING
        db.session.commit()
    fake.send_status_callbacks(order=[(fake.messages[0].sid, ("undelivered", 30032))],
                               transport=client_transport(client))

    m = _mobilization(app, mobilization_id)
    assert m.status is MobilizationStatus.PAUSED and m.paused_reason == "code:30032"
    page = login_as(organizer).client.get(f"/sms/{mobilization_id}").get_data(as_text=True)
    assert "Twilio error 30032 (Toll-free number not verified)" in page


def test_an_unregistered_sender_refused_at_send_time_pauses_and_keeps_the_rest(app, fake, make_user, bulk_people,
                                                                               phone_for):
    organizer = make_user("organizer")
    bulk_people(4)
    fake.error_for_number(phone_for(0), 30034)
    mobilization_id = _launch(app, organizer)
    m = _mobilization(app, mobilization_id)
    assert m.status is MobilizationStatus.PAUSED and m.paused_reason == "code:30034"
    statuses = [r.status for r in _rows(app, mobilization_id)]
    assert statuses.count(OutboxStatus.FAILED) == 1 and statuses.count(OutboxStatus.QUEUED) == 3


def test_unknown_codes_fail_the_text_and_are_counted_on_the_results_page(app, client, fake, make_user, make_person,
                                                                          phone_for, login_as):
    organizer = make_user("organizer")
    make_person(phone=phone_for(7))
    make_person(phone=phone_for(8))
    mobilization_id = _launch(app, organizer)
    fake.send_status_callbacks(order=[(m.sid, ("undelivered", 39999)) for m in fake.messages],
                               transport=client_transport(client))
    assert {r.status for r in _rows(app, mobilization_id)} == {OutboxStatus.UNDELIVERED}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PhoneFlag)) == 0
    page = login_as(organizer).client.get(f"/sms/{mobilization_id}").get_data(as_text=True)
    errors = page.split('data-testid="error-codes"')[1].split("</table>")[0]
    assert "39999" in errors and "<td>2</td>" in errors and "unrecognized code" in errors


# --- Advanced Opt-Out ---------------------------------------------------------------------------


def _inbound(client, phone, body, **extra):
    form = {"MessageSid": f"SM{abs(hash((phone, body, tuple(extra.items())))):032d}"[:34], "From": phone,
            "To": "+13125550199", "Body": body, "AccountSid": "AC" + "1" * 32, **extra}
    return signed_post(client, "/sms/inbound", form)


def test_a_federations_own_stop_word_opts_out_and_keeps_the_body(app, client, make_person, phone_for):
    person = make_person(phone=phone_for(9))
    assert _inbound(client, phone_for(9), "BASTA", OptOutType="STOP").status_code == 200
    with app.app_context():
        message = db.session.scalars(select(InboundMessage)).one()
        assert (message.body, message.outcome) == ("BASTA", "opted_out")
        assert db.session.get(Person, person.id).sms_consent is SmsConsent.OPTED_OUT
        assert db.session.scalar(select(PhoneOptOut.phone)) == phone_for(9)
        # Twilio sent the federation's configured reply: no second confirmation from us.
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_opt_out_type_start_and_help(app, client, make_person, phone_for):
    person = make_person(phone=phone_for(10), sms_consent=SmsConsent.OPTED_OUT)
    _inbound(client, phone_for(10), "VOLVER", OptOutType="START")
    _inbound(client, phone_for(10), "INFO POR FAVOR", OptOutType="HELP")
    with app.app_context():
        assert db.session.get(Person, person.id).sms_consent is SmsConsent.OPTED_IN
        outcomes = list(db.session.execute(select(InboundMessage.body, InboundMessage.outcome)
                                           .order_by(InboundMessage.id)))
        assert outcomes == [("VOLVER", "opted_in"), ("INFO POR FAVOR", "help")]
        assert db.session.scalar(select(func.count()).where(OutboxMessage.kind == MessageKind.AUTO_REPLY)) == 0


def test_without_opt_out_type_the_body_is_read_as_before(app, client, make_person, phone_for):
    make_person(phone=phone_for(11))
    _inbound(client, phone_for(11), "BASTA")
    with app.app_context():
        assert db.session.scalar(select(InboundMessage.outcome)) is None
        assert db.session.scalar(select(func.count()).select_from(PhoneOptOut)) == 0


# --- what Twilio billed -----------------------------------------------------------------------


def test_twilio_segments_and_price_are_stored_and_shown_beside_the_estimate(app, client, fake, make_user,
                                                                             make_person, phone_for, login_as):
    organizer = make_user("organizer")
    make_person(phone=phone_for(12))
    mobilization_id = _launch(app, organizer, body="Hearing Tuesday 6pm!")
    [row] = _rows(app, mobilization_id)
    assert (row.segments, row.provider_segments) == (1, 1)  # the fake answers num_segments "1"
    form = {"MessageSid": row.sid, "MessageStatus": "delivered", "AccountSid": "AC" + "1" * 32,
            "NumSegments": "1", "Price": "-0.00790", "PriceUnit": "USD"}
    assert signed_post(client, f"/sms/status?outbox_id={row.id}", form).status_code == 200
    [row] = _rows(app, mobilization_id)
    assert row.price == Decimal("0.00790") and row.price_unit == "USD"

    page = login_as(organizer).client.get(f"/sms/{mobilization_id}").get_data(as_text=True)
    cost = page.split('data-testid="cost"')[1].split("</td>")[0]
    assert "$0.01 / 0.0079 USD" in cost
    assert "1 / 1" in page.split('data-testid="segments"')[1].split("</td>")[0]


def test_the_readme_lists_every_code_of_the_table():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for code in RULES:
        assert f"| {code} |" in readme
