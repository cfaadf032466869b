"""The people list: search, filters, sort, pagination, and a fixed number of queries."""

from __future__ import annotations

import re

import pytest


def names(html: str) -> list[str]:
    """The people linked from the list, in page order."""
    return re.findall(r'<a href="/people/\d+">([^<]+)</a>', html)


@pytest.fixture
def staff(login_as, make_user):
    return login_as(make_user("organizer")).client


def test_search_by_name(staff, make_person):
    make_person(first_name="Dolores", last_name="Huerta")
    make_person(first_name="César", last_name="Chávez")
    assert names(staff.get("/people/?q=huer").get_data(as_text=True)) == ["Dolores Huerta"]
    assert names(staff.get("/people/?q=dolores huerta").get_data(as_text=True)) == ["Dolores Huerta"]
    assert names(staff.get("/people/?q=CÉSAR").get_data(as_text=True)) == ["César Chávez"]


def test_search_ignores_accents_both_ways(staff, make_person):
    make_person(first_name="María", last_name="García")
    make_person(first_name="Jose", last_name="Nunez")
    make_person(first_name="Ana", last_name="Other")
    assert names(staff.get("/people/?q=garcia").get_data(as_text=True)) == ["María García"]
    assert names(staff.get("/people/?q=MARIA").get_data(as_text=True)) == ["María García"]
    assert names(staff.get("/people/?q=Núñez").get_data(as_text=True)) == ["Jose Nunez"]
    assert names(staff.get("/people/?q=josé").get_data(as_text=True)) == ["Jose Nunez"]


def test_search_words_match_in_any_order(staff, make_person):
    make_person(first_name="María", last_name="García")
    make_person(first_name="María", last_name="López")
    assert names(staff.get("/people/?q=garcia maria").get_data(as_text=True)) == ["María García"]
    assert names(staff.get("/people/?q=maria  garc").get_data(as_text=True)) == ["María García"]


def test_search_follows_a_renamed_person(app, staff, make_person):
    person = make_person(first_name="Ana", last_name="Before")
    with app.app_context():
        from organizer.extensions import db
        from organizer.people.models import Person

        db.session.get(Person, person.id).last_name = "Después"
        db.session.commit()
    assert names(staff.get("/people/?q=before").get_data(as_text=True)) == []
    assert names(staff.get("/people/?q=despues").get_data(as_text=True)) == ["Ana Después"]


def test_people_loaded_in_bulk_are_searchable_too(app, staff):
    # Benchmarks and imports insert with Core, bypassing the ORM: the column default fills the key.
    with app.app_context():
        from sqlalchemy import insert

        from organizer.extensions import db
        from organizer.people.models import Person

        db.session.execute(insert(Person), [{"first_name": "Bulk", "last_name": "Peña"},
                                            {"first_name": "Other", "last_name": "Row"}])
        db.session.commit()
    assert names(staff.get("/people/?q=pena").get_data(as_text=True)) == ["Bulk Peña"]


def test_search_by_preferred_name(staff, make_person):
    make_person(first_name="Guadalupe", last_name="Reyes", preferred_name="Lupe")
    make_person(first_name="Ana", last_name="Reyes")
    assert names(staff.get("/people/?q=lupe").get_data(as_text=True)) == ["Lupe Reyes"]


def test_search_by_phone_digits_however_typed(staff, make_person):
    make_person(first_name="Ana", last_name="Phone", phone="+13125550142")
    make_person(first_name="Bo", last_name="Other", phone="+17735550199")
    for q in ("(312) 555-0142", "312-555", "5550142", "+1 312 555 0142"):
        assert names(staff.get(f"/people/?q={q}").get_data(as_text=True)) == ["Ana Phone"], q


def test_search_by_email(staff, make_person):
    make_person(first_name="Ana", last_name="Mail", email="ana.mail@example.org")
    make_person(first_name="Bo", last_name="Other", email="bo@example.net")
    assert names(staff.get("/people/?q=ANA.MAIL@").get_data(as_text=True)) == ["Ana Mail"]


def test_wildcards_in_a_search_are_literal(staff, make_person):
    make_person(first_name="Ana", last_name="Percent")
    assert names(staff.get("/people/?q=%25").get_data(as_text=True)) == []
    assert names(staff.get("/people/?q=_").get_data(as_text=True)) == []


