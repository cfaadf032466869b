"""Logging one-to-ones: who may log with whom, new people on the spot, issues, commitments, the timeline."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from organizer.extensions import db
from organizer.relational.models import Commitment, CommitmentStatus, OneToOne, PersonPipeline


def _today() -> date:
    """Today where the federation is (the default zone): one-to-ones are dated there, so from
    midnight UTC until Chicago's midnight the machine's date is tomorrow."""
    return datetime.now(ZoneInfo("America/Chicago")).date()


def _form(**overrides):
    data = {
        "held_on": _today().isoformat(), "duration_minutes": "40", "mode": "in_person", "place": "Parish hall",
        "self_interest": "Rent keeps going up", "story": "Grew up on the block", "assessment": "4",
        "commitments-0-kind": "hold_one_to_ones", "commitments-0-quantity": "5", "commitments-0-note": "with neighbors",
        "commitments-1-kind": "", "commitments-2-kind": "",
        "next_step": "Invite to housing team", "follow_up_on": (_today() + timedelta(days=7)).isoformat(),
    }
    data.update(overrides)
    return data


def _count(app, model=OneToOne) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_organizer_logs_a_one_to_one_and_it_is_on_the_persons_timeline(app, login_as, make_user, make_person):
    organizer = make_user("organizer")
    person = make_person(first_name="Rosa", last_name="Gomez")
    with app.app_context():
        from organizer.relational.models import Issue

        housing = db.session.scalar(select(Issue.id).where(Issue.name == "housing"))
    auth = login_as(organizer)
    response = auth.post("/one-to-ones/new", _form(person_id=person.id, issue_ids=[housing]))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/people/{person.id}")
    with app.app_context():
        one = db.session.scalar(select(OneToOne))
        assert (one.person_id, one.held_by_id, one.assessment) == (person.id, organizer.id, 4)
        assert [i.name for i in one.issues] == ["housing"]
        assert [(c.kind.value, c.quantity, c.status) for c in one.commitments] == [
            ("hold_one_to_ones", 5, CommitmentStatus.OPEN)]
        summary = db.session.get(PersonPipeline, person.id)
        assert (summary.one_to_one_count, summary.last_one_to_one_on, summary.last_assessment) == (1, _today(), 4)
    page = auth.client.get(f"/people/{person.id}").get_data(as_text=True)
    assert f"One-to-one with {organizer.name}" in page
    assert "Rent keeps going up" in page


def test_leader_logs_with_a_new_person_who_joins_their_list(app, login_as, make_user):
    leader = make_user("leader")
    response = login_as(leader).post("/one-to-ones/new", _form(
        person_id="", new_first_name="Dolores", new_last_name="Huerta", new_phone="(312) 555-0142"))
    assert response.status_code == 302
    with app.app_context():
        one = db.session.scalar(select(OneToOne))
        assert one.person.full_name == "Dolores Huerta"
        assert one.person.phone == "+13125550142"
        assert one.person.owner_id == leader.id
        assert one.held_by_id == leader.id


def test_leader_cannot_log_with_someone_outside_their_list(app, login_as, make_user, make_person):
    leader, other = make_user("leader"), make_user("leader")
    theirs = make_person(owner=other)
    response = login_as(leader).post("/one-to-ones/new", _form(person_id=theirs.id))
    assert response.status_code == 404
    assert _count(app) == 0


def test_the_service_refuses_a_leaders_meeting_with_someone_elses_person(app, make_user, make_person):
    import pytest
    from werkzeug.exceptions import NotFound

    from organizer.auth.models import User
    from organizer.relational.services import OneToOneData, log_one_to_one

    leader, other = make_user("leader"), make_user("leader")
    theirs = make_person(owner=other)
    with app.app_context():
        with pytest.raises(NotFound):
            log_one_to_one(OneToOneData(held_on=_today(), person_id=theirs.id), db.session.get(User, leader.id),
                           region="US")


def test_leader_form_offers_only_their_own_people(login_as, make_user, make_person):
    leader, other = make_user("leader"), make_user("leader")
    mine = make_person(owner=leader, first_name="Mine")
    make_person(owner=other, first_name="Theirs")
    page = login_as(leader).client.get("/one-to-ones/new").get_data(as_text=True)
    assert f'value="{mine.id}"' in page and "Mine" in page
    assert "Theirs" not in page
    assert 'name="held_by_id"' not in page  # a leader always holds their own meetings


def test_leader_cannot_read_a_one_to_one_with_someone_outside_their_list(login_as, make_user, make_person, log_meeting):
    leader, other = make_user("leader"), make_user("leader")
    theirs = make_person(owner=other)
    one_id = log_meeting(other, theirs, assessment=5)
    assert login_as(leader).client.get(f"/one-to-ones/{one_id}").status_code == 404
    assert login_as(other).client.get(f"/one-to-ones/{one_id}").status_code == 200


def test_organizer_logs_on_behalf_of_a_leader(app, login_as, make_user, make_person):
    organizer, leader = make_user("organizer"), make_user("leader")
    person = make_person(owner=leader)
    assert login_as(organizer).post("/one-to-ones/new", _form(person_id=person.id, held_by_id=leader.id)).status_code == 302
    with app.app_context():
        one = db.session.scalar(select(OneToOne))
        assert (one.held_by_id, one.created_by_id) == (leader.id, organizer.id)


def test_missing_person_and_bad_phone_are_field_errors_and_nothing_is_written(app, login_as, make_user):
    auth = login_as(make_user("organizer"))
    response = auth.post("/one-to-ones/new", _form(person_id=""))
    assert response.status_code == 200
    assert "enter a new person" in response.get_data(as_text=True)
    response = auth.post("/one-to-ones/new", _form(person_id="", new_first_name="Ana", new_phone="12"))
    assert response.status_code == 200
    assert "This is not a valid phone number." in response.get_data(as_text=True)
    assert _count(app) == 0
    from organizer.people.models import Person

    assert _count(app, Person) == 0


def test_assessment_out_of_range_is_refused(app, login_as, make_user, make_person):
    person = make_person()
    response = login_as(make_user("organizer")).post("/one-to-ones/new", _form(person_id=person.id, assessment="9"))
    assert response.status_code == 200
    assert _count(app) == 0


def test_new_form_from_a_persons_page_preselects_them(login_as, make_user, make_person):
    person = make_person(first_name="Preselected")
    auth = login_as(make_user("organizer"))
    assert f'href="/one-to-ones/new?person_id={person.id}"' in auth.client.get(f"/people/{person.id}").get_data(as_text=True)
    page = auth.client.get(f"/one-to-ones/new?person_id={person.id}").get_data(as_text=True)
    assert f'<option selected value="{person.id}">' in page


def test_marking_a_commitment_kept(app, login_as, make_user, make_person, log_meeting):
    from organizer.relational.models import CommitmentKind
    from organizer.relational.services import CommitmentData

    organizer = make_user("organizer")
    person = make_person()
    one_id = log_meeting(organizer, person, commitments=[CommitmentData(CommitmentKind.ATTEND_ACTION)])
    with app.app_context():
        commitment_id = db.session.scalar(select(Commitment.id))
    response = login_as(organizer).post(f"/one-to-ones/{one_id}/commitments/{commitment_id}", {"status": "kept"})
    assert response.status_code == 302
    with app.app_context():
        commitment = db.session.get(Commitment, commitment_id)
        assert commitment.status is CommitmentStatus.KEPT and commitment.marked_by_id == organizer.id
