"""Turnout data grown to a chosen size, for the tests that check a page's queries stay fixed."""

from __future__ import annotations

from organizer.extensions import db


def grow_turnout(app, n, action, earlier, leader, church, make_person, add_rsvp) -> None:
    """``n`` more of ``leader``'s people, members of ``church``, who answered ``earlier`` (every
    other one came) and ``action`` (yes or maybe, recruited by ``leader``, every other one came)."""
    from organizer.institutions.models import Membership

    for i in range(n):
        person = make_person(owner=leader, first_name=f"Maria{i}")
        with app.app_context():
            db.session.add(Membership(person_id=person.id, institution_id=church.id))
            db.session.commit()
        add_rsvp(earlier, person, "yes", came=i % 2 == 0)
        add_rsvp(action, person, "yes" if i % 3 else "maybe", came=i % 2 == 1, recruited_by=leader)
