"""Fixtures for the SMS tests: quick ways to make people and texts, and a real worker process.
The fake Twilio on 127.0.0.1 and the app whose backend is the real ``twilio`` client pointed at
it (``fake``, ``fake_server``, ``twilio_app``, ``org``) are in ``tests.support.twilio``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from config import BASE_DIR
from organizer.extensions import db
from tests.support.twilio import ACCOUNT, PUBLIC, SENDER, TOKEN


@pytest.fixture
def phone_for() -> Callable[[int], str]:
    """Distinct valid Chicago mobile-looking numbers."""
    return lambda n: f"+1312555{n:04d}"


@pytest.fixture
def bulk_people(app: Flask, phone_for) -> Callable[..., list[int]]:
    """``bulk_people(n, owner=None, **columns)``: insert ``n`` people with phones fast; returns ids."""
    from sqlalchemy import insert, select

    from organizer.db import utcnow
    from organizer.people.models import Person

    def make(n: int, owner: Any = None, start: int = 0, **columns: Any) -> list[int]:
        now = utcnow()
        rows = [{"first_name": f"Pat{start + i}", "last_name": "Resident", "phone": phone_for(start + i),
                 "owner_id": owner.id if owner else None, "created_at": now, "updated_at": now,
                 "sms_consent": "unknown", **columns} for i in range(n)]
        with app.app_context():
            db.session.execute(insert(Person), rows)
            db.session.commit()
            return list(db.session.scalars(select(Person.id).where(Person.phone.in_([r["phone"] for r in rows]))))

    return make


def signed_post(client: FlaskClient, path: str, form: dict[str, str], *, token: str = TOKEN,
                signature: str | None = None):
    """POST a webhook as Twilio would, signed over the public URL."""
    url = PUBLIC + path
    sig = RequestValidator(token).compute_signature(url, form) if signature is None else signature
    headers = {"X-Twilio-Signature": sig} if sig != "" else {}
    return client.post(path, data=form, headers=headers)


def client_transport(client: FlaskClient) -> Callable[[str, dict[str, str], dict[str, str]], int]:
    """Deliver the fake's status callbacks to the app through the test client."""

    def send(url: str, form: dict[str, str], headers: dict[str, str]) -> int:
        assert url.startswith(PUBLIC)
        return client.post(url[len(PUBLIC):], data=form, headers=headers).status_code

    return send


def at(text: str) -> datetime:
    """An aware UTC datetime from ISO text ("2026-03-10T15:00+00:00")."""
    return datetime.fromisoformat(text)


def launch_to_everyone(app: Flask, user_id: int, *, title: str = "Hearing",
                       body: str = "Hearing Tuesday, {first_name}!") -> int:
    """The id of a mobilization to everyone, launched by the user ``user_id`` and committed; the
    dispatch it notes is taken, so no sender starts: each test starts its own (by hand or a worker)."""
    from organizer.auth.models import User
    from organizer.sms import services

    with app.app_context():
        actor = db.session.get(User, user_id)
        mobilization = services.save_mobilization(None, title=title, body=body,
                                                  audience=services.AudienceFilter(), actor=actor)
        services.launch(mobilization, actor)
        db.session.commit()
        services.take_noted_dispatches()
        return mobilization.id


# --- a real huey_consumer in a process of its own (the crash and load tests) ----------------


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
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
