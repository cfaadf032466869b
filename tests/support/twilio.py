"""The fake Twilio and an app that texts through it: fixtures for the SMS tests and for the
tests of other areas that text (sign-ups, consent), registered for every test by the root
conftest (``pytest_plugins``) rather than imported into test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

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
