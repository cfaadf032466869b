"""Action rules: RSVP upsert, check-in counted once, walk-ins, prediction, turnout figures."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from organizer.actions import services
from organizer.actions.models import Attendance, Rsvp, RsvpSource, RsvpStatus
from organizer.audit.models import AuditEvent
from organizer.extensions import db
from organizer.people.models import Person


def _get(model, id_):
    return db.session.get(model, id_)


def test_record_rsvp_updates_the_one_rsvp_and_audits_each_change(app, make_action, make_person, make_user):
    action, person, leader = make_action(), make_person(), make_user("leader")
    with app.app_context():
        a, p = _get(type(action), action.id), _get(Person, person.id)
        services.record_rsvp(a, p, RsvpStatus.MAYBE, RsvpSource.LEADER, actor=leader, recruited_by=leader)
        rsvp = services.record_rsvp(a, p, RsvpStatus.YES, RsvpSource.SMS)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Rsvp)) == 1
        assert rsvp.status is RsvpStatus.YES and rsvp.source is RsvpSource.SMS
        assert rsvp.recruited_by_id == leader.id  # kept when the later answer names no recruiter
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "rsvp")).all()
        assert [e.details["to"] for e in events] == ["maybe", "yes"]


def test_check_in_twice_counts_once_and_marks_walk_ins(app, make_action, make_person, make_user, add_rsvp):
    action, said_yes, stranger, staff = make_action(days=0), make_person(), make_person(), make_user()
    add_rsvp(action, said_yes, "yes")
    with app.app_context():
        a = _get(type(action), action.id)
        first, created = services.check_in(a, _get(Person, said_yes.id), staff)
        again, created_again = services.check_in(a, _get(Person, said_yes.id), staff)
        walk, _ = services.check_in(a, _get(Person, stranger.id), staff)
        db.session.commit()
        assert created and not created_again and first.id == again.id
        assert first.walk_in is False and walk.walk_in is True
        assert services.checked_in_count(a) == 2


def test_check_in_that_loses_the_race_returns_the_row_the_other_device_wrote(
        app, make_action, make_person, make_user, monkeypatch):
    """The other device inserted between our look-up and our insert: the constraint decides."""
    action, person, staff = make_action(days=0), make_person(), make_user()
    with app.app_context():
        db.session.add(Attendance(action_id=action.id, person_id=person.id, checked_in_by_id=staff.id))
        db.session.commit()
    real = services._attendance
    calls = []

    def stale_first_lookup(action_id, person_id):
        calls.append(1)
        return None if len(calls) == 1 else real(action_id, person_id)

    monkeypatch.setattr(services, "_attendance", stale_first_lookup)
    with app.app_context():
        attendance, created = services.check_in(_get(type(action), action.id), _get(Person, person.id), staff)
        db.session.commit()
        assert not created and attendance.person_id == person.id
        assert db.session.scalar(select(func.count()).select_from(Attendance)) == 1


def test_walk_in_matches_an_existing_phone_and_name_and_creates_strangers_once(
        app, make_action, make_person, make_user, make_institution):
    action, staff, church = make_action(days=0), make_user(), make_institution()
    known = make_person(first_name="Ana", last_name="Reyes", phone="+13125550142")
    with app.app_context():
        a = _get(type(action), action.id)
        _att, person, created = services.walk_in(
            a, services.WalkInData("ana", "R.", "(312) 555-0142", church.id), staff, region="US")
        assert not created and person.id == known.id and person.first_name == "Ana"
        _att, new_person, created = services.walk_in(
            a, services.WalkInData("Luis", "Flores", "773-555-0199", None), staff, region="US")
        db.session.commit()
        assert created and new_person.phone == "+17735550199" and new_person.owner_id is None
        assert [m.institution_id for m in _get(Person, known.id).memberships] == [church.id]
        assert services.checked_in_count(a) == 2


def test_a_walk_in_on_a_household_phone_is_their_own_person(app, make_action, make_person, make_user):
    """Ana's husband gives the family's number at the door: he is checked in, not Ana."""
    action, staff = make_action(days=0), make_user()
    ana = make_person(first_name="Ana", last_name="Reyes", phone="+13125550142")
    with app.app_context():
        a = _get(type(action), action.id)
        _att, person, created = services.walk_in(
            a, services.WalkInData("José", "Reyes", "312 555 0142", None), staff, region="US")
        db.session.commit()
        assert created and person.id != ana.id and person.phone == ana.phone
        assert services.checked_in_count(a) == 1
        assert db.session.scalar(select(func.count()).select_from(Attendance).where(
            Attendance.person_id == ana.id)) == 0


def test_prediction_uses_own_history_and_the_federation_average_for_newcomers(
        app, make_action, make_person, add_rsvp):
    regular, flaky, newcomer, maybe = (make_person() for _ in range(4))
    past = [make_action(days=-d) for d in (30, 20, 10)]
    # regular: 2 of 2; flaky: 0 of 2 -> federation average over the 4 past yeses = 2/4 = 0.5.
    for action in past[:2]:
        add_rsvp(action, regular, "yes", came=True)
        add_rsvp(action, flaky, "yes", came=False)
    add_rsvp(past[2], newcomer, "no")
    upcoming = make_action(days=5)
    for person in (regular, flaky, newcomer):
        add_rsvp(upcoming, person, "yes")
    add_rsvp(upcoming, maybe, "maybe")
    with app.app_context():
        p = services.predict_turnout(_get(type(upcoming), upcoming.id))
    assert p.federation_rate == pytest.approx(0.5)
    # regular 1.0 + flaky 0.0 + newcomer 0.5 (average) + maybe 0.5 * 0.5
    assert p.expected == pytest.approx(1.75)
    assert (p.with_history, p.without_history, p.maybes) == (2, 2, 1)


def test_turnout_figures_flakes_first_timers_and_breakdowns(app, make_action, make_person, make_user, add_rsvp,
                                                            make_institution):
    from organizer.institutions.models import Membership

    organizer, leader, church = make_user(), make_user("leader"), make_institution(name="St. Mark's")
    veteran, flake, newcomer, walker = (make_person(owner=leader) for _ in range(4))
    with app.app_context():
        db.session.add_all([Membership(person_id=veteran.id, institution_id=church.id),
                            Membership(person_id=flake.id, institution_id=church.id)])
        db.session.commit()
    earlier = make_action(days=-30)
    add_rsvp(earlier, veteran, "yes", came=True)
    action = make_action(days=-1, turnout_goal=10)
    add_rsvp(action, veteran, "yes", came=True, recruited_by=leader)
    add_rsvp(action, flake, "yes", recruited_by=leader)
    add_rsvp(action, newcomer, "yes", came=True, recruited_by=organizer)
    add_rsvp(action, walker, "no")
    with app.app_context():
        a = _get(type(action), action.id)
        services.save_commitment(a, 40, organizer, institution=church, committed_by_name="Fr. Miguel")
        services.save_commitment(a, 8, leader)
        db.session.commit()
        t = services.turnout(a, organizer)
    assert (t.goal, t.committed, t.yes, t.no, t.attended, t.flakes) == (10, 48, 3, 1, 2, 1)
    assert t.flake_rate == pytest.approx(1 / 3)
    assert [p.id for p in t.no_shows] == [flake.id]
    assert {p.id for p in t.first_timers} == {newcomer.id}
    row = next(r for r in t.by_institution if r.label == "St. Mark's")
    assert (row.committed, row.yes, row.attended) == (40, 2, 1)
    by_leader = next(r for r in t.by_recruiter if r.label == leader.name)
    assert (by_leader.committed, by_leader.yes, by_leader.attended) == (8, 2, 1)


def test_attendance_counts_in_one_query(app, make_action, make_person, add_rsvp, count_queries):
    people = [make_person() for _ in range(3)]
    for days in (-3, -2):
        action = make_action(days=days)
        add_rsvp(action, people[0], came=True)
    add_rsvp(action, people[1], came=True)
    with app.app_context(), count_queries() as q:
        counts = services.attendance_counts([p.id for p in people])
    assert counts == {people[0].id: 2, people[1].id: 1}
    assert q.count == 1


def test_a_leader_cannot_commit_for_an_institution(app, make_action, make_user, make_institution):
    action, leader, church = make_action(), make_user("leader"), make_institution()
    with app.app_context(), pytest.raises(PermissionError):
        services.save_commitment(_get(type(action), action.id), 10, leader, institution=church)
