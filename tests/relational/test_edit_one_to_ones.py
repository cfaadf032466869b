"""Correcting a logged one-to-one: who may, what changes (and what never does), bad input, the
audit log, and everything computed from one-to-ones following the correction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from organizer.audit.models import AuditEvent
from organizer.extensions import db
from organizer.relational.models import OneToOne, PersonPipeline


def _today(app):
    from organizer.relational.services import local_today

    with app.app_context():
        return local_today()


def _form(app, **overrides):
    """Everything the edit form sends, as a browser would."""
    today = _today(app)
    data = {
        "held_on": today.isoformat(), "duration_minutes": "55", "mode": "phone", "place": "Kitchen table",
        "self_interest": "Her kids' school", "story": "Came from Michoacán in 1998", "assessment": "3",
        "next_step": "Bring her to the schools team", "follow_up_on": (today + timedelta(days=3)).isoformat(),
    }
    data.update(overrides)
    return data


def _meeting(app, one_id):
    with app.app_context():
        one = db.session.get(OneToOne, one_id)
        return {
            "person_id": one.person_id, "held_by_id": one.held_by_id, "held_on": one.held_on,
            "duration_minutes": one.duration_minutes, "mode": one.mode.value, "place": one.place,
            "self_interest": one.self_interest, "story": one.story, "assessment": one.assessment,
            "next_step": one.next_step, "follow_up_on": one.follow_up_on, "issues": [i.name for i in one.issues],
            "commitments": [(c.kind.value, c.note) for c in one.commitments],
        }


def _updates(app, one_id):
    with app.app_context():
        return [(e.user_id, e.details) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "update", AuditEvent.object_type == "one_to_ones",
                                     AuditEvent.object_id == one_id))]


def test_organizer_corrects_a_leaders_one_to_one_and_the_page_shows_it(app, login_as, make_user, make_person,
                                                                       log_meeting):
    from organizer.relational.models import CommitmentKind, Issue
    from organizer.relational.services import CommitmentData

    organizer, leader = make_user("organizer"), make_user("leader")
    person = make_person(owner=leader, first_name="Rosa")
    one_id = log_meeting(leader, person, held_on=_today(app) - timedelta(days=2), assessment=2, story="Fisrt draft",
                         commitments=[CommitmentData(CommitmentKind.JOIN_TEAM, note="schools team")])
    with app.app_context():
        schools = db.session.scalar(select(Issue.id).where(Issue.name == "schools"))
    auth = login_as(organizer)
    page = auth.client.get(f"/one-to-ones/{one_id}/edit").get_data(as_text=True)
    assert "Fisrt draft" in page and 'name="held_by_id"' in page
    assert 'name="person_id"' not in page and 'data-testid="person-met"' in page and "Rosa" in page
    assert 'name="commitments-0-kind"' not in page
    assert 'checked class="form-check-input" id="assessment-2"' in page

    response = auth.post(f"/one-to-ones/{one_id}/edit", _form(app, story="First draft, corrected",
                                                               issue_ids=[schools], held_by_id=leader.id))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/one-to-ones/{one_id}")
    after = _meeting(app, one_id)
    assert after == {
        "person_id": person.id, "held_by_id": leader.id, "held_on": _today(app), "duration_minutes": 55,
        "mode": "phone", "place": "Kitchen table", "self_interest": "Her kids' school",
        "story": "First draft, corrected", "assessment": 3, "next_step": "Bring her to the schools team",
        "follow_up_on": _today(app) + timedelta(days=3), "issues": ["schools"],
        "commitments": [("join_team", "schools team")],  # left as they were
    }
    page = auth.client.get(f"/one-to-ones/{one_id}").get_data(as_text=True)
    assert "First draft, corrected" in page and 'data-testid="assessment">3/5<' in page


def test_organizer_can_hand_the_meeting_to_another_holder_whose_follow_ups_it_joins(app, login_as, make_user,
                                                                                     make_person, log_meeting):
    organizer, leader = make_user("organizer"), make_user("leader")
    today = _today(app)
    one_id = log_meeting(organizer, make_person(owner=leader, first_name="Handed"), held_on=today,
                         follow_up_on=today + timedelta(days=2))
    response = login_as(organizer).post(f"/one-to-ones/{one_id}/edit", _form(app, held_by_id=leader.id))
    assert response.status_code == 302
    assert _meeting(app, one_id)["held_by_id"] == leader.id
    assert "Handed" in login_as(leader).client.get("/follow-ups").get_data(as_text=True)


def test_a_holder_no_longer_active_stays_the_holder_when_staff_correct_other_fields(app, login_as, make_user,
                                                                                     make_person, log_meeting):
    from organizer.auth.models import User

    organizer, leader = make_user("organizer"), make_user("leader")
    one_id = log_meeting(leader, make_person(owner=leader))
    with app.app_context():
        db.session.get(User, leader.id).active = False
        db.session.commit()
    auth = login_as(organizer)
    assert f'<option selected value="{leader.id}">' in auth.client.get(f"/one-to-ones/{one_id}/edit").get_data(
        as_text=True)
    response = auth.post(f"/one-to-ones/{one_id}/edit", _form(app, held_by_id=leader.id, story="Fixed"))
    assert response.status_code == 302
    after = _meeting(app, one_id)
    assert (after["held_by_id"], after["story"]) == (leader.id, "Fixed")


def test_leader_corrects_a_one_to_one_they_held(app, login_as, make_user, make_person, log_meeting):
    leader = make_user("leader")
    one_id = log_meeting(leader, make_person(owner=leader), assessment=2)
    auth = login_as(leader)
    assert f'href="/one-to-ones/{one_id}/edit"' in auth.client.get(f"/one-to-ones/{one_id}").get_data(as_text=True)
    page = auth.client.get(f"/one-to-ones/{one_id}/edit").get_data(as_text=True)
    assert 'name="held_by_id"' not in page  # a leader always holds their own meetings
    assert auth.post(f"/one-to-ones/{one_id}/edit", _form(app, assessment="4")).status_code == 302
    after = _meeting(app, one_id)
    assert (after["assessment"], after["held_by_id"]) == (4, leader.id)
    assert after["story"] == "Came from Michoacán in 1998"


def test_leader_gets_404_on_another_leaders_one_to_one(app, login_as, make_user, make_person, log_meeting):
    leader, other = make_user("leader"), make_user("leader")
    one_id = log_meeting(other, make_person(owner=other))
    before = _meeting(app, one_id)
    auth = login_as(leader)
    assert auth.client.get(f"/one-to-ones/{one_id}/edit").status_code == 404
    assert auth.post(f"/one-to-ones/{one_id}/edit", _form(app, story="Overwritten")).status_code == 404
    assert _meeting(app, one_id) == before


def test_leader_gets_404_once_the_person_is_reassigned_away(app, login_as, make_user, make_person, log_meeting):
    from organizer.people.models import Person

    leader, other = make_user("leader"), make_user("leader")
    person = make_person(owner=leader)
    one_id = log_meeting(leader, person)
    with app.app_context():
        db.session.get(Person, person.id).owner_id = other.id
        db.session.commit()
    before = _meeting(app, one_id)
    auth = login_as(leader)
    assert auth.client.get(f"/one-to-ones/{one_id}/edit").status_code == 404
    assert auth.post(f"/one-to-ones/{one_id}/edit", _form(app, story="Overwritten")).status_code == 404
    assert _meeting(app, one_id) == before


def test_leader_cannot_edit_a_meeting_someone_else_held_with_their_own_person(app, login_as, make_user, make_person,
                                                                               log_meeting):
    organizer, leader = make_user("organizer"), make_user("leader")
    one_id = log_meeting(organizer, make_person(owner=leader))
    auth = login_as(leader)
    page = auth.client.get(f"/one-to-ones/{one_id}").get_data(as_text=True)
    assert f'href="/one-to-ones/{one_id}/edit"' not in page  # they may read it, but get no Edit link
    assert auth.client.get(f"/one-to-ones/{one_id}/edit").status_code == 404
    assert auth.post(f"/one-to-ones/{one_id}/edit", _form(app)).status_code == 404
    staff_page = login_as(organizer).client.get(f"/one-to-ones/{one_id}").get_data(as_text=True)
    assert f'href="/one-to-ones/{one_id}/edit"' in staff_page


def test_leader_cannot_change_the_holder_or_the_person_by_posting_them(app, login_as, make_user, make_person,
                                                                        log_meeting):
    leader, other = make_user("leader"), make_user("leader")
    mine = make_person(owner=leader)
    theirs = make_person(owner=other)
    one_id = log_meeting(leader, mine)
    response = login_as(leader).post(f"/one-to-ones/{one_id}/edit", _form(
        app, held_by_id=other.id, person_id=theirs.id, new_first_name="Intruder", created_by_id=other.id,
        **{"commitments-0-kind": "join_team"}))
    assert response.status_code == 302
    after = _meeting(app, one_id)
    assert (after["held_by_id"], after["person_id"], after["commitments"]) == (leader.id, mine.id, [])
    with app.app_context():
        assert db.session.get(OneToOne, one_id).created_by_id == leader.id
        from organizer.people.models import Person

        assert db.session.scalar(select(Person.id).where(Person.first_name == "Intruder")) is None


def test_even_staff_cannot_change_who_was_met(app, login_as, make_user, make_person, log_meeting):
    organizer = make_user("organizer")
    person, someone_else = make_person(), make_person()
    one_id = log_meeting(organizer, person)
    assert login_as(organizer).post(f"/one-to-ones/{one_id}/edit",
                                    _form(app, person_id=someone_else.id)).status_code == 302
    assert _meeting(app, one_id)["person_id"] == person.id


def test_an_edit_without_the_csrf_token_is_refused(app, login_as, make_user, make_person, log_meeting):
    organizer = make_user("organizer")
    one_id = log_meeting(organizer, make_person(), story="Original")
    auth = login_as(organizer)
    response = auth.client.post(f"/one-to-ones/{one_id}/edit", data=_form(app, story="Forged"))
    assert response.status_code == 400
    response = auth.client.post(f"/one-to-ones/{one_id}/edit", data=_form(app, story="Forged", csrf_token="forged"))
    assert response.status_code == 400
    assert _meeting(app, one_id)["story"] == "Original"
    assert _updates(app, one_id) == []


@pytest.mark.parametrize(("overrides", "message"), [
    ({"duration_minutes": "0"}, "Number must be between 1 and 600."),
    ({"duration_minutes": "601"}, "Number must be between 1 and 600."),
    ({"assessment": "9"}, "Not a valid choice."),
    ({"held_on": ""}, "This field is required."),
    ({"follow_up_on": "next week"}, "Not a valid date value."),
])
def test_bad_input_shows_the_field_error_and_changes_nothing(app, login_as, make_user, make_person, log_meeting,
                                                             overrides, message):
    organizer = make_user("organizer")
    one_id = log_meeting(organizer, make_person(), duration_minutes=40, assessment=2, story="Original")
    before = _meeting(app, one_id)
    response = login_as(organizer).post(f"/one-to-ones/{one_id}/edit", _form(app, story="Changed", **overrides))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page and "Please correct the fields marked below." in page
    assert "Changed</textarea>" in page  # what they typed is kept for them
    assert _meeting(app, one_id) == before
    assert _updates(app, one_id) == []


def test_the_service_refuses_a_bad_assessment_a_bad_holder_and_a_leader_who_did_not_hold_it(
        app, make_user, make_person, log_meeting):
    from organizer.auth.models import User
    from organizer.relational.services import OneToOneData, RelationalError, update_one_to_one

    organizer, leader = make_user("organizer"), make_user("leader")
    gone = make_user("leader", active=False)
    one_id = log_meeting(organizer, make_person(owner=leader))
    with app.app_context():
        one = db.session.get(OneToOne, one_id)
        staff = db.session.get(User, organizer.id)
        for data, actor in ((OneToOneData(held_on=one.held_on, assessment=7), staff),
                            (OneToOneData(held_on=one.held_on, held_by_id=gone.id), staff),
                            (OneToOneData(held_on=one.held_on, story="Mine now"), db.session.get(User, leader.id))):
            with pytest.raises(RelationalError):
                update_one_to_one(one, data, actor)
            db.session.rollback()
    assert _updates(app, one_id) == []


def test_the_audit_log_keeps_old_and_new_values_with_the_words_written_marked_sensitive(app, login_as, make_user, make_person,
                                                                    log_meeting):
    organizer = make_user("organizer")
    one_id = log_meeting(organizer, make_person(first_name="Audited", last_name="Person"), held_on=_today(app), duration_minutes=55,
                         place="Kitchen table", self_interest="Her kids' school", story="Came from Michoacán in 1998",
                         assessment=3, next_step="Bring her to the schools team",
                         follow_up_on=_today(app) + timedelta(days=3))
    from organizer.relational.models import MeetingMode

    with app.app_context():
        db.session.get(OneToOne, one_id).mode = MeetingMode.PHONE
        db.session.commit()
    auth = login_as(organizer)
    assert auth.post(f"/one-to-ones/{one_id}/edit", _form(app)).status_code == 302
    assert _updates(app, one_id) == []  # nothing changed, nothing to record
    assert auth.post(f"/one-to-ones/{one_id}/edit", _form(
        app, story="Her mother is undocumented", assessment="5", duration_minutes="70")).status_code == 302
    [(user_id, details)] = _updates(app, one_id)
    assert user_id == organizer.id
    assert details == {
        "changes": {"story": {"old": "Came from Michoacán in 1998", "new": "Her mother is undocumented"},
                    "assessment": {"old": 3, "new": 5}, "duration_minutes": {"old": 55, "new": 70}},
        "sensitive": ["story"],  # shown only to those who may see sensitive data
    }
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "update"))
        assert event.summary == "one-to-one with Audited Person"


def test_a_corrected_follow_up_date_moves_on_my_follow_ups_and_reopens_it(app, login_as, make_user, make_person,
                                                                         log_meeting):
    organizer = make_user("organizer")
    today = _today(app)
    one_id = log_meeting(organizer, make_person(first_name="Moved"), held_on=today - timedelta(days=10),
                         follow_up_on=today + timedelta(days=5))
    auth = login_as(organizer)
    assert auth.post(f"/follow-ups/{one_id}/done").status_code == 302
    assert 'data-testid="count-upcoming">0<' in auth.client.get("/follow-ups").get_data(as_text=True)
    assert auth.post(f"/one-to-ones/{one_id}/edit", _form(
        app, held_on=(today - timedelta(days=10)).isoformat(),
        follow_up_on=(today - timedelta(days=1)).isoformat())).status_code == 302
    page = auth.client.get("/follow-ups").get_data(as_text=True)
    overdue = page.split('data-testid="follow-overdue"')[1].split("</ul>")[0]
    assert "Moved" in overdue
    # Clearing the date takes it off the list.
    assert auth.post(f"/one-to-ones/{one_id}/edit", _form(
        app, held_on=(today - timedelta(days=10)).isoformat(), follow_up_on="")).status_code == 302
    page = auth.client.get("/follow-ups").get_data(as_text=True)
    assert 'data-testid="count-overdue">0<' in page and 'data-testid="count-upcoming">0<' in page


def test_a_corrected_assessment_and_date_show_on_the_board_and_in_suggestions(app, login_as, make_user, make_person,
                                                                             log_meeting):
    organizer = make_user("organizer")
    today = _today(app)
    person = make_person(first_name="Rising")
    log_meeting(organizer, person, held_on=today - timedelta(days=30), assessment=5)
    latest = log_meeting(organizer, person, held_on=today - timedelta(days=20), assessment=2)
    auth = login_as(organizer)
    assert "Rising" not in auth.client.get("/pipeline/suggestions").get_data(as_text=True)

    new_day = today - timedelta(days=2)
    assert auth.post(f"/one-to-ones/{latest}/edit", _form(app, held_on=new_day.isoformat(),
                                                          assessment="4")).status_code == 302
    with app.app_context():
        summary = db.session.get(PersonPipeline, person.id)
        assert (summary.last_one_to_one_on, summary.last_assessment, summary.one_to_one_count) == (new_day, 4, 2)
    board = auth.client.get("/pipeline/board").get_data(as_text=True)
    card = board[board.index("Rising"):].split("</article>")[0]
    assert "4/5" in card
    suggestions = auth.client.get("/pipeline/suggestions").get_data(as_text=True)
    assert "Rising" in suggestions.split('data-testid="suggestions"')[1]
    assert "2 assessments of 4 or 5" in suggestions


def test_clearing_the_latest_assessment_falls_back_to_the_one_before(app, login_as, make_user, make_person,
                                                                    log_meeting):
    organizer = make_user("organizer")
    today = _today(app)
    person = make_person()
    log_meeting(organizer, person, held_on=today - timedelta(days=30), assessment=3)
    latest = log_meeting(organizer, person, held_on=today - timedelta(days=5), assessment=5)
    assert login_as(organizer).post(f"/one-to-ones/{latest}/edit", _form(
        app, held_on=(today - timedelta(days=5)).isoformat(), assessment="")).status_code == 302
    with app.app_context():
        assert db.session.get(PersonPipeline, person.id).last_assessment == 3


# --- sane dates ---------------------------------------------------------------------------


def test_a_one_to_one_cannot_be_dated_after_today(app, login_as, make_user, make_person):
    organizer = make_user("organizer")
    person = make_person(first_name="Future")
    auth = login_as(organizer)
    tomorrow = (_today(app) + timedelta(days=1)).isoformat()
    response = auth.post("/one-to-ones/new", {"person_id": person.id, "held_on": tomorrow, "mode": "in_person",
                                              "held_by_id": organizer.id})
    assert response.status_code == 200
    assert "A one-to-one cannot be dated after today." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(OneToOne)) is None
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "one_to_ones")) is None


def test_a_corrected_one_to_one_cannot_move_into_the_future_or_its_follow_up_before_it(
        app, login_as, make_user, make_person, log_meeting):
    organizer = make_user("organizer")
    one_id = log_meeting(organizer, make_person(), held_on=_today(app) - timedelta(days=5))
    before = _meeting(app, one_id)
    auth = login_as(organizer)
    response = auth.post(f"/one-to-ones/{one_id}/edit", _form(app, held_on="2030-01-01", follow_up_on=""))
    assert response.status_code == 200
    assert "A one-to-one cannot be dated after today." in response.get_data(as_text=True)
    earlier = (_today(app) - timedelta(days=6)).isoformat()
    response = auth.post(f"/one-to-ones/{one_id}/edit", _form(
        app, held_on=(_today(app) - timedelta(days=5)).isoformat(), follow_up_on=earlier))
    assert response.status_code == 200
    assert "The follow-up cannot be earlier than the meeting." in response.get_data(as_text=True)
    assert _meeting(app, one_id) == before
    assert _updates(app, one_id) == []


def test_a_follow_up_cannot_be_rescheduled_before_its_meeting(app, login_as, make_user, make_person, log_meeting):
    organizer = make_user("organizer")
    held_on = _today(app) - timedelta(days=3)
    one_id = log_meeting(organizer, make_person(), held_on=held_on, follow_up_on=_today(app))
    auth = login_as(organizer)
    response = auth.post(f"/follow-ups/{one_id}/reschedule",
                         {"follow_up_on": (held_on - timedelta(days=1)).isoformat(), "next": f"/one-to-ones/{one_id}"},
                         follow_redirects=True)
    assert response.status_code == 200
    assert "The follow-up cannot be earlier than the meeting." in response.get_data(as_text=True)
    assert _meeting(app, one_id)["follow_up_on"] == _today(app)
    response = auth.post(f"/follow-ups/{one_id}/reschedule", {"follow_up_on": held_on.isoformat()})
    assert response.status_code == 302
    assert _meeting(app, one_id)["follow_up_on"] == held_on  # the day of the meeting itself is fine