def test_filter_by_neighborhood(staff, make_person, make_neighborhood):
    pilsen, uptown = make_neighborhood("Pilsen"), make_neighborhood("Uptown")
    make_person(first_name="In", last_name="Pilsen", neighborhood_id=pilsen.id)
    make_person(first_name="In", last_name="Uptown", neighborhood_id=uptown.id)
    assert names(staff.get(f"/people/?neighborhood={pilsen.id}").get_data(as_text=True)) == ["In Pilsen"]


def test_filter_by_institution(staff, make_person, make_institution, add_membership):
    church, school = make_institution(), make_institution()
    add_membership(make_person(first_name="At", last_name="Church"), church)
    add_membership(make_person(first_name="At", last_name="School"), school)
    assert names(staff.get(f"/people/?institution={church.id}").get_data(as_text=True)) == ["At Church"]


def test_filter_by_tag(app, staff, make_person, make_tag):
    from organizer.extensions import db
    from organizer.people.models import Person
    from organizer.settings.models import Tag

    driver = make_tag("Driver")
    make_tag("Youth")
    tagged = make_person(first_name="Has", last_name="Tag")
    make_person(first_name="No", last_name="Tag")
    with app.app_context():
        stored = db.session.get(Person, tagged.id)
        stored.tags.append(db.session.get(Tag, driver.id))
        db.session.commit()
    assert names(staff.get(f"/people/?tag={driver.id}").get_data(as_text=True)) == ["Has Tag"]


def test_filter_by_owner(staff, make_user, make_person):
    leader = make_user("leader")
    make_person(owner=leader, first_name="Held", last_name="ByLeader")
    make_person(first_name="Held", last_name="ByNobody")
    assert names(staff.get(f"/people/?owner={leader.id}").get_data(as_text=True)) == ["Held ByLeader"]


def test_a_leader_cannot_widen_their_list_with_the_owner_filter(login_as, make_user, make_person):
    leader, other = make_user("leader"), make_user("leader")
    make_person(owner=leader, first_name="Mine", last_name="Only")
    make_person(owner=other, first_name="Not", last_name="Mine")
    page = login_as(leader).client.get(f"/people/?owner={other.id}").get_data(as_text=True)
    assert names(page) == ["Mine Only"]


def test_filter_by_language(staff, make_person):
    make_person(first_name="Habla", last_name="Espanol", preferred_language="es")
    make_person(first_name="Speaks", last_name="English", preferred_language="en")
    assert names(staff.get("/people/?language=es").get_data(as_text=True)) == ["Habla Espanol"]


def test_archived_people_are_listed_only_when_asked(staff, make_person):
    from organizer.db import utcnow

    make_person(first_name="Still", last_name="Here")
    make_person(first_name="Long", last_name="Gone", archived_at=utcnow())
    listed = staff.get("/people/").get_data(as_text=True)
    assert names(listed) == ["Still Here"]
    assert ">1 person<" in listed  # the total leaves the archived out too
    assert names(staff.get("/people/?archived=1").get_data(as_text=True)) == ["Long Gone"]


def test_sort_by_name_both_ways_and_by_date(staff, make_person):
    from datetime import timedelta

    from organizer.db import utcnow

    now = utcnow()
    make_person(first_name="Ana", last_name="Zamora", created_at=now - timedelta(days=1))
    make_person(first_name="Bo", last_name="Abbott", created_at=now - timedelta(days=3))
    make_person(first_name="Cy", last_name="Martin", created_at=now - timedelta(days=2))
    assert names(staff.get("/people/").get_data(as_text=True)) == ["Bo Abbott", "Cy Martin", "Ana Zamora"]
    assert names(staff.get("/people/?sort=-name").get_data(as_text=True)) == ["Ana Zamora", "Cy Martin", "Bo Abbott"]
    assert names(staff.get("/people/?sort=oldest").get_data(as_text=True)) == ["Bo Abbott", "Cy Martin", "Ana Zamora"]
    assert names(staff.get("/people/?sort=newest").get_data(as_text=True)) == ["Ana Zamora", "Cy Martin", "Bo Abbott"]
    # The "Added" column's link flips between oldest and its reverse.
    assert names(staff.get("/people/?sort=-oldest").get_data(as_text=True)) == ["Ana Zamora", "Cy Martin", "Bo Abbott"]
    assert names(staff.get("/people/?sort=bogus").get_data(as_text=True)) == ["Bo Abbott", "Cy Martin", "Ana Zamora"]


