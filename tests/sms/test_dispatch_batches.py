"""The sender loop's lean path (issue 11): one query before each provider call, and the SIDs
written a batch at a time with the next claim, without giving up any guarantee: a STOP that
lands mid-batch still stops the next text, a sender that dies with SIDs not yet written
doubles nothing (the sweep finds them in Twilio's list), and a status callback that came
first is never overwritten."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from organizer.extensions import db
from organizer.sms import sending
from organizer.sms.models import OutboxMessage, OutboxStatus, PhoneOptOut
from organizer.sms.providers import TwilioBackend
from tests.sms.conftest import ACCOUNT, SENDER, TOKEN, launch_to_everyone

pytestmark = pytest.mark.usefixtures("twilio_app", "org")


def _rows(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


class _Counter:
    """Statements and commits the database saw (SQLAlchemy engine events)."""

    def __init__(self) -> None:
        self.statements = 0
        self.commits = 0

    def attach(self, engine) -> None:
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def detach(self, engine) -> None:
        event.remove(engine, "before_cursor_execute", self._statement)
        event.remove(engine, "commit", self._commit)

    def _statement(self, *args) -> None:
        self.statements += 1

    def _commit(self, *args) -> None:
        self.commits += 1


def test_a_batch_costs_one_query_per_text_and_one_commit_for_its_sids(app, fake, make_user, bulk_people):
    texts = 40  # two batches of 20
    bulk_people(texts)
    mobilization_id = launch_to_everyone(app, make_user("organizer").id)
    counter = _Counter()
    with app.app_context():
        counter.attach(db.engine)
        try:
            sending.run_dispatcher(mobilization_id)
        finally:
            counter.detach(db.engine)

    assert len(fake.messages) == texts
    rows = _rows(app)
    assert [r.sid for r in rows] == [m.sid for m in fake.messages]  # every SID written, none twice
    assert all(r.status is OutboxStatus.SENDING and r.provider_status == "queued" for r in rows)
    assert all(r.provider_segments == 1 for r in rows)  # the billing count, in the same statement
    # Main before issue 11: five statements and two commits per text.
    # One check per text; per batch one claim (with the SIDs and the heartbeat); a few
    # statements around the loop (the organization, the empty last claim, the finish).
    assert counter.statements <= texts + 10, counter.statements
    assert counter.commits <= texts + 8, counter.commits  # the per-text commits end reads only


def test_a_stop_that_lands_mid_batch_stops_the_next_text(app, fake, make_user, bulk_people, phone_for,
                                                          monkeypatch):
    bulk_people(3)
    mobilization_id = launch_to_everyone(app, make_user("organizer").id)
    real_send = TwilioBackend.send

    def send_then_stop(self, request):
        result = real_send(self, request)
        if request.to == phone_for(0):  # the second person texts STOP while the first text goes out
            db.session.add(PhoneOptOut(phone=phone_for(1), source="SMS STOP reply"))
            db.session.commit()
        return result

    monkeypatch.setattr(TwilioBackend, "send", send_then_stop)
    with app.app_context():
        sending.run_dispatcher(mobilization_id)

    assert sorted(fake.count_by_to()) == [phone_for(0), phone_for(2)]
    by_phone = {r.phone: r for r in _rows(app)}
    assert by_phone[phone_for(1)].status is OutboxStatus.CANCELED and by_phone[phone_for(1)].sid is None
    assert by_phone[phone_for(0)].sid and by_phone[phone_for(2)].sid


def test_a_sender_killed_before_writing_its_sids_doubles_nothing(app, fake, fake_server, make_user, bulk_people):
    people = 5
    bulk_people(people)
    mobilization_id = launch_to_everyone(app, make_user("organizer").id)

    class Killed(BaseException):
        """The process dies (SIGKILL): nothing after it runs, no handler, no flush."""

    real_send = TwilioBackend.send
    sent: list[str] = []

    def send_until_killed(self, request):
        if len(sent) == 3:
            raise Killed
        result = real_send(self, request)
        sent.append(result.sid)
        return result

    with app.app_context():
        # Patched by hand, not with monkeypatch: the real send must be back for the rerun below.
        TwilioBackend.send = send_until_killed  # type: ignore[method-assign]
        try:
            with pytest.raises(Killed):
                sending.run_dispatcher(mobilization_id)
        finally:
            TwilioBackend.send = real_send  # type: ignore[method-assign]
            db.session.rollback()

    rows = _rows(app)
    assert len(fake.messages) == 3 and all(r.sid is None for r in rows)  # taken by Twilio, not yet written
    provider = TwilioBackend(ACCOUNT, TOKEN, from_number=SENDER, api_base_url=fake_server.url, timeout=10)
    try:
        with app.app_context():
            report = sending.reconcile_stale(rows[0].claimed_at + timedelta(minutes=5), provider)
            assert (report.reconciled, report.requeued, report.unknown) == (3, 2, 0)
            sending.run_dispatcher(mobilization_id, now_fn=lambda: rows[0].claimed_at + timedelta(minutes=5))
    finally:
        provider.close()

    assert sorted(fake.count_by_to().values()) == [1] * people
    assert sorted(r.sid for r in _rows(app)) == sorted(m.sid for m in fake.messages)


def test_sids_written_late_never_undo_a_status_callback(app, make_user, make_person, phone_for):
    person = make_person(phone=phone_for(1))
    now = sending.utcnow()
    with app.app_context():
        row = OutboxMessage(person_id=person.id, phone=phone_for(1), body="Hi", encoding="GSM-7", segments=1,
                            status=OutboxStatus.SENDING, attempts=1, not_before=now, created_at=now, updated_at=now)
        db.session.add(row)
        db.session.commit()
        # Twilio's "delivered" callback arrived before the sender wrote the SID it was given.
        sending.apply_status_callback("SM1", "delivered", None, row.id, now)
        db.session.commit()
        sending.record_accepted_many([sending.Accepted(row.id, "SM1", "queued", 2, now)])
        db.session.commit()
        row = db.session.get(OutboxMessage, row.id, populate_existing=True)
        assert (row.sid, row.status, row.provider_status, row.provider_segments) == (
            "SM1", OutboxStatus.DELIVERED, "delivered", 2)


def test_in_the_worker_the_checks_take_no_write_lock(app, fake, make_user, bulk_people):
    """The worker begins every SQLite transaction ``BEGIN IMMEDIATE`` (organizer.db): the
    per-text check only reads, so it begins deferred and makes no other writer wait."""
    texts = 20
    bulk_people(texts)
    mobilization_id = launch_to_everyone(app, make_user("organizer").id)
    begins: list[str] = []

    def seen(conn, cursor, statement, *args):
        if statement.upper().startswith("BEGIN"):
            begins.append(statement)

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's write lock only")
        from organizer.db import write_transactions

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            with write_transactions():
                sending.run_dispatcher(mobilization_id)
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)

    assert len(fake.messages) == texts
    assert 2 <= len(begins) <= 6, begins  # the claims (with the SIDs), the organization, the finish


def test_a_row_the_sweep_requeued_while_it_waited_in_a_batch_is_sent_once(app, fake, make_user, bulk_people,
                                                                          phone_for, monkeypatch):
    """A claimed row waits in its sender's batch; on a slow machine the sweep may take it for an
    interrupted send (claimed longer ago than SMS_SENDING_STALE_SECONDS, absent from Twilio's
    list), requeue it, and another sender claim and send it: the first sender must not send
    it again when its turn comes."""
    bulk_people(3)
    mobilization_id = launch_to_everyone(app, make_user("organizer").id)
    real_send = TwilioBackend.send
    other_sender: list[int] = []

    def send_while_the_sweep_requeues(self, request):
        result = real_send(self, request)
        if request.to == phone_for(0):
            row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.phone == phone_for(1)))
            sending._release(row, sending.utcnow(), "send interrupted and not found at the provider; requeued",
                             count_attempt=True)
            db.session.commit()
            other_sender.append(sending.claim_row(row.id, sending.utcnow()))
        return result

    monkeypatch.setattr(TwilioBackend, "send", send_while_the_sweep_requeues)
    with app.app_context():
        sending.run_dispatcher(mobilization_id)
        assert fake.count_by_to().get(phone_for(1), 0) == 0  # left to the sender that claimed it last
        assert sending.process(other_sender[0]).status == "sent"

    assert sorted(fake.count_by_to().values()) == [1, 1, 1]
    assert {r.phone: r.attempts for r in _rows(app)}[phone_for(1)] == 2
