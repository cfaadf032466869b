"""``flask seed-demo``: a realistic federation, the demo logins printed, and only once."""

from __future__ import annotations

from sqlalchemy import func, select


def test_seed_demo_builds_the_federation_and_prints_the_logins(app, runner):
    from organizer.auth.models import Role, User
    from organizer.extensions import db
    from organizer.institutions.models import Institution
    from organizer.people.models import Person
    from organizer.settings.models import Neighborhood

    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "demo-password" in result.output
    for email in ["admin@demo.local", *(f"organizer{i}@demo.local" for i in (1, 2, 3)),
                  *(f"leader{i}@demo.local" for i in range(1, 9))]:
        assert email in result.output

    with app.app_context():
        def count(model, *where):
            return db.session.scalar(select(func.count()).select_from(model).where(*where))

        assert 290 <= count(Person) <= 320
        assert count(Neighborhood) == 6
        assert count(Institution) == 12
        assert count(User, User.role == Role.ADMIN) == 1
        assert count(User, User.role == Role.ORGANIZER) == 3
        leaders = db.session.scalars(select(User).where(User.role == Role.LEADER)).all()
        assert len(leaders) == 8
        for leader in leaders:
            assert count(Person, Person.owner_id == leader.id) >= 10, leader.email
            assert leader.person_id is not None and db.session.get(Person, leader.person_id) is not None
        assert db.session.scalar(select(User).where(User.email == "leader1@demo.local")).check_password(
            "demo-password")


def test_seed_demo_refuses_to_run_twice(app, runner):
    from organizer.extensions import db
    from organizer.people.models import Person

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Person))
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "already has users" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == before


def test_demo_phone_numbers_are_valid_so_demo_people_can_be_edited(app, runner):
    from organizer.extensions import db
    from organizer.people.models import Person
    from organizer.people.services import normalize_phone

    runner.invoke(args=["seed-demo"])
    with app.app_context():  # reading a number consults the organization's member countries
        phones = db.session.scalars(select(Person.phone).where(Person.phone.is_not(None))).all()
        assert phones and all(normalize_phone(p, "US") == p for p in phones)
