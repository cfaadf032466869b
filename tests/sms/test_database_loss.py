"""A sender that loses the database mid-mobilization waits for it and carries on: the rows it
had claimed but never offered to the provider go back to the queue at once (not after the
sweep's minutes), and nobody is texted twice."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from organizer.extensions import db
from organizer.sms import sending, tasks
from organizer.sms.models import Mobilization, MobilizationStatus, OutboxMessage, OutboxStatus
from tests.sms.conftest import launch_to_everyone


def test_sender_losing_the_database_requeues_what_it_never_sent_and_finishes(
        app, org, make_user, bulk_people, monkeypatch):
    app.config.update(SMS_SEGMENTS_PER_SECOND="0", SMS_QUIET_HOURS="00:00-00:00")
    bulk_people(6)
    organizer = make_user("organizer")
    mobilization_id = launch_to_everyone(app, organizer.id, body="Hearing Tuesday!")

    real_process = sending.process
    calls: list[int] = []

    def process_losing_the_database_once(outbox_id, **kwargs):
        calls.append(outbox_id)
        if len(calls) == 3:  # the server goes away before the third text is offered
            raise OperationalError("SELECT", {}, ConnectionError("server closed the connection"))
        return real_process(outbox_id, **kwargs)

    monkeypatch.setattr(sending, "process", process_losing_the_database_once)
    with app.app_context():
        tasks._dispatch(mobilization_id)
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert {row.status for row in rows} == {OutboxStatus.SENT}
        assert all(row.attempts == 1 for row in rows)  # the interrupted claims were handed back
        assert db.session.get(Mobilization, mobilization_id).status is MobilizationStatus.DONE
    sent = app.extensions["sms_backend"].sent
    assert sorted(m.to for m in sent) == sorted({m.to for m in sent}) and len(sent) == 6
