"""A leader sees, edits and archives only their own people; organizers see everyone."""

import pytest


@pytest.fixture
def two_leaders(make_user, make_person):
    leader, other = make_user("leader"), make_user("leader")
    mine, theirs = make_person(owner=leader), make_person(owner=other)
    return leader, other, mine, theirs


def test_leader_lists_only_their_own_people(login_as, two_leaders):
    leader, _other, mine, theirs = two_leaders
    page = login_as(leader).client.get("/people/").get_data(as_text=True)
    assert mine.last_name in page
    assert theirs.last_name not in page


@pytest.mark.parametrize("path", ["/people/{id}", "/people/{id}/edit"])
def test_leader_cannot_open_another_leaders_person(login_as, two_leaders, path):
    leader, _other, _mine, theirs = two_leaders
    assert login_as(leader).client.get(path.format(id=theirs.id)).status_code == 404


def test_leader_cannot_archive_another_leaders_person(app, login_as, two_leaders):
    leader, _other, _mine, theirs = two_leaders
    response = login_as(leader).post(f"/people/{theirs.id}/archive")
    assert response.status_code == 404
    with app.app_context():
        from organizer.extensions import db
        from organizer.people.models import Person

        assert db.session.get(Person, theirs.id).archived_at is None


def test_leader_cannot_edit_another_leaders_person_by_post(app, login_as, two_leaders):
    leader, _other, _mine, theirs = two_leaders
    response = login_as(leader).post(f"/people/{theirs.id}/edit", {"first_name": "Hijacked", "sms_consent": "unknown"})
    assert response.status_code == 404
    with app.app_context():
        from organizer.extensions import db
        from organizer.people.models import Person

        assert db.session.get(Person, theirs.id).first_name != "Hijacked"


def test_a_person_a_leader_adds_is_theirs_even_if_the_form_says_otherwise(app, login_as, two_leaders):
    leader, other, _mine, _theirs = two_leaders
    response = login_as(leader).post(
        "/people/new", {"first_name": "Rosa", "last_name": "Parks", "owner_id": other.id, "sms_consent": "unknown"}
    )
    assert response.status_code == 302
    with app.app_context():
        from sqlalchemy import select

        from organizer.extensions import db
        from organizer.people.models import Person

        rosa = db.session.scalar(select(Person).where(Person.first_name == "Rosa"))
        assert rosa.owner_id == leader.id


def test_organizer_sees_every_leaders_people(login_as, make_user, two_leaders):
    _leader, _other, mine, theirs = two_leaders
    organizer = login_as(make_user("organizer"))
    page = organizer.client.get("/people/").get_data(as_text=True)
    assert mine.last_name in page and theirs.last_name in page
    assert organizer.client.get(f"/people/{theirs.id}").status_code == 200


def test_race_and_notes_are_hidden_from_leaders(app, login_as, make_user, make_person):
    from organizer.people.models import PersonRaceEthnicity, RaceEthnicity

    leader = make_user("leader")
    person = make_person(owner=leader, notes="Lost her job at the plant in March")
    with app.app_context():
        from organizer.extensions import db

        db.session.add(PersonRaceEthnicity(person_id=person.id, value=RaceEthnicity.HISPANIC))
        db.session.commit()
    as_leader = login_as(leader).client
    for path in (f"/people/{person.id}", f"/people/{person.id}/edit"):
        page = as_leader.get(path).get_data(as_text=True)
        assert "Lost her job" not in page
        assert "Hispanic" not in page and "race_ethnicities" not in page
    as_organizer = login_as(make_user("organizer")).client
    page = as_organizer.get(f"/people/{person.id}").get_data(as_text=True)
    assert "Lost her job" in page and "Hispanic" in page


def test_leader_edit_keeps_sensitive_fields_they_cannot_see(app, login_as, make_user, make_person):
    leader = make_user("leader")
    person = make_person(owner=leader, notes="Organizer-only note")
    response = login_as(leader).post(
        f"/people/{person.id}/edit", {"first_name": "Renamed", "last_name": "X", "sms_consent": "unknown"}
    )
    assert response.status_code == 302
    with app.app_context():
        from organizer.extensions import db
        from organizer.people.models import Person

        saved = db.session.get(Person, person.id)
        assert saved.first_name == "Renamed" and saved.notes == "Organizer-only note"
