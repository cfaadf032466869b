"""The person page's network (``relational.services.network``): whom a leader with an account
has met (their account's one-to-ones, newest first, with counts and last dates) and who met
them, people outside the viewer's list left nameless."""

from __future__ import annotations

from datetime import timedelta

from organizer.extensions import db


def test_a_leaders_network_lists_whom_their_account_met_and_who_met_them(app, make_user, make_person):
    from organizer.auth.models import User
    from organizer.people.models import Person
    from organizer.relational.models import OneToOne
    from organizer.relational.services import local_today, network

    organizer, leader, other_leader = make_user("organizer"), make_user("leader"), make_user("leader")
    record = make_person(owner=leader, first_name="Lena", last_name="Leader")
    own, theirs = make_person(owner=leader, last_name="Own"), make_person(owner=other_leader, last_name="Theirs")
    unlinked = make_person(owner=leader, last_name="Unlinked")
    with app.app_context():
        db.session.get(User, leader.id).person_id = record.id
        db.session.commit()
        today = local_today()
        # Straight into the table: the leader once met someone who is now another leader's.
        for person, holder, days_ago in ((own, leader, 10), (own, leader, 2), (theirs, leader, 5),
                                         (record, organizer, 4), (unlinked, leader, 1)):
            db.session.add(OneToOne(person_id=person.id, held_by_id=holder.id, held_on=today - timedelta(days=days_ago)))
        db.session.commit()
        for viewer_id, sees_theirs in ((organizer.id, True), (leader.id, False)):
            viewer = db.session.get(User, viewer_id)
            met, met_by = network(viewer, db.session.get(Person, record.id))
            assert [(r.person.id if r.person else None, r.meetings, r.last) for r in met] == [
                (unlinked.id, 1, today - timedelta(days=1)), (own.id, 2, today - timedelta(days=2)),
                (theirs.id if sees_theirs else None, 1, today - timedelta(days=5))]
            assert [(r.user.id, r.meetings, r.last) for r in met_by] == [(organizer.id, 1, today - timedelta(days=4))]
        # Somebody without an account has met nobody through one.
        met, met_by = network(db.session.get(User, organizer.id), db.session.get(Person, own.id))
        assert met == [] and [(r.user.id, r.meetings) for r in met_by] == [(leader.id, 2)]
