"""Throughput shown honestly: a mobilization whose texts wait (quiet hours, a retry, the
sender's pace, a rate limit, a pause) says why and when it resumes, not "Sending 0%"."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import update

from organizer.auth.models import User
from organizer.db import utcnow
from organizer.extensions import db
from organizer.sms import results, sending, services
from organizer.sms.models import Mobilization, MobilizationStatus, OutboxMessage
from organizer.sms.services import AudienceFilter
from tests.sms.conftest import at

pytestmark = pytest.mark.usefixtures("twilio_app", "org")


def _launched(app, user, now=None):
    """A launched broadcast whose texts no worker has touched yet."""
    with app.app_context():
        actor = db.session.get(User, user.id)
        m = services.save_mobilization(None, title="Hearing", body="Hearing Tuesday!", audience=AudienceFilter(),
                                       actor=actor)
        services.launch(m, actor, now=now)
        db.session.commit()
        services.take_noted_dispatches()
        return m.id


def _hold(app, mobilization_id, now):
    with app.app_context():
        return results.hold_status(db.session.get(Mobilization, mobilization_id), now)


def test_texts_held_for_quiet_hours_say_when_they_go(app, make_user, bulk_people):
    app.config["SMS_QUIET_HOURS"] = "21:00-08:00"
    bulk_people(3)
    evening = at("2026-03-10T03:30+00:00")  # 22:30 in Chicago
    mobilization_id = _launched(app, make_user("organizer"), now=evening)
    with app.app_context():
        sending.run_dispatcher(mobilization_id, now_fn=lambda: evening)
    hold = _hold(app, mobilization_id, evening)
    assert (hold.reason, hold.waiting, hold.resumes_at) == ("quiet_hours", 3, at("2026-03-10T13:00+00:00"))


def test_the_page_and_its_live_data_say_why_and_when(app, make_user, bulk_people, login_as):
    organizer = make_user("organizer")
    bulk_people(2)
    mobilization_id = _launched(app, organizer)
    later = utcnow() + timedelta(hours=9)
    with app.app_context():  # as the worker leaves texts deferred to the morning
        db.session.execute(update(OutboxMessage).values(not_before=later, error_message="deferred: quiet hours"))
        db.session.commit()
    staff = login_as(organizer)
    page = staff.client.get(f"/sms/{mobilization_id}").get_data(as_text=True)
    hold = html.unescape(page.split('data-testid="hold-status"')[1].split("</div>")[0])
    assert "d-none" not in page.split('data-testid="hold-status"')[0].rsplit("<div", 1)[1]
    assert "Held for quiet hours in the recipients' time zones: 2 texts wait; sending resumes" in hold
    data = staff.client.get(f"/sms/{mobilization_id}/progress.json").get_json()
    assert data["percent"] == 0 and data["hold"].startswith("Held for quiet hours")


def test_texts_waiting_for_a_retry_say_so(app, make_user, bulk_people, fake):
    bulk_people(1)
    fake.fail_next(1, status=429, code=20429)
    now = utcnow()
    mobilization_id = _launched(app, make_user("organizer"), now=now)
    with app.app_context():
        sending.run_dispatcher(mobilization_id, now_fn=lambda: now)
    hold = _hold(app, mobilization_id, now)
    # The sender itself is held after a rate limit, or the text waits for its retry.
    assert hold.reason in ("rate_limited", "retrying") and hold.resumes_at > now


def test_a_slow_sender_says_how_long_the_rest_takes(app, make_user, bulk_people):
    app.config["SMS_SEGMENTS_PER_SECOND"] = "1"
    bulk_people(300)
    now = utcnow()
    mobilization_id = _launched(app, make_user("organizer"), now=now)
    hold = _hold(app, mobilization_id, now)
    assert hold.reason == "pacing" and hold.waiting == 300
    assert hold.resumes_at == now + timedelta(seconds=300)


def test_a_fast_sender_with_little_left_shows_no_hold(app, make_user, bulk_people):
    bulk_people(3)  # unpaced in the test app
    now = utcnow()
    assert _hold(app, _launched(app, make_user("organizer"), now=now), now) is None


def test_paused_and_scheduled_mobilizations(app, make_user, bulk_people, login_as):
    organizer = make_user("organizer")
    bulk_people(2)
    now = utcnow()
    scheduled = _launched_at(app, organizer, now + timedelta(hours=2))
    assert _hold(app, scheduled, now).reason == "scheduled"
    paused = _launched(app, organizer)
    with app.app_context():
        sending.pause_for_code(paused, 30032, now)
        db.session.commit()
        assert db.session.get(Mobilization, paused).status is MobilizationStatus.PAUSED
    hold = _hold(app, paused, now)
    assert (hold.reason, hold.resumes_at, hold.waiting) == ("paused", None, 2)
    page = login_as(organizer).client.get(f"/sms/{paused}").get_data(as_text=True)
    assert "Paused: 2 texts wait until someone resumes sending." in page


def _launched_at(app, user, when):
    with app.app_context():
        actor = db.session.get(User, user.id)
        m = services.save_mobilization(None, title="Later", body="Later!", audience=AudienceFilter(), actor=actor)
        services.launch(m, actor, schedule_at=when)
        db.session.commit()
        services.take_noted_dispatches()
        return m.id
