""""Not the same person": a suggested pair marked as two different people stops being offered,
to everyone, is audited, can be offered again, and survives a merge and its undo."""

from __future__ import annotations

from sqlalchemy import func, select

from organizer.extensions import db


def _offered(app, user_id) -> set[frozenset[int]]:
    from organizer.auth.models import User
    from organizer.people.duplicates import duplicate_pairs

    with app.app_context():
        pairs, _total = duplicate_pairs(db.session.get(User, user_id))
        return {frozenset((p.first.id, p.second.id)) for p in pairs}


def _dismissals(app) -> list[tuple[int, int, int | None]]:
    from organizer.people.models import DuplicateDismissal

    with app.app_context():
        return [(d.first_person_id, d.second_person_id, d.dismissed_by_id)
                for d in db.session.scalars(select(DuplicateDismissal).order_by(DuplicateDismissal.id))]


def test_organizer_marks_a_pair_as_two_people_and_nobody_is_offered_it_again(app, make_user, make_person,
                                                                             login_as):
    from organizer.audit.models import AuditEvent

    organizer, admin = make_user("organizer"), make_user("admin")
    a = make_person(first_name="Rosa", last_name="Zqmendez", phone="+13125550172")
    b = make_person(first_name="Rosa", last_name="Zqméndez")
    c = make_person(first_name="R.", last_name="Zqmendez", phone="+13125550172")
    assert frozenset((a.id, b.id)) in _offered(app, admin.id)
    # asked in either order: stored once, smaller id first
    response = login_as(organizer).post(f"/people/duplicates/{b.id}/{a.id}/dismiss")
    assert response.status_code == 302
    assert login_as(organizer).post(f"/people/duplicates/{a.id}/{b.id}/dismiss").status_code == 302
    assert _dismissals(app) == [(a.id, b.id, organizer.id)]
    assert frozenset((a.id, b.id)) not in _offered(app, organizer.id)
    assert frozenset((a.id, b.id)) not in _offered(app, admin.id)  # the federation's decision
    assert frozenset((a.id, c.id)) in _offered(app, admin.id)  # other pairs of the same people stay
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dismiss_duplicate")).all()
        assert [(e.user_id, e.object_id) for e in events] == [(organizer.id, a.id)]
    page = login_as(admin).client.get("/people/duplicates/dismissed").get_data(as_text=True)
    assert "Zqméndez" in page and organizer.name in page


def test_a_dismissed_pair_is_offered_again_after_undo(app, make_user, make_person, login_as):
    from organizer.audit.models import AuditEvent
    from organizer.people.models import DuplicateDismissal

    organizer = make_user("organizer")
    a = make_person(first_name="Lupe", last_name="Zqvega", phone="+13125550171")
    b = make_person(first_name="Guadalupe", last_name="Zqvega", phone="+13125550171")
    actions = login_as(organizer)
    actions.post(f"/people/duplicates/{a.id}/{b.id}/dismiss")
    with app.app_context():
        dismissal_id = db.session.scalar(select(DuplicateDismissal.id))
    assert actions.post(f"/people/duplicates/dismissed/{dismissal_id}/undo").status_code == 302
    assert _dismissals(app) == []
    assert frozenset((a.id, b.id)) in _offered(app, organizer.id)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "undo_dismiss_duplicate")) == 1


def test_leader_dismisses_within_their_own_list_only(app, make_user, make_person, login_as):
    from organizer.people.models import DuplicateDismissal

    leader, other = make_user("leader"), make_user("leader")
    mine = make_person(owner=leader, first_name="Chuy", last_name="Zqramirez")
    mine_too = make_person(owner=leader, first_name="Jesús", last_name="Zqramírez")
    theirs = make_person(owner=other, first_name="Jesus", last_name="Zqramirez")
    theirs_too = make_person(owner=other, first_name="Chucho", last_name="Zqramirez")
    actions = login_as(leader)
    assert actions.post(f"/people/duplicates/{mine.id}/{theirs.id}/dismiss").status_code == 404
    assert actions.post(f"/people/duplicates/{theirs.id}/{theirs_too.id}/dismiss").status_code == 404
    assert _dismissals(app) == []
    assert actions.post(f"/people/duplicates/{mine.id}/{mine_too.id}/dismiss").status_code == 302
    assert _dismissals(app) == [(mine.id, mine_too.id, leader.id)]

    # the other leader's pair dismissed by staff: hidden from, and not undoable by, the first leader
    organizer = make_user("organizer")
    login_as(organizer).post(f"/people/duplicates/{theirs.id}/{theirs_too.id}/dismiss")
    with app.app_context():
        theirs_dismissal = db.session.scalar(select(DuplicateDismissal.id).where(
            DuplicateDismissal.first_person_id == min(theirs.id, theirs_too.id)))
    page = login_as(leader).client.get("/people/duplicates/dismissed").get_data(as_text=True)
    assert "Chuy" in page and "Chucho" not in page
    assert login_as(leader).post(f"/people/duplicates/dismissed/{theirs_dismissal}/undo").status_code == 404
    assert len(_dismissals(app)) == 2


def test_merge_and_undo_carry_dismissed_pairs(app, make_user, make_person):
    """The other's dismissals become the kept person's (in order, once); the pair of the two
    themselves goes (the merge says they are one); undo puts every dismissal back as it was."""
    from organizer.people.duplicates import dismiss_pair
    from organizer.people.merging import merge_people, undo_merge
    from organizer.people.models import DuplicateDismissal, PersonMerge

    admin = make_user("admin")
    low = make_person(first_name="Ana", last_name="Zqruiz")
    kept = make_person(first_name="Ana", last_name="Zqruiz")
    other = make_person(first_name="Anita", last_name="Zqruiz")
    both = make_person(first_name="Ana", last_name="Zqruiz")
    high = make_person(first_name="Ana", last_name="Zqruiz")
    with app.app_context():
        user = db.session.get(type(admin), admin.id)
        for a, b in ((kept, other), (other, low), (other, high), (other, both), (kept, both)):
            dismiss_pair(user, a.id, b.id)
        db.session.commit()

        def pairs():
            return sorted(db.session.execute(select(DuplicateDismissal.id, DuplicateDismissal.first_person_id,
                                                    DuplicateDismissal.second_person_id,
                                                    DuplicateDismissal.dismissed_at)).all())

        before = pairs()
        people = {p.id: p for p in (low, kept, other, both, high)}
        merge = merge_people(db.session.get(type(kept), kept.id), db.session.get(type(other), other.id), {}, user)
        db.session.commit()
        merged = {(f, s) for _id, f, s, _at in pairs()}
        assert merged == {(low.id, kept.id), (kept.id, high.id), (kept.id, both.id)}
        assert not any(other.id in pair for pair in merged)
        undo_merge(db.session.get(PersonMerge, merge.id), user)
        db.session.commit()
        assert pairs() == before
        assert set(people) <= set(db.session.scalars(select(type(kept).id)))
