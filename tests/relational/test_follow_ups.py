"""My follow-ups: overdue, due today, upcoming; done and rescheduled; people going cold."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from organizer.extensions import db
from organizer.relational.models import OneToOne


def _today(app):
    from organizer.relational.services import local_today

    with app.app_context():
        return local_today()


def test_follow_ups_are_split_into_overdue_today_and_upcoming(app, login_as, make_user, make_person, log_meeting):
    organizer, other = make_user("organizer"), make_user("organizer")
    today = _today(app)
    late, due, soon = make_person(first_name="Late"), make_person(first_name="Due"), make_person(first_name="Soon")
    log_meeting(organizer, late, held_on=today - timedelta(days=20), follow_up_on=today - timedelta(days=3))
    log_meeting(organizer, due, held_on=today - timedelta(days=5), follow_up_on=today)
    log_meeting(organizer, soon, held_on=today, follow_up_on=today + timedelta(days=4))
    log_meeting(other, make_person(first_name="NotMine"), held_on=today, follow_up_on=today)
    page = login_as(organizer).client.get("/follow-ups").get_data(as_text=True)
    overdue = page.split('data-testid="follow-overdue"')[1].split("</ul>")[0]
    due_today = page.split('data-testid="follow-today"')[1].split("</ul>")[0]
    upcoming = page.split('data-testid="follow-upcoming"')[1].split("</ul>")[0]
    assert "Late" in overdue and "Due" not in overdue
    assert "Due" in due_today and "Soon" not in due_today
    assert "Soon" in upcoming
    assert "NotMine" not in page


def test_marking_done_and_rescheduling(app, login_as, make_user, make_person, log_meeting):
    organizer = make_user("organizer")
    today = _today(app)
    one_id = log_meeting(organizer, make_person(), held_on=today - timedelta(days=10), follow_up_on=today - timedelta(days=1))
    auth = login_as(organizer)
    new_day = today + timedelta(days=10)
    assert auth.post(f"/follow-ups/{one_id}/reschedule", {"follow_up_on": new_day.isoformat()}).status_code == 302
    with app.app_context():
        assert db.session.get(OneToOne, one_id).follow_up_on == new_day
    assert auth.post(f"/follow-ups/{one_id}/done").status_code == 302
    with app.app_context():
        assert db.session.get(OneToOne, one_id).follow_up_done_at is not None
    assert 'data-testid="count-upcoming">0<' in auth.client.get("/follow-ups").get_data(as_text=True)


def test_a_new_meeting_closes_the_open_follow_up_with_that_person(app, make_user, make_person, log_meeting):
    organizer = make_user("organizer")
    person = make_person()
    today = _today(app)
    first = log_meeting(organizer, person, held_on=today - timedelta(days=9), follow_up_on=today - timedelta(days=2))
    log_meeting(organizer, person, held_on=today)
    with app.app_context():
        assert db.session.get(OneToOne, first).follow_up_done_at is not None


def test_leader_cannot_touch_a_follow_up_with_someone_outside_their_list(app, login_as, make_user, make_person, log_meeting):
    leader, other = make_user("leader"), make_user("leader")
    today = _today(app)
    one_id = log_meeting(other, make_person(owner=other), held_on=today, follow_up_on=today)
    assert login_as(leader).post(f"/follow-ups/{one_id}/done").status_code == 404
    with app.app_context():
        assert db.session.get(OneToOne, one_id).follow_up_done_at is None


def test_people_going_cold_after_the_configured_days(app, login_as, make_user, make_person, log_meeting):
    from organizer.settings.models import Organization

    with app.app_context():
        db.session.add(Organization(id=1, name="Fed", going_cold_days=30))
        db.session.commit()
    organizer = make_user("organizer")
    today = _today(app)
    cold, warm = make_person(owner=organizer, first_name="Chilly"), make_person(owner=organizer, first_name="Toasty")
    make_person(owner=organizer, first_name="Stranger")  # never met: not "going cold"
    log_meeting(organizer, cold, held_on=today - timedelta(days=45))
    log_meeting(organizer, warm, held_on=today - timedelta(days=10))
    page = login_as(organizer).client.get("/follow-ups").get_data(as_text=True)
    section = page.split('data-testid="going-cold"')[1].split("</ul>")[0]
    assert "Chilly" in section and "Toasty" not in section and "Stranger" not in section
    assert "in 30 days" in page
    with app.app_context():
        assert db.session.scalar(select(OneToOne.id).where(OneToOne.person_id == cold.id)) is not None