def test_pagination(app, staff, make_person):
    app.config["PEOPLE_PER_PAGE"] = 2
    for last in ("Aa", "Bb", "Cc", "Dd", "Ee"):
        make_person(first_name="P", last_name=last)
    first = staff.get("/people/").get_data(as_text=True)
    assert names(first) == ["P Aa", "P Bb"] and "Page 1 of 3" in first and "5 people" in first
    assert names(staff.get("/people/?page=3").get_data(as_text=True)) == ["P Ee"]
    assert names(staff.get("/people/?page=0").get_data(as_text=True)) == ["P Aa", "P Bb"]
    second = staff.get("/people/?page=2&sort=-name").get_data(as_text=True)
    assert names(second) == ["P Cc", "P Bb"]
    assert "page=3" in second and "sort=-name" in second  # the pager keeps the sort


def test_the_list_costs_the_same_number_of_queries_for_5_or_40_people(
    app, staff, make_user, make_person, make_institution, make_neighborhood, make_tag, add_membership, count_queries
):
    from organizer.extensions import db
    from organizer.people.models import Person
    from organizer.settings.models import Tag

    hood, institution = make_neighborhood("Pilsen"), make_institution()
    tag_ids = [make_tag("Driver").id, make_tag("Youth").id]
    leaders = [make_user("leader") for _ in range(3)]

    def add_people(n):
        for i in range(n):
            person = make_person(owner=leaders[i % 3], neighborhood_id=hood.id, phone=f"+1312555{i:04d}")
            add_membership(person, institution)
            with app.app_context():
                stored = db.session.get(Person, person.id)
                stored.tags = [db.session.get(Tag, t) for t in tag_ids]
                db.session.commit()

    def queries():
        with count_queries() as q:
            assert staff.get("/people/").status_code == 200
        return q.count

    add_people(5)
    small = queries()
    add_people(35)
    assert queries() == small


def test_a_line_shows_the_persons_name_phone_neighborhood_institutions_tags_holder_and_day_added(
    app, staff, make_user, make_person, make_institution, make_neighborhood, make_tag, add_membership
):
    from datetime import UTC, datetime

    from organizer.extensions import db
    from organizer.people.models import Person
    from organizer.settings.models import Tag

    holder = make_user("leader", name="Rosa Leader")
    person = make_person(owner=holder, first_name="Guadalupe", preferred_name="Lupe", last_name="Reyes",
                         phone="+13125550142", neighborhood_id=make_neighborhood("Pilsen").id,
                         created_at=datetime(2026, 3, 9, 18, 0, tzinfo=UTC))
    add_membership(person, make_institution(name="St. Pius"))  # joined first, listed first
    add_membership(person, make_institution(name="Casa Aztlán"))
    with app.app_context():
        stored = db.session.get(Person, person.id)
        stored.tags = [db.session.get(Tag, make_tag(name).id) for name in ("Youth", "Driver")]
        db.session.commit()
    make_person(first_name="Nobody", last_name="Else")

    html = staff.get("/people/").get_data(as_text=True)
    row = next(r for r in re.findall(r"<tr>.*?</tr>", html, re.S) if f'href="/people/{person.id}"' in r)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    # The check box, then what the list shows, in the columns' order.
    assert cells[1:] == ["Lupe Reyes", "(312) 555-0142", "Pilsen", "St. Pius, Casa Aztlán", "Driver Youth",
                         "Rosa Leader", "Mar 9, 2026"]
    assert 'aria-label="Select Lupe Reyes"' in row


def test_a_line_leaves_blank_what_the_person_lacks_and_marks_the_archived(staff, make_person):
    from organizer.db import utcnow

    person = make_person(first_name="Long", last_name="Gone", phone=None, archived_at=utcnow())
    html = staff.get("/people/?archived=1").get_data(as_text=True)
    row = next(r for r in re.findall(r"<tr>.*?</tr>", html, re.S) if f'href="/people/{person.id}"' in r)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[1] == "Long Gone archived"
    # No phone, neighborhood, institution or tag, and nobody holds the relationship.
    assert cells[2:7] == ["", "", "", "", ""]
