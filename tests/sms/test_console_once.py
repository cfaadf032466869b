"""The console backend (``make run``'s default) keeps the outbox promise too: a worker killed
after the console printed a text never prints it again, because the console records what it
sent in a file before printing, and the sweep reconciles from that record as it does from
Twilio's message list."""

from __future__ import annotations

import re
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from organizer.extensions import db
from organizer.sms import sending
from organizer.sms.models import Mobilization, MobilizationStatus, OutboxMessage, OutboxStatus
from organizer.sms.providers import ConsoleBackend, SendRequest, make_backend
from tests.sms.conftest import launch_to_everyone, wait_for

BODY = "Hearing Tuesday, {first_name}!"
PRINTED = re.compile(r"SMS to (\+\d+) \(outbox (\d+), (CONSOLE\w+)\)")


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after this point of the worker runs."""


class KilledAfterPrinting(ConsoleBackend):
    """A console whose worker dies right after the text is printed, before its SID is stored."""

    def send(self, req: SendRequest):
        super().send(req)
        raise WorkerKilled


def _launch(app, organizer_id: int) -> int:
    return launch_to_everyone(app, organizer_id, body=BODY)  # sent below, by hand or by the worker


def test_worker_killed_after_the_console_printed_never_prints_it_again(
        app, org, make_user, bulk_people, tmp_path, caplog):
    record = tmp_path / "sms-console.jsonl"
    app.config.update(SMS_BACKEND="console", SMS_CONSOLE_LOG=str(record), SMS_SEGMENTS_PER_SECOND="0",
                      SMS_QUIET_HOURS="00:00-00:00", SMS_SENDING_STALE_SECONDS=5)
    bulk_people(3)
    mobilization_id = _launch(app, make_user("organizer").id)
    caplog.set_level("INFO", logger="organizer.sms")

    with app.app_context():
        first = sending.claim_next(mobilization_id, sending.utcnow())
        with pytest.raises(WorkerKilled):
            sending.process(first, provider=KilledAfterPrinting(record_path=record))
        db.session.rollback()
        assert db.session.get(OutboxMessage, first).sid is None  # printed, but the row never heard

    # A new worker process: its console remembers nothing in memory, only the file.
    app.extensions.pop("sms_backend", None)
    with app.app_context():
        report = sending.reconcile_stale(sending.utcnow() + timedelta(seconds=10))
        assert report.reconciled == 1 and report.requeued == 0
        sending.run_dispatcher(mobilization_id)
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert all(row.sid and row.sid.startswith("CONSOLE") for row in rows)
        assert db.session.get(Mobilization, mobilization_id).status is MobilizationStatus.DONE

    printed = Counter(m.group(1) for m in PRINTED.finditer(caplog.text))
    assert len(printed) == 3 and set(printed.values()) == {1}
    assert len(record.read_text().splitlines()) == 3


def test_console_record_is_written_before_the_text_is_printed(tmp_path):
    record = tmp_path / "sms-console.jsonl"
    seen_at_print: list[int] = []

    class Watching:
        def info(self, *args):
            seen_at_print.append(len(record.read_text().splitlines()))

    console = ConsoleBackend(logger=Watching(), record_path=record)  # type: ignore[arg-type]
    console.send(SendRequest(to="+13125550100", body="hi", outbox_id=1))
    assert seen_at_print == [1]
    # Another process's console (nothing in memory) sees the text in the record.
    other = make_backend({"SMS_BACKEND": "console", "SMS_CONSOLE_LOG": str(record)})
    since = console.sent[0].date_created - timedelta(seconds=1)
    assert [m.sid for m in other.list_recent("+13125550100", since)] == [console.sent[0].sid]


@pytest.mark.slow
def test_real_worker_killed_mid_mobilization_prints_each_text_at_most_once(
        app, org, make_user, bulk_people, consumer_env, start_consumer, tmp_path):
    people = 300
    record = tmp_path / "sms-console.jsonl"
    # Stale after 10 s: longer than a live worker holds a claimed row here, so the sweep only
    # ever takes over the dead worker's rows.
    consumer_env.update(SMS_BACKEND="console", SMS_CONSOLE_LOG=str(record), SMS_SEGMENTS_PER_SECOND="100",
                        SMS_SENDING_STALE_SECONDS="10")
    app.config.update(SMS_BACKEND="console", SMS_CONSOLE_LOG=str(record), SMS_SENDING_STALE_SECONDS=10,
                      SMS_QUIET_HOURS="00:00-00:00")
    app.extensions.pop("sms_backend", None)
    bulk_people(people)
    mobilization_id = _launch(app, make_user("organizer").id)

    def recorded() -> int:
        return len(record.read_text().splitlines()) if record.exists() else 0

    first = start_consumer()
    wait_for(lambda: recorded() >= 80, 120, "the first worker to print some texts")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert recorded() < people, "the worker finished before it could be killed"

    # The dead worker's claims are stale from here on: reconcile them as the sweep would.
    with app.app_context():
        report = sending.reconcile_stale(sending.utcnow() + timedelta(seconds=15))
        assert report.unknown == 0
    start_consumer()

    def finished() -> bool:
        with app.app_context():
            return db.session.get(Mobilization, mobilization_id).status is MobilizationStatus.DONE

    wait_for(finished, 180, "the restarted worker to finish")
    logs = "".join(p.read_text(errors="replace") for p in Path(tmp_path).glob("consumer*.log"))
    printed = Counter(m.group(1) for m in PRINTED.finditer(logs))
    assert max(printed.values()) == 1, f"printed twice: {[p for p, n in printed.items() if n > 1][:5]}"
    lines = record.read_text().splitlines()
    assert len(lines) == people  # one record per person, none missing
    with app.app_context():
        rows = db.session.execute(select(OutboxMessage.status, OutboxMessage.sid)).all()
    assert {status for status, _ in rows} == {OutboxStatus.SENT}
    assert len({sid for _, sid in rows}) == people
