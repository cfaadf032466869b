"""Fixtures for the SMS tests: the fake Twilio on 127.0.0.1, an app whose backend is the real
``twilio`` client pointed at it, and quick ways to make people and texts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from organizer.extensions import db
from tests.sms.fake_twilio import FakeTwilio, make_fake_twilio
from tests.support.live import LiveServer, serve

ACCOUNT = "AC" + "1" * 32
TOKEN = "test-token"
SENDER = "+13125550199"
PUBLIC = "http://sms.example.test"


@pytest.fixture
def fake() -> FakeTwilio:
    return make_fake_twilio(TOKEN)


@pytest.fixture
def fake_server(fake: FakeTwilio) -> Iterator[LiveServer]:
    with serve(fake) as srv:
        yield srv


@pytest.fixture
def twilio_app(app: Flask, fake_server: LiveServer) -> Flask:
    """The app under test sending through the real twilio client to the fake: unpaced, and
    without quiet hours (tests that need them set them and pass "now"). The client waits
    Twilio's default 10 s for an answer: with 2 s, one answer of the local fake that came
    late on a busy CI machine made a text "ambiguous" and its SID missing (the tests that
    time out on purpose set their own)."""
    app.config.update(
        SMS_BACKEND="twilio", TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_FROM_NUMBER=SENDER,
        TWILIO_API_BASE_URL=fake_server.url, TWILIO_TIMEOUT=10.0, PUBLIC_BASE_URL=PUBLIC,
        SMS_SEGMENTS_PER_SECOND="0", SMS_PAUSE_THRESHOLD=20, SMS_QUIET_HOURS="00:00-00:00",
    )
    app.extensions.pop("sms_backend", None)
    return app


@pytest.fixture
def org(app: Flask):
    """The organization row (Chicago), so quiet hours and help texts have a home."""
    from organizer.settings.models import Organization

    with app.app_context():
        db.session.add(Organization(id=1, name="Metro Federation", timezone="America/Chicago",
                                    default_phone_region="US", sms_help_text="Metro Federation: reply STOP to stop.",
                                    going_cold_days=90))
        db.session.commit()


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
