"""The action page (``/actions/<id>``) reads what it shows in a fixed number of statements,
whatever the number of answers, commitments and prep meetings, for staff and for a leader,
filtered by answer or not, on its first page and the next: its query count is pinned."""

from __future__ import annotations

import re

from organizer.actions.models import Attendance, Rsvp, RsvpSource, RsvpStatus, TurnoutCommitment
from organizer.extensions import db

# The statements the page runs today: the transaction's BEGIN, the user and the organization (every
# page's), the action (campaign joined), the RSVPs counted with the check-ins, one page of the
# RSVPs, the commitments, the prep meetings; staff also read the institutions for the institution
# commitment form. At most: the shared per-request statements may become fewer.
LEADER_STATEMENTS = 8
STAFF_STATEMENTS = 9


def _grow(app, n, *, action, leader, other_leader, church, make_person, make_action):
    """``n`` more answers to ``action`` (a third of them from ``other_leader``'s people, some
    pending, some who came, some recruited by ``leader``), a prep meeting with ``n`` arrivals,
    and a commitment of ``church`` and of ``leader`` (changed as the data grows)."""
    prep = make_action(days=-3, prepares_for_id=action.id, title="Prep")
    with app.app_context():
        for i in range(n):
            owner = other_leader if i % 3 == 0 else leader
            person = make_person(owner=owner, first_name=f"Ana{i}", last_name=f"Lopez{i % 7}")
            status = RsvpStatus.PENDING if i % 5 == 0 else RsvpStatus.YES if i % 2 else RsvpStatus.MAYBE
            db.session.add(Rsvp(action_id=action.id, person_id=person.id, status=status, source=RsvpSource.ORGANIZER,
                                recruited_by_id=leader.id if i % 4 == 0 else None))
            if i % 2:
                db.session.add(Attendance(action_id=action.id, person_id=person.id))
            db.session.add(Attendance(action_id=prep.id, person_id=person.id))
        for institution_id, leader_id in ((church.id, None), (None, leader.id)):
            db.session.add(TurnoutCommitment(action_id=action.id, institution_id=institution_id, leader_id=leader_id,
                                             number=n, committed_by_name="Rev. Ortiz" if institution_id else None))
        db.session.commit()


def _rows(page: str) -> int:
    table = page.split('data-testid="rsvp-table"')[1].split("</tbody>")[0]
    return len(re.findall(r'<a href="/people/\d+">', table))


def test_the_action_page_runs_the_same_statements_whatever_the_data(
        app, make_user, make_person, make_action, make_institution, login_as, count_queries):
    staff, leader, other_leader = make_user(), make_user("leader"), make_user("leader")
    church, action = make_institution(), make_action(days=-1)
    staff_client, leader_client = login_as(staff).client, login_as(leader).client
    urls = ("", "?status=yes", "?status=pending", "?page=2")

    def measure():
        counts, shown = {}, {}
        for who, client in (("staff", staff_client), ("leader", leader_client)):
            for query in urls:
                with count_queries() as q:
                    response = client.get(f"/actions/{action.id}{query}")
                assert response.status_code == 200
                counts[who, query], shown[who, query] = q.count, _rows(response.get_data(as_text=True))
        return counts, shown

    def grow(n):
        _grow(app, n, action=action, leader=leader, other_leader=other_leader, church=church,
              make_person=make_person, make_action=make_action)

    grow(4)
    small, shown_small = measure()
    grow(80)  # past one page of 50, for staff and for the leader
    large, shown_large = measure()

    assert large == small
    assert max(n for (who, _query), n in small.items() if who == "staff") <= STAFF_STATEMENTS
    assert max(n for (who, _query), n in small.items() if who == "leader") <= LEADER_STATEMENTS
    # the data grew: more rows on the first pages and a second page, each within one page of 50
    assert shown_large["staff", ""] == shown_large["leader", ""] == 50 > shown_small["staff", ""]
    assert 0 < shown_large["leader", "?page=2"] < shown_large["staff", "?page=2"] <= 50
