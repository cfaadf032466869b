"""The data-quality report: each count equals a direct count in the database, each links to the
people list filtered the same way, and the page asks a fixed number of queries."""

from __future__ import annotations

from sqlalchemy import func, select

from organizer.extensions import db


def _make_mixed_people(app, make_person, n: int, start: int = 0) -> None:
    from organizer.people.models import PersonRaceEthnicity, RaceEthnicity, SmsConsent
    from organizer.sms.models import PhoneFlag

    for i in range(start, start + n):
        person = make_person(first_name=f"Q{i}", last_name="Quality",
                             phone=f"+1312555{i:04d}" if i % 2 else None,
                             preferred_language="es" if i % 3 else None,
                             sms_consent=SmsConsent.OPTED_OUT if i % 5 == 0 else SmsConsent.UNKNOWN)
        with app.app_context():
            if i % 4 == 0:
                db.session.add(PersonRaceEthnicity(person_id=person.id, value=RaceEthnicity.OTHER))
            if i % 7 == 1 and person.phone:
                db.session.add(PhoneFlag(phone=person.phone, reason="landline", error_code=30006))
            db.session.commit()


def _direct_counts() -> dict[str, int]:
    from organizer.people.models import Person, PersonRaceEthnicity, SmsConsent
    from organizer.sms.models import PhoneFlag

    live = Person.archived_at.is_(None)

    def count(*where):
        return db.session.scalar(select(func.count()).select_from(Person).where(live, *where))

    return {
        "no_phone": count(Person.phone.is_(None)),
        "no_neighborhood": count(Person.neighborhood_id.is_(None)),
        "no_language": count(Person.preferred_language.is_(None)),
        "no_race": count(Person.id.not_in(select(PersonRaceEthnicity.person_id))),
        "flagged": count(Person.phone.in_(select(PhoneFlag.phone))),
        "opted_out": count(Person.sms_consent == SmsConsent.OPTED_OUT),
        "no_owner": count(Person.owner_id.is_(None)),
    }


def test_counts_match_the_database_and_link_to_the_filtered_list(app, make_user, make_person, login_as):
    from organizer.auth.models import User
    from organizer.people.quality import quality_counts

    organizer = make_user("organizer")
    _make_mixed_people(app, make_person, 20)
    make_person(first_name="Pepe", last_name="Quality Twin")
    make_person(first_name="José", last_name="Quality Twin")
    with app.app_context():
        counts = quality_counts(db.session.get(User, organizer.id))
        direct = _direct_counts()
    for check, n in direct.items():
        assert counts[check] == n, check
    assert counts["duplicate_pairs"] == 1
    client = login_as(organizer).client
    page = client.get("/reports/data-quality").get_data(as_text=True)
    assert "/people/?quality=no_phone" in page and "/sms/flags" in page
    for check, n in direct.items():
        listed = client.get(f"/people/?quality={check}").get_data(as_text=True)
        assert f'data-testid="people-total">{n} ' in listed, check
    listed = client.get("/people/?quality=duplicates").get_data(as_text=True)
    assert 'data-testid="people-total">2 ' in listed


def test_report_is_staff_only(make_user, login_as):
    assert login_as(make_user("leader")).client.get("/reports/data-quality").status_code == 404


def test_report_and_filtered_list_ask_a_fixed_number_of_queries(app, make_user, make_person, login_as,
                                                                count_queries):
    client = login_as(make_user("organizer")).client
    _make_mixed_people(app, make_person, 5)
    client.get("/reports/data-quality")
    with count_queries() as few_report:
        client.get("/reports/data-quality")
    with count_queries() as few_list:
        client.get("/people/?quality=no_race")
    _make_mixed_people(app, make_person, 25, start=100)
    with count_queries() as many_report:
        client.get("/reports/data-quality")
    with count_queries() as many_list:
        client.get("/people/?quality=no_race")
    assert few_report.count == many_report.count
    assert few_list.count == many_list.count
