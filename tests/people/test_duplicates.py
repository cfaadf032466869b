"""Likely duplicates: same phone, same email, or the same name with accents, case, word order
and nicknames aside; a leader sees only pairs within their own list."""

from __future__ import annotations

import pytest

from organizer.extensions import db


def _pairs(app, user_id):
    from organizer.auth.models import User
    from organizer.people.duplicates import duplicate_pairs

    with app.app_context():
        pairs, total = duplicate_pairs(db.session.get(User, user_id))
        return {frozenset((p.first.id, p.second.id)): (p.reasons, p.score) for p in pairs}, total


@pytest.mark.parametrize(("one", "two"), [
    (("José", "García"), ("Jose", "GARCIA")),  # accents and case
    (("García", "José"), ("José", "García")),  # word order
    (("Pepe", "García"), ("José", "García")),  # Spanish nickname
    (("Bob", "Smith"), ("Robert", "Smith")),  # English nickname
    (("Lupe", "Hernández"), ("Guadalupe", "Hernandez")),
    (("Chuy", "Ramírez"), ("Jesús", "Ramirez")),
    (("Paco", "Núñez"), ("Francisco", "Nunez")),
])
def test_same_name_is_a_likely_duplicate(app, make_user, make_person, one, two):
    organizer = make_user("organizer")
    a = make_person(first_name=one[0], last_name=one[1])
    b = make_person(first_name=two[0], last_name=two[1])
    make_person(first_name="María", last_name="García")  # another person altogether
    pairs, total = _pairs(app, organizer.id)
    assert total == 1
    assert pairs == {frozenset((a.id, b.id)): (["name"], 40)}


def test_same_phone_or_email_is_a_likely_duplicate_and_reasons_add_up(app, make_user, make_person):
    organizer = make_user("organizer")
    a = make_person(first_name="Ana", last_name="Ruiz", phone="+13125550111", email="ana@example.org")
    b = make_person(first_name="Anita", last_name="Ruiz Soto", phone="+13125550111")
    c = make_person(first_name="A.", last_name="Soto", email="ana@example.org")
    d = make_person(first_name="Ana", last_name="Ruiz", phone="+13125550111")
    pairs, _total = _pairs(app, organizer.id)
    assert pairs[frozenset((a.id, b.id))] == (["phone"], 50)
    assert pairs[frozenset((a.id, c.id))] == (["email"], 50)
    assert pairs[frozenset((a.id, d.id))] == (["phone", "name"], 90)
    assert frozenset((b.id, c.id)) not in pairs


def test_archived_people_are_not_offered(app, make_user, make_person):
    from organizer.db import utcnow

    organizer = make_user("organizer")
    make_person(first_name="Rosa", last_name="Díaz")
    make_person(first_name="Rosa", last_name="Diaz", archived_at=utcnow())
    assert _pairs(app, organizer.id)[1] == 0


def test_leader_sees_only_pairs_within_their_own_list(app, make_user, make_person, login_as):
    leader, other = make_user("leader"), make_user("leader")
    mine = make_person(owner=leader, first_name="Pepe", last_name="Zqlopez")
    mine_too = make_person(owner=leader, first_name="José", last_name="Zqlópez")
    theirs = make_person(owner=other, first_name="Jose", last_name="Zqlopez", phone="+13125550122")
    theirs_too = make_person(owner=other, first_name="Joe", last_name="Zqlopez", phone="+13125550122")
    assert set(_pairs(app, leader.id)[0]) == {frozenset((mine.id, mine_too.id))}
    client = login_as(leader).client
    page = client.get("/people/duplicates").get_data(as_text=True)
    assert f"/people/{mine.id}\"" in page
    assert f"/people/{theirs.id}\"" not in page and f"/people/{theirs_too.id}\"" not in page
    # trying the other leader's ids directly: not found, nothing merged
    assert client.get(f"/people/merge/{mine.id}/{theirs.id}").status_code == 404
    assert login_as(leader).post(f"/people/merge/{mine.id}/{theirs.id}").status_code == 404
    assert client.get(f"/people/merge/{theirs.id}/{theirs_too.id}").status_code == 404
    with app.app_context():
        from organizer.people.models import Person

        assert db.session.get(Person, theirs.id) is not None


