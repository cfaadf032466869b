"""The crash test: a real ``huey_consumer`` sending a 2,000-person mobilization to the fake
Twilio is killed with SIGKILL half-way, the interrupted sends are reconciled, a new consumer
is started, and in the end the fake has received exactly one text per person, none missing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config import BASE_DIR
from organizer.extensions import db
from organizer.sms import sending
from organizer.sms.models import Mobilization, MobilizationStatus, OutboxMessage, OutboxStatus
from organizer.sms.providers import TwilioBackend
from tests.sms.conftest import ACCOUNT, SENDER, TOKEN, launch_to_everyone

pytestmark = pytest.mark.slow

PEOPLE = 2000


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds (a deadline, not a timing assumption)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def consumer_env(database_url: str, fake_server, tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "ORGANIZER_ENV": "development", "SECRET_KEY": "crash-test-secret", "DATABASE_URL": database_url,
        "ORGANIZER_INSTANCE": str(tmp_path / "instance"), "HUEY_SQLITE_PATH": str(tmp_path / "huey.sqlite3"),
        "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": SENDER, "TWILIO_API_BASE_URL": fake_server.url, "TWILIO_TIMEOUT": "10",
        "PUBLIC_BASE_URL": "", "SMS_SEGMENTS_PER_SECOND": "0", "SMS_QUIET_HOURS": "00:00-00:00",
        "SMS_SENDING_STALE_SECONDS": "5", "PYTHONPATH": str(BASE_DIR),
    }
    env.pop("HUEY_IMMEDIATE", None)
    if env.get("REDIS_URL"):
        # The queue is shared through Redis: start from an empty one.
        from huey import RedisHuey

        RedisHuey("organizer", url=env["REDIS_URL"]).flush()
    return env


@pytest.fixture
def start_consumer(consumer_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen]]:
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        with open(tmp_path / f"consumer{len(started)}.log", "wb") as log:  # the child keeps its own copy
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "huey.bin.huey_consumer", "organizer.tasks.huey", "-k", "thread", "-w", "4"],
                env=consumer_env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
            )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_worker_killed_mid_mobilization_sends_exactly_one_text_per_person(
        app, fake, fake_server, make_user, bulk_people, start_consumer, tmp_path):
    organizer = make_user("organizer")
    bulk_people(PEOPLE)
    mobilization_id = launch_to_everyone(app, organizer.id, title="Crash")  # the consumer's start-up sweep sends it

    first = start_consumer()
    _wait_for(lambda: len(fake.messages) >= 300, 120, "the first consumer to send some texts")
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

    _wait_for(finished, 180, "the restarted consumer to finish the mobilization")
    counts = fake.count_by_to()
    assert len(counts) == PEOPLE, f"{PEOPLE - len(counts)} people never got the text"
    assert set(counts.values()) == {1}, f"double texts: {[p for p, n in counts.items() if n > 1][:5]}"
    with app.app_context():
        rows = db.session.execute(select(OutboxMessage.status, OutboxMessage.sid)).all()
    assert len(rows) == PEOPLE and all(sid for _, sid in rows)
    assert {m.sid for m in fake.messages} == {sid for _, sid in rows}
