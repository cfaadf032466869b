"""CSV exports are streamed row by row, in the same few queries whatever the number of rows."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from organizer.extensions import db


def _tag_people(app, people, names):
    from organizer.people.models import PersonRaceEthnicity, RaceEthnicity, person_tags
    from organizer.settings.models import Tag

    with app.app_context():
        tags = [db.session.scalar(select(Tag).where(Tag.name == n)) or Tag(name=n) for n in names]
        db.session.add_all(tags)
        db.session.flush()
        for person in people:
            db.session.execute(person_tags.insert(), [{"person_id": person.id, "tag_id": t.id} for t in tags])
            db.session.add_all([PersonRaceEthnicity(person_id=person.id, value=RaceEthnicity.WHITE),
                                PersonRaceEthnicity(person_id=person.id, value=RaceEthnicity.ASIAN)])
        db.session.commit()


def _export(client, url, count_queries):
    with count_queries() as q:
        response = client.get(url)
        assert response.status_code == 200 and response.is_streamed
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    return rows, q.count


def test_people_export_runs_the_same_queries_for_3_and_40_people(app, login_as, make_user, make_person,
                                                                   count_queries):
    client = login_as(make_user("organizer")).client
    people = [make_person(last_name=f"Few{i}") for i in range(3)]
    _tag_people(app, people, ["Zeta team", "Alpha team"])
    few, few_queries = _export(client, "/people/export.csv", count_queries)
    more = [make_person(last_name=f"More{i}") for i in range(37)]
    _tag_people(app, more, ["Zeta team", "Alpha team"])
    many, many_queries = _export(client, "/people/export.csv", count_queries)

    assert len(few) == 4 and len(many) == 41
    assert many_queries == few_queries
    values = dict(zip(many[0], many[1], strict=True))
    assert values["tags"] == "Alpha team;Zeta team"  # sorted by name, as the person page lists them
    assert values["race_ethnicity"] == "asian;white"


def test_action_exports_run_the_same_queries_for_2_and_30_people(app, login_as, make_user, make_person, make_action,
                                                                  make_institution, add_rsvp, count_queries):
    from organizer.institutions.models import Membership

    action = make_action(days=-1)
    school, church = make_institution(name="Zion school"), make_institution(name="Abbey church")
    client = login_as(make_user()).client

    def grow(n):
        for _ in range(n):
            person = make_person()
            with app.app_context():
                db.session.add_all([Membership(person_id=person.id, institution_id=school.id),
                                    Membership(person_id=person.id, institution_id=church.id)])
                db.session.commit()
            add_rsvp(action, person, "yes", came=True)

    grow(2)
    small = [_export(client, f"/actions/{action.id}/{kind}.csv", count_queries) for kind in ("signin", "turnout")]
    grow(28)
    large = [_export(client, f"/actions/{action.id}/{kind}.csv", count_queries) for kind in ("signin", "turnout")]

    assert [len(rows) for rows, _ in small] == [3, 3] and [len(rows) for rows, _ in large] == [31, 31]
    assert [n for _, n in large] == [n for _, n in small]
    values = dict(zip(large[1][0][0], large[1][0][1], strict=True))
    assert values["institutions"] == "Abbey church;Zion school"
