"""The duplicate warning names only people the user may see. A leader who types the phone or
email of somebody outside their list gets no hint of that person at all; staff get a
conflict."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from organizer.extensions import db
from organizer.people.models import DuplicateConflict, Person


def _conflicts(app):
    with app.app_context():
        return [(c.person_id, c.other_person_id, c.matched_on, c.resolved_at is None)
                for c in db.session.scalars(select(DuplicateConflict).order_by(DuplicateConflict.id))]


def test_a_leader_typing_someone_elses_phone_sees_no_hint_and_staff_get_a_conflict(
        app, login_as, make_user, make_person):
    other_leader = make_user("leader")
    outsider = make_person(owner=other_leader, first_name="Hidden", last_name="Outsider", phone="+13125550142",
                           email="hidden@example.org")
    leader = login_as(make_user("leader"))
    response = leader.post("/people/new", {"first_name": "Rosa", "phone": "312-555-0142",
                                           "email": "hidden@example.org", "sms_consent": "unknown"})
    assert response.status_code == 302  # saved as any new person
    followed = leader.client.get(response.headers["Location"]).get_data(as_text=True)
    for page in (response.get_data(as_text=True), followed):
        assert "already belongs" not in page and "outside your list" not in page and "Hidden" not in page
    new_id = int(re.search(r"/people/(\d+)$", response.headers["Location"]).group(1))
    assert _conflicts(app) == [(new_id, outsider.id, "phone,email", True)]

    staff = login_as(make_user("organizer"))
    listing = staff.client.get("/people/conflicts").get_data(as_text=True)
    assert "Rosa" in listing and "Hidden Outsider" in listing
    conflict_id = int(re.search(r"/people/conflicts/(\d+)/resolve", listing).group(1))
    assert staff.post(f"/people/conflicts/{conflict_id}/resolve").status_code == 302
    assert _conflicts(app)[0][3] is False
    assert leader.client.get("/people/conflicts").status_code == 403


def test_a_leaders_own_person_sharing_the_phone_is_named_with_a_link(app, login_as, make_user, make_person):
    user = make_user("leader")
    mine = make_person(owner=user, first_name="Rosa", last_name="Mine", phone="+13125550142")
    unowned = make_person(first_name="Hidden", last_name="Unowned", phone="+13125550142")  # not the leader's
    actions = login_as(user)
    response = actions.post("/people/new", {"first_name": "R", "phone": "3125550142", "sms_consent": "unknown"})
    assert response.status_code == 302  # households share phones: saved, with a warning
    html = actions.client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'<a href="/people/{mine.id}">Rosa Mine</a>' in html and "Hidden" not in html
    assert "outside your list" not in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == 3
    new_id = int(re.search(r"/people/(\d+)$", response.headers["Location"]).group(1))
    assert [c[:2] for c in _conflicts(app)] == [(new_id, unowned.id)]  # the unowned record goes to staff, unnamed here


def test_changing_a_phone_to_an_outsiders_opens_a_conflict_once(app, login_as, make_user, make_person):
    user = make_user("leader")
    mine = make_person(owner=user, first_name="Rosa", phone="+13125550100")
    outsider = make_person(first_name="Hidden", phone="+13125550142")
    leader = login_as(user)
    for _ in range(2):
        response = leader.post(f"/people/{mine.id}/edit", {"first_name": "Rosa", "phone": "3125550142",
                                                           "sms_consent": "unknown"})
        assert response.status_code == 302 and "Hidden" not in response.get_data(as_text=True)
    assert _conflicts(app) == [(mine.id, outsider.id, "phone", True)]


def test_staff_see_every_person_sharing_the_phone_and_open_no_conflict(app, login_as, make_user, make_person):
    other = make_person(first_name="Known", last_name="ToStaff", phone="+13125550142", owner=make_user("leader"))
    staff = login_as(make_user("organizer"))
    response = staff.post("/people/new", {"first_name": "R", "phone": "3125550142", "sms_consent": "unknown"})
    assert response.status_code == 302
    followed = staff.client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'<a href="/people/{other.id}">Known ToStaff</a>' in followed
    assert _conflicts(app) == []
