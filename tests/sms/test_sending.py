"""The sending pipeline against the fake Twilio: launch, exclusions, retries, errors,
ambiguous sends reconciled, quiet hours, cancel, auto-pause and pacing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from organizer.auth.models import User
from organizer.extensions import db
from organizer.people.models import Person, SmsConsent
from organizer.sms import sending, services
from organizer.sms.models import (
    Mobilization,
    MobilizationStatus,
    OutboxMessage,
    OutboxStatus,
    PhoneFlag,
    PhoneOptOut,
)
from organizer.sms.services import AudienceFilter, MobilizationError
from organizer.sms.tasks import dispatch_noted, run_sweep
from tests.sms.conftest import at

pytestmark = pytest.mark.usefixtures("twilio_app", "org")


def _launch(app, user, body="Hearing Tuesday 6pm, {first_name}!", audience=None, now=None, schedule_at=None):
    with app.app_context():
        actor = db.session.get(User, user.id)
        mobilization = services.save_mobilization(None, title="Hearing", body=body,
                                                  audience=audience or AudienceFilter(), actor=actor)
        services.launch(mobilization, actor, now=now, schedule_at=schedule_at)
        db.session.commit()
        dispatch_noted()
        return mobilization.id


def _rows(app, mobilization_id=None):
    with app.app_context():
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if mobilization_id is not None:
            stmt = stmt.where(OutboxMessage.mobilization_id == mobilization_id)
        rows = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return rows


def test_launch_sends_one_text_per_person_and_records_sids(app, fake, make_user, bulk_people):
    organizer = make_user("organizer")
    bulk_people(5)

    mobilization_id = _launch(app, organizer)

    rows = _rows(app, mobilization_id)
    assert len(rows) == 5
    assert sorted(fake.count_by_to().values()) == [1] * 5
    by_sid = {m.sid: m for m in fake.messages}
    for row in rows:
        assert row.sid in by_sid and by_sid[row.sid].to == row.phone
        assert row.status is OutboxStatus.SENDING and row.provider_status == "queued"
        assert row.body.startswith("Hearing Tuesday 6pm, Pat") and row.encoding == "GSM-7" and row.segments == 1
        assert by_sid[row.sid].status_callback == f"http://sms.example.test/sms/status?outbox_id={row.id}"
    with app.app_context():
        assert db.session.get(Mobilization, mobilization_id).status is MobilizationStatus.DONE


def test_exclusions_are_counted_and_never_texted(app, fake, make_user, make_person, bulk_people, phone_for):
    organizer = make_user("organizer")
    bulk_people(3)
    make_person(phone=phone_for(100), sms_consent=SmsConsent.OPTED_OUT)
    make_person(phone=None)
    make_person(phone=phone_for(101))  # opted out by number (texted STOP before being a person)
    make_person(phone=phone_for(102))  # Twilio said invalid
    make_person(first_name="Sam", phone=phone_for(0))  # a household: one text to the number, to both
    with app.app_context():
        db.session.add_all([PhoneOptOut(phone=phone_for(101), source="SMS STOP reply"),
                            PhoneFlag(phone=phone_for(102), reason="invalid", error_code=21211)])
        db.session.commit()

    mobilization_id = _launch(app, organizer)

    assert sorted(fake.count_by_to()) == sorted(phone_for(i) for i in range(3))
    assert [m.body for m in fake.messages if m.to == phone_for(0)] == ["Hearing Tuesday 6pm, Pat0 & Sam!"]
    with app.app_context():
        m = db.session.get(Mobilization, mobilization_id)
        assert (m.recipients, m.excluded_opted_out, m.excluded_no_phone, m.excluded_invalid, m.excluded_duplicate) == (
            3, 2, 1, 1, 0)


def test_a_mobilization_cannot_text_one_person_twice(app, make_user, bulk_people):
    organizer = make_user("organizer")
    [person_id] = bulk_people(1)
    mobilization_id = _launch(app, organizer)
    with app.app_context():
        row = db.session.scalars(select(OutboxMessage)).one()
        db.session.add(OutboxMessage(mobilization_id=mobilization_id, person_id=person_id, phone="+13125559999",
                                     body="again", encoding="GSM-7", segments=1))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert row.id
        # Relaunching is refused too (a second click, another tab).
        mobilization = db.session.get(Mobilization, mobilization_id)
        with pytest.raises(MobilizationError):
            services.launch(mobilization, db.session.get(User, organizer.id))


def test_rate_limit_is_retried_with_backoff_and_sent_once(app, fake, make_user, bulk_people):
    organizer = make_user("organizer")
    bulk_people(1)
    fake.fail_next(2, status=429, code=20429)

    mobilization_id = _launch(app, organizer)

    [row] = _rows(app, mobilization_id)
    assert row.status is OutboxStatus.QUEUED and row.error_code == 20429 and fake.messages == []
    assert row.not_before > row.created_at
    later = row.not_before + timedelta(seconds=1)
    with app.app_context():
        sending.run_dispatcher(mobilization_id, now_fn=lambda: later)  # 429 again: backs off further
        sending.run_dispatcher(mobilization_id, now_fn=lambda: later + timedelta(minutes=5))
    [row] = _rows(app, mobilization_id)
    assert row.sid is not None and row.attempts == 3 and row.error_code is None
    assert len(fake.messages) == 1


def test_unsubscribed_number_opts_the_person_out_without_retry(app, fake, make_user, make_person, phone_for):
    organizer = make_user("organizer")
    person = make_person(phone=phone_for(7))
    fake.error_for_number(phone_for(7), 21610)

    mobilization_id = _launch(app, organizer)

    [row] = _rows(app, mobilization_id)
    assert row.status is OutboxStatus.FAILED and row.error_code == 21610 and row.attempts == 1
    with app.app_context():
        p = db.session.get(Person, person.id)
        assert p.sms_consent is SmsConsent.OPTED_OUT and p.sms_consent_source.startswith("Twilio 21610")
        assert db.session.scalar(select(PhoneOptOut.phone)) == phone_for(7)


@pytest.mark.parametrize("code", [21211, 21614])
def test_invalid_number_is_flagged_and_left_out_next_time(app, fake, make_user, make_person, phone_for, code):
    organizer = make_user("organizer")
    make_person(phone=phone_for(8))
    make_person(phone=phone_for(9))
    fake.error_for_number(phone_for(8), code)

    _launch(app, organizer)
    second = _launch(app, organizer, body="Second text")

    with app.app_context():
        assert db.session.scalar(select(PhoneFlag.error_code).where(PhoneFlag.phone == phone_for(8))) == code
        assert db.session.get(Mobilization, second).excluded_invalid == 1
    assert fake.count_by_to() == {phone_for(8): 0, phone_for(9): 2} or fake.count_by_to() == {phone_for(9): 2}


@pytest.mark.parametrize("code", [21617, 30003, 30005, 30006, 30007])
def test_other_permanent_codes_fail_with_the_reason(app, fake, make_user, make_person, phone_for, code):
    organizer = make_user("organizer")
    make_person(phone=phone_for(3))
    fake.error_for_number(phone_for(3), code)
    mobilization_id = _launch(app, organizer)
    [row] = _rows(app, mobilization_id)
    assert row.status is OutboxStatus.FAILED and row.error_code == code and f"{code}" in row.error_message


def test_ambiguous_500_after_recording_is_reconciled_never_resent(app, fake, make_user, make_person, phone_for):
    organizer = make_user("organizer")
    make_person(phone=phone_for(1))
    fake.fail_after_recording_next(1, status=500)

    mobilization_id = _launch(app, organizer)

    [row] = _rows(app, mobilization_id)
    assert row.status is OutboxStatus.SENDING and row.sid is None  # left for the reaper
    with app.app_context():
        report = run_sweep(row.claimed_at + timedelta(minutes=5))
        assert report.reconciled == 1 and report.requeued == 0
    [row] = _rows(app, mobilization_id)
    assert row.sid == fake.messages[0].sid
    assert len(fake.messages) == 1
    with app.app_context():
        assert db.session.get(Mobilization, mobilization_id).status is MobilizationStatus.DONE


def test_a_send_that_never_reached_twilio_is_requeued_and_sent_once(app, fake, make_user, make_person, phone_for):
    organizer = make_user("organizer")
    make_person(phone=phone_for(2))
    fake.fail_next(1, status=502, code=502)  # a gateway error; nothing recorded

    mobilization_id = _launch(app, organizer)
    [row] = _rows(app, mobilization_id)
    assert row.status is OutboxStatus.SENDING and row.sid is None and fake.messages == []
    with app.app_context():
        # Not stale yet: nothing happens (the request could still be in flight).
        assert run_sweep(row.claimed_at + timedelta(seconds=5)).requeued == 0
        later = row.claimed_at + timedelta(minutes=5)
        assert run_sweep(later).requeued == 1
        sending.run_dispatcher(mobilization_id, now_fn=lambda: later)
    [row] = _rows(app, mobilization_id)
    assert row.sid == fake.messages[0].sid and len(fake.messages) == 1


def test_status_callback_with_the_outbox_id_settles_an_ambiguous_send(app, fake, client, make_user, make_person,
                                                                       phone_for):
    from tests.sms.conftest import client_transport

    organizer = make_user("organizer")
    make_person(phone=phone_for(4))
    fake.fail_after_recording_next(1, status=500)
    mobilization_id = _launch(app, organizer)

    fake.send_status_callbacks(["delivered"], transport=client_transport(client))

    [row] = _rows(app, mobilization_id)
    assert row.sid == fake.messages[0].sid and row.status is OutboxStatus.DELIVERED
    with app.app_context():
        assert run_sweep(row.claimed_at + timedelta(hours=1)).reconciled == 0
    assert len(fake.messages) == 1


def test_unknown_when_the_provider_cannot_be_asked(app, fake, make_user, make_person, phone_for):
    from organizer.sms.providers import ConsoleBackend, RetryableSendError

    organizer = make_user("organizer")
    make_person(phone=phone_for(5))
    fake.fail_after_recording_next(1, status=500)
    mobilization_id = _launch(app, organizer)
    [row] = _rows(app, mobilization_id)

    class Down(ConsoleBackend):
        def list_recent(self, to, since):
            raise RetryableSendError(None, "Twilio is down")

    with app.app_context():
        assert sending.reconcile_stale(row.claimed_at + timedelta(minutes=5), Down()).unknown == 0
        assert sending.reconcile_stale(row.claimed_at + timedelta(hours=2), Down()).unknown == 1
    [row] = _rows(app, mobilization_id)
    assert row.status is OutboxStatus.UNKNOWN and "Twilio is down" in row.error_message


def test_quiet_hours_defer_until_morning_in_the_recipients_zone(app, fake, make_user, make_person, phone_for):
    app.config["SMS_QUIET_HOURS"] = "21:00-08:00"
    organizer = make_user("organizer")
    make_person(phone=phone_for(6))  # 312: Chicago, like the federation
    make_person(phone="+12125550123")  # 212: New York, an hour ahead
    evening = at("2026-03-10T01:30+00:00")  # 20:30 in Chicago, 21:30 in New York (both on DST)

    with app.app_context():
        actor = db.session.get(User, organizer.id)
        m = services.save_mobilization(None, title="Late", body="Tonight!", audience=AudienceFilter(), actor=actor)
        services.launch(m, actor, now=evening)
        db.session.commit()
        services.take_noted_dispatches()
        sending.run_dispatcher(m.id, now_fn=lambda: evening)
        mobilization_id = m.id
    # Chicago: sent, and Twilio may hold it only until 21:00 there (30 minutes).
    assert [(m.to, m.validity_period) for m in fake.messages] == [(phone_for(6), "1800")]
    rows = {r.phone: r for r in _rows(app, mobilization_id)}
    # New York is quiet; it waits for 08:00 in both its zone and the federation's (13:00 UTC).
    assert rows["+12125550123"].status is OutboxStatus.QUEUED
    assert rows["+12125550123"].not_before == at("2026-03-10T13:00+00:00")
    with app.app_context():
        sending.run_dispatcher(mobilization_id, now_fn=lambda: at("2026-03-10T12:30+00:00"))
        assert len(fake.messages) == 1
        sending.run_dispatcher(mobilization_id, now_fn=lambda: at("2026-03-10T13:00+00:00"))
    assert fake.count_by_to() == {phone_for(6): 1, "+12125550123": 1}
    # Sent at 09:00 in New York: held at most 4 hours (SMS_MAX_VALIDITY_SECONDS), far from 21:00.
    assert fake.messages[1].validity_period == "14400"


def test_validity_period_never_reaches_into_quiet_hours(app):
    app.config["SMS_QUIET_HOURS"] = "21:00-08:00"
    with app.app_context():
        seconds = sending.validity_for("+13125550100", at("2026-03-10T01:00+00:00"), app.config, "America/Chicago")
    assert seconds == 3600  # 20:00 in Chicago: one hour left


def test_cancel_stops_texts_not_yet_sent(app, fake, make_user, bulk_people):
    organizer = make_user("organizer")
    bulk_people(4)
    with app.app_context():
        actor = db.session.get(User, organizer.id)
        m = services.save_mobilization(None, title="T", body="Hi", audience=AudienceFilter(), actor=actor)
        services.launch(m, actor)
        db.session.commit()
        services.take_noted_dispatches()  # the worker has not started
        claimed = sending.claim_next(m.id, sending.utcnow())
        services.cancel(db.session.get(Mobilization, m.id), actor)
        db.session.commit()
        assert sending.process(claimed).status == "canceled"  # re-checked just before calling Twilio
        mobilization_id = m.id
    assert fake.messages == []
    assert {r.status for r in _rows(app, mobilization_id)} == {OutboxStatus.CANCELED}


def test_repeated_carrier_filtering_pauses_the_mobilization(app, fake, make_user, bulk_people, phone_for):
    app.config["SMS_PAUSE_THRESHOLD"] = 3
    organizer = make_user("organizer")
    bulk_people(10)
    for i in range(10):
        fake.error_for_number(phone_for(i), 30007)

    mobilization_id = _launch(app, organizer)

    with app.app_context():
        m = db.session.get(Mobilization, mobilization_id)
        assert m.status is MobilizationStatus.PAUSED and "30007" in m.paused_reason
        assert db.session.scalar(select(func.count()).where(OutboxMessage.status == OutboxStatus.QUEUED)) == 7
    assert len(fake.messages) == 0


def test_pacing_spaces_sends_per_sender(app):
    with app.app_context():
        waits = [sending.reserve_slot("+13125550199", 1, 2.0, now_ts=1000.0) for _ in range(3)]
        assert waits == [0.0, 0.5, 1.0]
        assert sending.reserve_slot("+13125550199", 2, 2.0, now_ts=1010.0) == 0.0
        assert sending.reserve_slot("MG1", 1, 0, now_ts=1000.0) == 0.0


def test_scheduled_mobilization_starts_when_due(app, fake, make_user, bulk_people):
    organizer = make_user("organizer")
    bulk_people(2)
    now = sending.utcnow()
    mobilization_id = _launch(app, organizer, now=now, schedule_at=now + timedelta(hours=1))
    assert fake.messages == []
    with app.app_context():
        assert run_sweep(now + timedelta(minutes=30)).started == 0
        assert db.session.get(Mobilization, mobilization_id).status is MobilizationStatus.SCHEDULED
    with app.app_context():
        report = run_sweep(now + timedelta(hours=1, seconds=1))
        assert report.started == 1
        sending.run_dispatcher(mobilization_id, now_fn=lambda: now + timedelta(hours=1, seconds=2))
    assert len(fake.messages) == 2


def test_sweep_command_reports_what_it_did(app, runner, make_user, make_person, phone_for, fake):
    organizer = make_user("organizer")
    make_person(phone=phone_for(12))
    fake.fail_after_recording_next(1, status=500)
    _launch(app, organizer)
    [row] = _rows(app)
    later = (row.claimed_at + timedelta(minutes=5)).isoformat()
    result = runner.invoke(args=["sms", "sweep", "--at", later])
    assert result.exit_code == 0, result.output
    assert "reconciled 1, requeued 0, unknown 0" in result.output
    assert _rows(app)[0].sid == fake.messages[0].sid


def test_carrier_filtering_reported_by_status_callbacks_pauses_too(app, client, fake, make_user, bulk_people):
    from tests.sms.conftest import client_transport

    app.config["SMS_PAUSE_THRESHOLD"] = 2
    organizer = make_user("organizer")
    bulk_people(3)
    mobilization_id = _launch(app, organizer)
    sids = [m.sid for m in fake.messages]
    with app.app_context():  # the mobilization is done sending; make it look mid-way to see the pause
        db.session.get(Mobilization, mobilization_id).status = MobilizationStatus.SENDING
        db.session.commit()
    fake.send_status_callbacks(order=[(sid, ("undelivered", 30007)) for sid in sids[:2]],
                               transport=client_transport(client))
    with app.app_context():
        m = db.session.get(Mobilization, mobilization_id)
        assert m.status is MobilizationStatus.PAUSED and m.paused_reason == "2|30007"


def test_an_organizer_decides_about_a_text_whose_outcome_is_unknown(app, fake, make_user, make_person, phone_for,
                                                                    login_as):
    from organizer.sms.providers import ConsoleBackend, RetryableSendError

    organizer = make_user("organizer")
    make_person(phone=phone_for(13))
    fake.fail_after_recording_next(1, status=500)
    mobilization_id = _launch(app, organizer)
    [row] = _rows(app, mobilization_id)

    class Down(ConsoleBackend):
        def list_recent(self, to, since):
            raise RetryableSendError(None, "Twilio is down")

    with app.app_context():
        sending.reconcile_stale(row.claimed_at + timedelta(hours=2), Down())
    staff = login_as(organizer)
    page = staff.client.get(f"/sms/{mobilization_id}").get_data(as_text=True)
    assert "Texts whose outcome is unknown" in page
    staff.post(f"/sms/outbox/{row.id}/sent")
    [row] = _rows(app, mobilization_id)
    assert row.status is OutboxStatus.SENT and row.error_message.startswith("marked sent by")
    assert len(fake.messages) == 1  # deciding never sends by itself


def test_a_rate_limit_holds_every_sender_for_retry_after(app, fake, make_user, bulk_people):
    organizer = make_user("organizer")
    bulk_people(3)
    fake.fail_next(1, status=429, code=20429, retry_after=7)
    waits: list[float] = []
    with app.app_context():
        actor = db.session.get(User, organizer.id)
        m = services.save_mobilization(None, title="T", body="Hi", audience=AudienceFilter(), actor=actor)
        services.launch(m, actor)
        db.session.commit()
        services.take_noted_dispatches()
        sending.run_dispatcher(m.id, sleep=waits.append)
        mobilization_id = m.id
    # The first text met the limit; the next two waited about 7 seconds before going out.
    assert len(waits) == 2 and all(6 < w <= 7 for w in waits)
    assert len(fake.messages) == 2
    rows = _rows(app, mobilization_id)
    assert [r.error_code for r in rows if r.sid is None] == [20429]


def test_ambiguous_500_is_found_in_the_message_list_within_seconds(app, fake, make_user, make_person, phone_for):
    app.config["SMS_AMBIGUOUS_RECHECK_SECONDS"] = 0.2
    organizer = make_user("organizer")
    make_person(phone=phone_for(1))
    make_person(phone=phone_for(2))
    fake.fail_after_recording_next(1, status=500)

    mobilization_id = _launch(app, organizer)

    # The sender itself looked the ambiguous text up: no wait for the two-minute sweep.
    rows = _rows(app, mobilization_id)
    assert [r.sid for r in rows] == [m.sid for m in fake.messages] and len(fake.messages) == 2
    assert "reconciled" in rows[0].error_message
    with app.app_context():
        assert db.session.get(Mobilization, mobilization_id).status is MobilizationStatus.DONE


def test_ambiguous_send_not_in_the_list_is_left_for_the_sweep(app, fake, make_user, make_person, phone_for):
    app.config["SMS_AMBIGUOUS_RECHECK_SECONDS"] = 0.2
    organizer = make_user("organizer")
    make_person(phone=phone_for(2))
    fake.fail_next(1, status=502, code=502)  # nothing recorded: only the sweep may requeue it

    mobilization_id = _launch(app, organizer)

    [row] = _rows(app, mobilization_id)
    assert row.status is OutboxStatus.SENDING and row.sid is None and fake.messages == []


def test_a_rate_limit_without_retry_after_slows_the_pace_instead_of_holding_the_sender(
        app, fake, make_user, bulk_people):
    app.config["SMS_SEGMENTS_PER_SECOND"] = "10"
    organizer = make_user("organizer")
    bulk_people(3)
    fake.fail_next(1, status=429, code=20429)
    waits: list[float] = []
    with app.app_context():
        actor = db.session.get(User, organizer.id)
        m = services.save_mobilization(None, title="T", body="Hi", audience=AudienceFilter(), actor=actor)
        services.launch(m, actor)
        db.session.commit()
        services.take_noted_dispatches()
        sending.run_dispatcher(m.id, sleep=waits.append)
    # At 10 a second, the refused text costs the others one more tenth of a second, not seconds
    # (on a slow machine the refused one may come due again and go out in the same run).
    assert len(fake.messages) >= 2
    assert waits and max(waits) <= 0.35
