"""Replies posted while a real worker sends a mobilization: on SQLite as on PostgreSQL, every
reply is stored once and answered 2xx, and a number that said STOP gets nothing after the
answer. (Before write transactions took SQLite's lock up front, up to a third of these
replies were answered 500 "database is locked", and Twilio does not redeliver those.)
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from organizer.extensions import db
from organizer.sms.models import (
    InboundMessage,
    Mobilization,
    MobilizationStatus,
    OutboxMessage,
    OutboxStatus,
    PhoneOptOut,
)
from tests.sms.conftest import PUBLIC, SENDER, TOKEN, launch_to_everyone, wait_for
from tests.support.live import serve

pytestmark = pytest.mark.slow

PEOPLE = 400
BODY = "Hearing Tuesday at 6, {first_name}. Can you come?"


def _signed(form: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(PUBLIC + "/sms/inbound", form)}


def test_replies_during_a_mobilization_are_all_stored_and_stop_holds_from_its_answer(
        twilio_app, org, fake, fake_server, make_user, bulk_people, phone_for, consumer_env, start_consumer):
    app = twilio_app
    organizer = make_user("organizer")
    bulk_people(PEOPLE)
    mobilization_id = launch_to_everyone(app, organizer.id, body=BODY)  # the worker's start-up sweep sends it

    # Who answers what: spread over the whole list, so some answers come before the person's
    # turn and some after. STOP is answered by Twilio itself, ALTO by us (an outbox reply).
    replies: list[tuple[str, str, str]] = []  # (MessageSid, From, Body)
    words = {0: "STOP", 3: "ALTO", 5: "Count me in", 6: "YES"}
    for i in range(PEOPLE):
        if i % 7 in words:
            replies.append((f"SMload{i:030d}", phone_for(i), words[i % 7]))
    random.Random(8).shuffle(replies)
    redelivered = replies[::9]  # Twilio sometimes posts the same message twice
    stoppers = {phone for _, phone, body in replies if body in ("STOP", "ALTO")}

    consumer_env["SMS_SEGMENTS_PER_SECOND"] = "40"  # about ten seconds of sending
    answers: list[tuple[str, str, int, datetime]] = []  # (sid, phone, status, answered at)
    lock = threading.Lock()
    with serve(app) as web:
        def post(reply: tuple[str, str, str]) -> None:
            sid, phone, body = reply
            form = {"MessageSid": sid, "AccountSid": "AC" + "1" * 32, "From": phone, "To": SENDER, "Body": body}
            response = requests.post(web.url + "/sms/inbound", data=form, headers=_signed(form), timeout=30)
            answered = datetime.now(UTC)
            with lock:
                answers.append((sid, phone, response.status_code, answered))
            time.sleep(random.uniform(0, 0.05))  # noqa: S311 - spacing, not security

        start_consumer()
        wait_for(lambda: len(fake.messages) >= 10, 60, "the worker to start sending")
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(post, replies + redelivered))

        def finished() -> bool:
            with app.app_context():
                return db.session.get(Mobilization, mobilization_id).status is MobilizationStatus.DONE

        wait_for(finished, 300, "the worker to finish the mobilization")

    statuses = Counter(status for _, _, status, _ in answers)
    assert statuses == {200: len(replies) + len(redelivered)}, f"answers other than 200: {statuses}"

    with app.app_context():
        stored = Counter(db.session.scalars(select(InboundMessage.message_sid)))
        opted_out = set(db.session.scalars(select(PhoneOptOut.phone)))
        canceled = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.mobilization_id == mobilization_id, OutboxMessage.status == OutboxStatus.CANCELED))
    assert stored == {sid: 1 for sid, _, _ in replies}, "every reply stored exactly once"
    assert opted_out == stoppers

    # Nothing of the mobilization reached a number after its STOP was answered.
    stopped_at = {phone: at for sid, phone, _, at in answers if phone in stoppers}
    mobilization_texts = [m for m in fake.messages if m.body.startswith("Hearing Tuesday")]
    late = [(m.to, m.date_created, stopped_at[m.to]) for m in mobilization_texts
            if m.to in stopped_at and m.date_created > stopped_at[m.to]]
    assert late == []
    # The race was real: some numbers said STOP before their turn came and were skipped.
    assert canceled > 0
    sent_to = Counter(m.to for m in mobilization_texts)
    assert set(sent_to.values()) == {1}, "nobody texted twice"
    assert {phone_for(i) for i in range(PEOPLE)} - stoppers <= set(sent_to), "everyone else got the text"