def test_leader_merges_two_of_their_own_people_choosing_fields(app, make_user, make_person, login_as):
    from organizer.people.models import Person, PersonMerge

    leader = make_user("leader")
    kept = make_person(owner=leader, first_name="Pepe", last_name="Soto", phone="+13125550133")
    other = make_person(owner=leader, first_name="José", last_name="Soto", email="jose@example.org")
    actions = login_as(leader)
    page = actions.client.get(f"/people/merge/{kept.id}/{other.id}").get_data(as_text=True)
    assert "José" in page and "jose@example.org" in page
    response = actions.post(f"/people/merge/{kept.id}/{other.id}", {"first_name": "other", "phone": "kept",
                                                                    "email": "other"})
    assert response.status_code == 302
    with app.app_context():
        merged = db.session.get(Person, kept.id)
        assert (merged.first_name, merged.phone, merged.email) == ("José", "+13125550133", "jose@example.org")
        assert merged.search_key.startswith("jose soto")
        assert db.session.get(Person, other.id) is None
        assert db.session.query(PersonMerge).count() == 1


def test_admin_undoes_a_merge_from_the_merges_page(app, make_user, make_person, login_as):
    from organizer.people.models import Person

    organizer, admin = make_user("organizer"), make_user("admin")
    kept = make_person(first_name="Lupe", last_name="Vega")
    other = make_person(first_name="Guadalupe", last_name="Vega", phone="+13125550144")
    assert login_as(organizer).post(f"/people/merge/{kept.id}/{other.id}").status_code == 302
    actions = login_as(admin)
    page = actions.client.get("/people/merges").get_data(as_text=True)
    assert "Guadalupe Vega" in page
    from organizer.people.models import PersonMerge

    with app.app_context():
        merge_id = db.session.query(PersonMerge.id).scalar()
    assert actions.post(f"/people/merges/{merge_id}/undo").status_code == 302
    with app.app_context():
        back = db.session.get(Person, other.id)
        assert (back.first_name, back.phone) == ("Guadalupe", "+13125550144")
        assert db.session.get(Person, kept.id).first_name == "Lupe"
    assert login_as(organizer).client.get("/people/merges").status_code == 403


def test_imported_people_get_a_name_key(app, make_user):
    """The bulk import inserts with Core: the key is filled there too."""
    from sqlalchemy import insert, select

    from organizer.people.models import Person

    with app.app_context():
        db.session.execute(insert(Person), [{"first_name": "Chuy", "last_name": "Ortega"}])
        db.session.commit()
        assert db.session.scalar(select(Person.name_key).where(Person.last_name == "Ortega")) == "jesus ortega"


def test_merging_a_reported_pair_closes_the_report_and_undo_reopens_it(app, make_user, make_person):
    from sqlalchemy import select

    from organizer.audit.models import AuditEvent
    from organizer.auth.models import User
    from organizer.people.merging import merge_people, undo_merge
    from organizer.people.models import DuplicateConflict, Person
    from organizer.people.services import open_conflicts

    organizer, admin, leader = make_user("organizer"), make_user("admin"), make_user("leader")
    on_file = make_person(first_name="Tere", last_name="Luna", phone="+13125550155")
    saved = make_person(owner=leader, first_name="Teresa", last_name="Luna", phone="+13125550155")
    with app.app_context():
        db.session.add(DuplicateConflict(person_id=saved.id, other_person_id=on_file.id, matched_on="phone"))
        db.session.commit()
        assert open_conflicts()[1] == 1
        merge = merge_people(db.session.get(Person, on_file.id), db.session.get(Person, saved.id), {},
                             db.session.get(User, organizer.id))
        db.session.commit()
        assert open_conflicts()[1] == 0
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "merge"))
        assert event.object_id == on_file.id and event.details["merged_person_id"] == saved.id
        undo_merge(merge, db.session.get(User, admin.id))
        db.session.commit()
        assert open_conflicts()[1] == 1
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "undo_merge")) is not None
