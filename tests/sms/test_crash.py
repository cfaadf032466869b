"""The crash test: a real ``huey_consumer`` sending a 2,000-person mobilization to the fake
Twilio is killed with SIGKILL half-way, the interrupted sends are reconciled, a new consumer
is started, and in the end the fake has received exactly one text per person, none missing.
"""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.sms import sending
from organizer.sms.models import Mobilization, MobilizationStatus, OutboxMessage, OutboxStatus
from organizer.sms.providers import TwilioBackend
from tests.sms.conftest import ACCOUNT, SENDER, TOKEN, launch_to_everyone, wait_for

pytestmark = pytest.mark.slow

PEOPLE = 2000


def test_worker_killed_mid_mobilization_sends_exactly_one_text_per_person(
        app, fake, fake_server, make_user, bulk_people, start_consumer, tmp_path):
    organizer = make_user("organizer")
    bulk_people(PEOPLE)
    mobilization_id = launch_to_everyone(app, organizer.id, title="Crash")  # the consumer's start-up sweep sends it

    first = start_consumer()
    wait_for(lambda: len(fake.messages) >= 300, 120, "the first consumer to send some texts")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    sent_before_restart = len(fake.messages)
    assert sent_before_restart < PEOPLE, "the consumer finished before it could be killed"

    # The dead worker's claims are stale from here on: reconcile them as the sweep would.
    app.config.update(SMS_SENDING_STALE_SECONDS=5)
    provider = TwilioBackend(ACCOUNT, TOKEN, from_number=SENDER, api_base_url=fake_server.url, timeout=10)
    try:
        with app.app_context():
            report = sending.reconcile_stale(sending.utcnow() + timedelta(seconds=10), provider)
            in_flight = db.session.scalar(select(func.count()).where(
                OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.sid.is_(None)))
            assert in_flight == 0 and report.unknown == 0
    finally:
        provider.close()

    start_consumer()

    def finished() -> bool:
        with app.app_context():
            return db.session.get(Mobilization, mobilization_id).status is MobilizationStatus.DONE

    wait_for(finished, 180, "the restarted consumer to finish the mobilization")
    counts = fake.count_by_to()
    assert len(counts) == PEOPLE, f"{PEOPLE - len(counts)} people never got the text"
    assert set(counts.values()) == {1}, f"double texts: {[p for p, n in counts.items() if n > 1][:5]}"
    with app.app_context():
        rows = db.session.execute(select(OutboxMessage.status, OutboxMessage.sid)).all()
    assert len(rows) == PEOPLE and all(sid for _, sid in rows)
    assert {m.sid for m in fake.messages} == {sid for _, sid in rows}
