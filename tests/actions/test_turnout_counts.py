"""The turnout counts kept by triggers (migration f2c8a4e6b1d9: each action's answers and
arrivals, each person's yes answers and arrivals among them, each action's yeses and arrivals per
institution and per recruiter) equal the ones counted afresh from the RSVPs, check-ins and
memberships after every kind of write: an answer given, changed (its recruiter too), confirmed,
discarded or deleted, a recruiter's account deleted, a check-in, its undo,
a walk-in, a membership added, moved or removed, a merge and its undo, a person archived or
deleted, an institution deleted, an action moved, archived or deleted, rows loaded in bulk.
After each, the prediction made from them equals the one computed from the rows alone, for
every action."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from organizer.extensions import db

ACTION_COLUMNS = ("said_yes", "said_maybe", "said_no", "pending", "attended", "walk_ins", "yes_attended")


def _counted_afresh() -> tuple[dict, dict, dict, dict]:
    """Every action's, person's and action and institution's counts, added up in Python from
    all the RSVPs, check-ins and memberships (what has nothing to count is left out, as the kept
    tables leave it)."""
    from organizer.actions.models import Attendance, Rsvp
    from organizer.institutions.models import Membership

    arrivals = {(a, p): walk_in for a, p, walk_in in
                db.session.execute(select(Attendance.action_id, Attendance.person_id, Attendance.walk_in))}
    actions: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ACTION_COLUMNS, 0))
    people: dict[int, dict[str, int]] = defaultdict(lambda: {"said_yes": 0, "yes_attended": 0})
    for action_id, person_id, status in db.session.execute(select(Rsvp.action_id, Rsvp.person_id, Rsvp.status)):
        column = "pending" if status.value == "pending" else f"said_{status.value}"
        actions[action_id][column] += 1
        if status.value == "yes":
            came = (action_id, person_id) in arrivals
            people[person_id]["said_yes"] += 1
            people[person_id]["yes_attended"] += came
            actions[action_id]["yes_attended"] += came
    for (action_id, _person_id), walk_in in arrivals.items():
        actions[action_id]["attended"] += 1
        actions[action_id]["walk_ins"] += walk_in
    institutions_of: dict[int, list[int]] = defaultdict(list)
    for person_id, institution_id in db.session.execute(select(Membership.person_id, Membership.institution_id)):
        institutions_of[person_id].append(institution_id)
    by_institution: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: {"said_yes": 0, "attended": 0})
    for action_id, person_id in db.session.execute(
            select(Rsvp.action_id, Rsvp.person_id).where(Rsvp.status == "yes")):
        for institution_id in institutions_of[person_id]:
            by_institution[action_id, institution_id]["said_yes"] += 1
    for action_id, person_id in arrivals:
        for institution_id in institutions_of[person_id]:
            by_institution[action_id, institution_id]["attended"] += 1
    by_recruiter: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: {"said_yes": 0, "yes_attended": 0})
    for action_id, person_id, recruiter_id in db.session.execute(
            select(Rsvp.action_id, Rsvp.person_id, Rsvp.recruited_by_id)
            .where(Rsvp.status == "yes", Rsvp.recruited_by_id.is_not(None))):
        by_recruiter[action_id, recruiter_id]["said_yes"] += 1
        by_recruiter[action_id, recruiter_id]["yes_attended"] += (action_id, person_id) in arrivals
    return dict(actions), dict(people), dict(by_institution), dict(by_recruiter)


def _kept() -> tuple[dict, dict, dict, dict]:
    from organizer.actions.models import (
        ActionInstitutionCount,
        ActionRecruiterCount,
        ActionTurnoutCount,
        PersonTurnoutCount,
    )

    actions = {row.action_id: {c: getattr(row, c) for c in ACTION_COLUMNS}
               for row in db.session.scalars(select(ActionTurnoutCount))}
    people = {row.person_id: {"said_yes": row.said_yes, "yes_attended": row.yes_attended}
              for row in db.session.scalars(select(PersonTurnoutCount))}
    by_institution = {(row.action_id, row.institution_id): {"said_yes": row.said_yes, "attended": row.attended}
                      for row in db.session.scalars(select(ActionInstitutionCount))}
    by_recruiter = {(row.action_id, row.recruiter_id): {"said_yes": row.said_yes, "yes_attended": row.yes_attended}
                    for row in db.session.scalars(select(ActionRecruiterCount))}
    return actions, people, by_institution, by_recruiter


def _assert_counts_true(app) -> tuple[dict, dict]:
    """The kept counts are the fresh ones, and every action's prediction from them is the one
    computed from the rows alone; returns the counts."""
    from organizer.actions.models import Action
    from organizer.actions.services import _predict

    with app.app_context():
        kept, fresh = _kept(), _counted_afresh()
        for mine, theirs in zip(kept, fresh, strict=True):
            assert mine == theirs, [(k, mine.get(k), theirs.get(k)) for k in {*mine, *theirs} if mine.get(k) != theirs.get(k)]
        for action in db.session.scalars(select(Action)):
            from_counts, from_rows = _predict(action), _predict(action, from_counts=False)
            assert (from_counts.with_history, from_counts.without_history, from_counts.maybes) == (
                from_rows.with_history, from_rows.without_history, from_rows.maybes), action.title
            # Both add the same terms, in another order: equal to the last bits of a float.
            assert from_counts.expected == pytest.approx(from_rows.expected), action.title
            assert from_counts.federation_rate == pytest.approx(from_rows.federation_rate), action.title
        db.session.remove()
    return kept


@pytest.fixture
def world(app, make_user, make_person, make_action, make_institution):
    """Staff, eight people in three institutions (some in two, some in none) and five actions
    (three past, one yesterday, one coming), with answers and check-ins given through the
    services, as the pages give them."""
    from organizer.actions.models import Action, RsvpSource, RsvpStatus
    from organizer.actions.services import check_in, record_rsvp
    from organizer.auth.models import User
    from organizer.institutions.models import Membership
    from organizer.people.models import Person

    admin, leaders = make_user("admin"), [make_user("leader"), make_user("leader")]
    people = [make_person(first_name=f"Rosa{i}") for i in range(8)]
    institutions = [make_institution() for _ in range(3)]
    actions = [make_action(days=d, title=f"Action {d}") for d in (-30, -20, -10, -1, 5)]
    with app.app_context():
        for i, person in enumerate(people[:7]):
            db.session.add(Membership(person_id=person.id, institution_id=institutions[i % 3].id))
            if i % 2:
                db.session.add(Membership(person_id=person.id, institution_id=institutions[(i + 1) % 3].id))
        db.session.commit()
        actor = db.session.get(User, admin.id)
        for n, action in enumerate(actions):
            action = db.session.get(Action, action.id)
            for i, person in enumerate(people):
                person = db.session.get(Person, person.id)
                status = (RsvpStatus.YES, RsvpStatus.YES, RsvpStatus.MAYBE, RsvpStatus.NO)[(i + n) % 4]
                recruiter = db.session.get(User, leaders[i % 2].id) if i < 6 else None  # two entered by nobody
                record_rsvp(action, person, status, RsvpSource.ORGANIZER, actor=actor, recruited_by=recruiter)
                if n < 4 and (i + n) % 3:
                    check_in(action, person, actor)
        db.session.commit()
        db.session.remove()
    return admin, people, actions, institutions, leaders


def test_the_kept_counts_equal_a_fresh_count_after_every_kind_of_write(app, world, make_person, make_user):
    from organizer.actions.models import Action, Attendance, Rsvp, RsvpSource, RsvpStatus
    from organizer.actions.services import (
        WalkInData,
        archive_action,
        check_in,
        confirm_pending_rsvp,
        discard_pending_rsvp,
        record_rsvp,
        undo_check_in,
        walk_in,
    )
    from organizer.auth.models import User
    from organizer.db import insert_rows, utcnow
    from organizer.people.merging import merge_people, undo_merge
    from organizer.people.models import Person
    from organizer.people.services import archive_person

    admin, people, actions, institutions, leaders = world
    first = _assert_counts_true(app)
    assert first[0][actions[3].id]["yes_attended"] > 0, "the world has yeses who came"

    def step(write) -> tuple[dict, dict]:
        with app.app_context():
            actor = db.session.get(User, admin.id)
            write(actor, lambda model, row_id: db.session.get(model, row_id))
            db.session.commit()
            db.session.remove()
        return _assert_counts_true(app)

    yesterday, coming = actions[3].id, actions[4].id
    newcomer = make_person(first_name="Nueva")

    # An answer given, changed every way, and given again unchanged.
    for status in (RsvpStatus.YES, RsvpStatus.NO, RsvpStatus.MAYBE, RsvpStatus.YES, RsvpStatus.YES):
        step(lambda actor, get, s=status: record_rsvp(get(Action, yesterday), get(Person, newcomer.id), s,
                                                      RsvpSource.ORGANIZER, actor=actor))
    # Checked in, the check-in undone, checked in again; then the yes changed to no after coming.
    step(lambda actor, get: check_in(get(Action, yesterday), get(Person, newcomer.id), actor))
    step(lambda actor, get: undo_check_in(get(Action, yesterday), newcomer.id, actor))
    step(lambda actor, get: check_in(get(Action, yesterday), get(Person, newcomer.id), actor))
    after = step(lambda actor, get: record_rsvp(get(Action, yesterday), get(Person, newcomer.id), RsvpStatus.NO,
                                                RsvpSource.ORGANIZER, actor=actor))
    assert after[1].get(newcomer.id) is None, "no yes left: the person's row is gone"
    # The recruiter of a yes who came changed, then that recruiter's account deleted (their
    # RSVPs keep no recruiter).
    step(lambda actor, get: record_rsvp(get(Action, yesterday), get(Person, newcomer.id), RsvpStatus.YES,
                                        RsvpSource.ORGANIZER, actor=actor, recruited_by=get(User, leaders[0].id)))
    step(lambda actor, get: db.session.execute(
        update(Rsvp).where(Rsvp.action_id == yesterday, Rsvp.person_id == newcomer.id)
        .values(recruited_by_id=leaders[1].id)))
    spare_leader = make_user("leader")
    step(lambda actor, get: db.session.execute(
        update(Rsvp).where(Rsvp.person_id == people[5].id).values(recruited_by_id=spare_leader.id)))
    step(lambda actor, get: db.session.delete(get(User, spare_leader.id)))
    # A walk-in, new to Organizer.
    step(lambda actor, get: walk_in(get(Action, yesterday), WalkInData(first_name="Lupe", last_name="Walks"),
                                    actor, region="US"))
    # A pending sign-up confirmed, another discarded.
    late, later = make_person(first_name="Tarde"), make_person(first_name="Luego")

    def pending(actor, get):
        for person in (late, later):
            record_rsvp(get(Action, coming), get(Person, person.id), RsvpStatus.PENDING, RsvpSource.SIGNUP)

    step(pending)

    def pending_id(person) -> int:
        with app.app_context():
            return db.session.scalar(select(Rsvp.id).where(Rsvp.action_id == coming, Rsvp.person_id == person.id))

    late_rsvp, later_rsvp = pending_id(late), pending_id(later)
    step(lambda actor, get: confirm_pending_rsvp(get(Action, coming), late_rsvp, actor))
    step(lambda actor, get: discard_pending_rsvp(get(Action, coming), later_rsvp, actor))
    # An RSVP deleted with its person checked in (the check-in stays).
    step(lambda actor, get: db.session.execute(
        delete(Rsvp).where(Rsvp.action_id == yesterday, Rsvp.person_id == people[1].id)))

    # A membership added to someone who answered and came, moved to another institution,
    # then removed; and a whole institution deleted (its memberships go with it).
    from organizer.institutions.models import Institution, Membership

    def join(actor, get):
        db.session.add(Membership(person_id=people[7].id, institution_id=institutions[0].id))

    step(join)
    step(lambda actor, get: db.session.execute(
        update(Membership).where(Membership.person_id == people[7].id).values(institution_id=institutions[1].id)))
    step(lambda actor, get: db.session.execute(delete(Membership).where(Membership.person_id == people[7].id)))
    spare = make_institution_in(app, people[5:7])
    step(lambda actor, get: db.session.delete(get(Institution, spare)))

    # Two records of one person merged (they answered the same actions: the merge keeps one
    # answer each), then the merge undone: the counts come back exactly as they were.
    before_merge = _assert_counts_true(app)
    merges = []
    step(lambda actor, get: merges.append(merge_people(get(Person, people[0].id), get(Person, people[2].id), {},
                                                       actor).id))
    from organizer.people.models import PersonMerge

    assert step(lambda actor, get: undo_merge(get(PersonMerge, merges[0]), actor)) == before_merge

    # A person archived (their history still counts), then another deleted.
    step(lambda actor, get: archive_person(get(Person, people[3].id), actor))
    step(lambda actor, get: db.session.delete(get(Person, people[4].id)))
    # An earlier action moved after the coming one, another archived, another deleted.
    step(lambda actor, get: db.session.execute(
        update(Action).where(Action.id == actions[0].id)
        .values(starts_at=get(Action, coming).starts_at + timedelta(days=1))))
    step(lambda actor, get: archive_action(get(Action, actions[1].id), actor))
    step(lambda actor, get: db.session.delete(get(Action, actions[2].id)))

    # Rows loaded in bulk (as an import loads them), then changed and removed in bulk.
    crowd = [make_person(first_name=f"Bulk{i}") for i in range(6)]

    def load(actor, get):
        connection, now = db.session.connection(), utcnow()
        insert_rows(connection, Rsvp.__table__, ["action_id", "person_id", "status", "source", "created_at",
                                                 "updated_at"],
                    [(yesterday, p.id, ("yes", "maybe")[i % 2], "organizer", now, now) for i, p in enumerate(crowd)])
        insert_rows(connection, Attendance.__table__, ["action_id", "person_id", "walk_in", "checked_in_at"],
                    [(yesterday, p.id, False, now) for p in crowd[:4]])

    step(load)
    step(lambda actor, get: db.session.execute(
        update(Rsvp).where(Rsvp.person_id.in_([p.id for p in crowd])).values(status=RsvpStatus.YES)))
    step(lambda actor, get: db.session.execute(
        update(Attendance).where(Attendance.person_id.in_([p.id for p in crowd])).values(walk_in=True)))
    step(lambda actor, get: db.session.execute(delete(Attendance).where(Attendance.action_id == yesterday)))
    step(lambda actor, get: db.session.execute(delete(Rsvp).where(Rsvp.person_id.in_([p.id for p in crowd]))))


def make_institution_in(app, people) -> int:
    """A new institution with ``people`` as members; its id."""
    from organizer.institutions.models import Institution, InstitutionType, Membership

    with app.app_context():
        institution = Institution(name="Spare parish", type=InstitutionType.CONGREGATION,
                                  memberships=[Membership(person_id=p.id) for p in people])
        db.session.add(institution)
        db.session.commit()
        return institution.id


def test_the_turnout_page_shows_the_counts_of_the_rows(app, world, login_as, make_action):
    """The page's totals and its breakdown by institution (read from the kept counts) are the
    rows' own; an action nobody answered has no kept row and shows zeros."""
    from organizer.actions.models import Action
    from organizer.actions.services import turnout
    from organizer.auth.models import User
    from organizer.institutions.models import Institution

    admin, _people, actions, _institutions, _leaders = world
    unanswered = make_action(days=9)
    actions_counted, _people_counted, by_institution, by_recruiter = _assert_counts_true(app)
    with app.app_context():
        names = dict(db.session.execute(select(Institution.id, Institution.name)).all())
        users = dict(db.session.execute(select(User.id, User.name)).all())
        for action in [*actions, unanswered]:
            shown = turnout(db.session.get(Action, action.id), db.session.get(User, admin.id))
            counted = actions_counted.get(action.id, dict.fromkeys(ACTION_COLUMNS, 0))
            assert (shown.yes, shown.maybe, shown.no, shown.pending, shown.attended, shown.walk_ins,
                    shown.attended_yes) == tuple(counted[c] for c in ACTION_COLUMNS)
            assert {r.label: (r.yes, r.attended) for r in shown.by_institution} == {
                names[i]: (n["said_yes"], n["attended"]) for (a, i), n in by_institution.items() if a == action.id}
            assert {r.label: (r.yes, r.attended) for r in shown.by_recruiter} == {
                users[u]: (n["said_yes"], n["yes_attended"]) for (a, u), n in by_recruiter.items() if a == action.id}
        db.session.remove()
    assert actions_counted[actions[3].id]["attended"] > 0
    assert len([key for key in by_institution if key[0] == actions[3].id]) == 3, "every institution came"
    assert len([key for key in by_recruiter if key[0] == actions[3].id]) == 2, "both leaders recruited"
    assert unanswered.id not in actions_counted
    page = login_as(admin).client.get(f"/actions/{actions[3].id}/turnout")
    assert page.status_code == 200


def test_every_way_of_reading_the_history_is_checked(app, world, monkeypatch):
    """The world's actions take each of the prediction's three ways to a person's history (the
    latest: kept counts less this answer; yesterday's: less the coming action's answers too; the
    oldest: the earlier answers themselves), so the checks above cover all three."""
    from organizer.actions import services
    from organizer.actions.models import Action

    used: list[str] = []
    real = services._sums_statement
    monkeypatch.setattr(services, "_sums_statement", lambda history: used.append(history) or real(history))
    _admin, _people, actions, _institutions, _leaders = world
    with app.app_context():
        for action in actions:
            services._predict(db.session.get(Action, action.id))
        db.session.remove()
    assert used[-1] == "counts_only" and used[-2] == "counts" and used[0] == "answers"
