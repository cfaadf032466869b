"""List and board pages run a fixed number of queries whatever the number of people and meetings."""

from __future__ import annotations

from datetime import timedelta

import pytest

PAGES = ["/", "/pipeline/board", "/pipeline/funnel", "/follow-ups", "/pipeline/accountability", "/pipeline/raters",
         "/pipeline/connectors", "/pipeline/suggestions", "/people/?stage={contact}", "/pipeline/network",
         "/pipeline/network.json"]


def _populate(app, organizer, leader, n, stage_ids, make_person, make_institution, log_meeting, move):
    from organizer.extensions import db
    from organizer.institutions.models import Membership
    from organizer.relational.services import local_today

    with app.app_context():
        today = local_today()
    institution = make_institution()
    for i in range(n):
        person = make_person(owner=organizer if i % 2 else leader)
        with app.app_context():
            db.session.add(Membership(person_id=person.id, institution_id=institution.id))
            db.session.commit()
        # Held before the follow-up is due (a follow-up cannot be earlier than its meeting).
        log_meeting(organizer, person, held_on=today - timedelta(days=i * 40 + n), assessment=4,
                    follow_up_on=today + timedelta(days=i - n // 2))
        if i % 2 == 0:
            log_meeting(leader, person, held_on=today - timedelta(days=i), assessment=5)
        move(organizer, person, list(stage_ids.values())[i % len(stage_ids)])


@pytest.mark.parametrize("path", PAGES)
def test_page_query_count_does_not_grow_with_people(app, login_as, make_user, make_person, make_institution,
                                                     log_meeting, move, stage_ids, count_queries, path):
    from organizer.auth.models import User
    from organizer.extensions import db

    organizer, leader = make_user("organizer"), make_user("leader")
    own = make_person(owner=organizer)
    with app.app_context():  # the leader's own record, so their meetings link people (connectors)
        db.session.get(User, leader.id).person_id = own.id
        db.session.commit()
    url = path.format(contact=stage_ids["Contact"])
    auth = login_as(organizer)
    counts = []
    for n in (2, 12):
        _populate(app, organizer, leader, n, stage_ids, make_person, make_institution, log_meeting, move)
        auth.client.get(url)  # warm-up: the session's user is loaded on each request anyway
        with count_queries() as q:
            assert auth.client.get(url).status_code == 200
        counts.append(q.count)
    assert counts[0] == counts[1], f"{url}: {counts}"
