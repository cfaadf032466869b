"""The action page's RSVP list (``rsvps_visible``): a page of the answers of the people the
viewer may see, by name, each with whether they came and who recruited them, and the total of
the list; the same whether the page is chosen first and read after or read whole (as objects)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from organizer.extensions import db

LAST_NAMES = ["Zapata", "Abad", "Moreno", "Abad", "Lee", "Moreno", "Ortiz", "Abad", "Cruz", "Lee", "Baker"]


@pytest.fixture
def answered(app, make_user, make_person, make_action, add_rsvp):
    """Eleven answers to one action (people with shared names, three owned by a leader), some
    who came, some recruited; and an answer to another action that must never show."""
    staff, leader, other_leader = make_user("organizer"), make_user("leader"), make_user("leader")
    action, other = make_action(), make_action(title="Another")
    for i, last in enumerate(LAST_NAMES):
        owner = leader if i % 4 == 0 else other_leader
        person = make_person(owner=owner, first_name="Dana" if i % 2 else "Ari", last_name=last)
        add_rsvp(action, person, "maybe" if i % 3 == 0 else "yes", came=i % 2 == 0,
                 recruited_by=leader if i % 5 == 0 else None)
    add_rsvp(other, make_person(last_name="Aaron"), "yes")
    return staff, leader, action


def _expected(action_id: int, user, status: str | None):
    """Every answer the viewer may see, read whole and sorted in Python: the reference."""
    from organizer.actions.models import Attendance, Rsvp

    rsvps = [r for r in db.session.scalars(select(Rsvp).where(Rsvp.action_id == action_id))
             if (user.is_staff or r.person.owner_id == user.id) and (status is None or r.status.value == status)]
    came = set(db.session.scalars(select(Attendance.person_id).where(Attendance.action_id == action_id)))
    rsvps.sort(key=lambda r: (r.person.last_name, r.person.first_name, r.person.id))
    return [(r.id, r.person_id in came, r.recruited_by_id, r.person.display_name,
             r.recruited_by.name if r.recruited_by else None) for r in rsvps]


@pytest.mark.parametrize("status", [None, "yes", "maybe"])
def test_the_rsvp_list_pages_by_name_with_check_ins_and_recruiters(app, answered, status):
    from organizer.actions.models import Action, RsvpStatus
    from organizer.actions.services import rsvps_visible
    from organizer.auth.models import User

    staff, leader, action = answered
    with app.app_context():
        for viewer in (db.session.get(User, staff.id), db.session.get(User, leader.id)):
            expected = _expected(action.id, viewer, status)
            listed, totals = [], set()
            for page in (1, 2, 3, 4):
                shown = rsvps_visible(viewer, db.session.get(Action, action.id), page=page, per_page=3,
                                      status=RsvpStatus(status) if status else None)
                totals.add(shown.total)
                listed += [(r.id, r.came, r.recruited_by_id, r.display_name, r.recruited_by) for r in shown.rows]
                # everyone who came, the leader's people or not, whatever the answer asked for
                assert shown.checked_in == sum(i % 2 == 0 for i in range(len(LAST_NAMES)))
            assert listed == expected and totals == {len(expected)}, (viewer.role, status)
        # a leader's list holds only their own people
        assert len(_expected(action.id, db.session.get(User, leader.id), None)) == 3
