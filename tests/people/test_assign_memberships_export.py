"""Assigning people to a leader, memberships in institutions, and the CSV export."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from tests.people.conftest import person_in_db


def audit_events(app, action):
    from organizer.audit.models import AuditEvent
    from organizer.extensions import db

    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        for e in events:
            db.session.expunge(e)
        return events


# --- assigning ---------------------------------------------------------------------------


def test_organizer_assigns_people_to_a_leader(app, login_as, make_user, make_person):
    organizer, leader = make_user("organizer"), make_user("leader")
    a, b, untouched = make_person(), make_person(), make_person()
    response = login_as(organizer).post("/people/assign", {"person_ids": [a.id, b.id], "owner_id": leader.id})
    assert response.status_code == 302
    assert person_in_db(app, a.id).owner_id == leader.id and person_in_db(app, b.id).owner_id == leader.id
    assert person_in_db(app, untouched.id).owner_id is None
    page = login_as(leader).client.get("/people/").get_data(as_text=True)
    assert a.last_name in page and b.last_name in page and untouched.last_name not in page
    [event] = audit_events(app, "assign")
    assert event.details == {"person_ids": sorted([a.id, b.id]), "owner_id": leader.id}


def test_a_leader_cannot_assign(app, login_as, make_user, make_person):
    leader = make_user("leader")
    mine = make_person(owner=leader)
    response = login_as(leader).post("/people/assign", {"person_ids": [mine.id], "owner_id": ""})
    assert response.status_code == 403
    assert person_in_db(app, mine.id).owner_id == leader.id


def test_assigning_to_an_inactive_account_is_refused(app, login_as, make_user, make_person):
    organizer, gone = make_user("organizer"), make_user("leader", active=False)
    person = make_person()
    actions = login_as(organizer)
    page = actions.post("/people/assign", {"person_ids": [person.id], "owner_id": gone.id},
                        follow_redirects=True).get_data(as_text=True)
    assert "Choose people and who will hold the relationship." in page  # inactive accounts are not offered
    assert person_in_db(app, person.id).owner_id is None


def test_assigning_nobody_is_a_warning(app, login_as, make_user):
    page = login_as(make_user("organizer")).post(
        "/people/assign", {"owner_id": ""}, follow_redirects=True).get_data(as_text=True)
    assert "Choose people and who will hold the relationship." in page


def test_the_owner_can_be_set_on_the_person_form_by_an_organizer(app, login_as, make_user, make_person):
    organizer, leader = make_user("organizer"), make_user("leader")
    person = make_person()
    login_as(organizer).post(f"/people/{person.id}/edit", {
        "first_name": person.first_name, "sms_consent": "unknown", "owner_id": leader.id})
    assert person_in_db(app, person.id).owner_id == leader.id


# --- memberships -------------------------------------------------------------------------


def test_leader_adds_and_removes_a_membership_of_their_person(app, login_as, make_user, make_person, make_institution):
    leader = make_user("leader")
    person, church = make_person(owner=leader), make_institution(name="St. Mark's")
    actions = login_as(leader)
    assert actions.post(f"/people/{person.id}/memberships",
                        {"institution_id": church.id, "role": "core_team"}).status_code == 302
    [membership] = person_in_db(app, person.id).memberships
    assert membership.institution_id == church.id and membership.role.value == "core_team"
    page = actions.client.get(f"/people/{person.id}").get_data(as_text=True)
    assert "St. Mark&#39;s" in page and "Core team" in page
    # Adding again changes the role rather than duplicating.
    actions.post(f"/people/{person.id}/memberships", {"institution_id": church.id, "role": "member"})
    [membership] = person_in_db(app, person.id).memberships
    assert membership.role.value == "member"
    actions.post(f"/people/{person.id}/memberships/{membership.id}/delete")
    assert person_in_db(app, person.id).memberships == []


def test_removing_a_membership_through_another_persons_url_does_nothing(
    app, login_as, make_user, make_person, make_institution
):
    from tests.conftest import _save

    from organizer.institutions.models import Membership

    leader = make_user("leader")
    mine, theirs = make_person(owner=leader), make_person()
    membership = _save(app, Membership(person_id=theirs.id, institution_id=make_institution().id))
    login_as(leader).post(f"/people/{mine.id}/memberships/{membership.id}/delete")
    assert len(person_in_db(app, theirs.id).memberships) == 1


def test_membership_to_an_unknown_institution_is_refused(app, login_as, make_user, make_person):
    leader = make_user("leader")
    person = make_person(owner=leader)
    login_as(leader).post(f"/people/{person.id}/memberships", {"institution_id": 424242, "role": "member"})
    assert person_in_db(app, person.id).memberships == []


# --- export ------------------------------------------------------------------------------


def export_rows(client, query=""):
    response = client.get("/people/export.csv" + query)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # the byte order mark Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_export_has_sensitive_columns_for_staff_and_is_audited(app, login_as, make_user, make_person):
    from organizer.extensions import db
    from organizer.people.models import PersonRaceEthnicity, RaceEthnicity

    organizer = make_user("organizer")
    person = make_person(first_name="Ana", last_name="Export", phone="+13125550142", notes="Private note")
    with app.app_context():
        db.session.add(PersonRaceEthnicity(person_id=person.id, value=RaceEthnicity.HISPANIC))
        db.session.commit()
    header, row = export_rows(login_as(organizer).client)
    assert header[-2:] == ["race_ethnicity", "notes"]
    assert row[1:3] == ["Ana", "Export"] and row[4] == "(312) 555-0142"  # as a spreadsheet keeps it
    assert row[-2:] == ["hispanic_latino", "Private note"]
    [event] = audit_events(app, "export")
    assert event.user_id == organizer.id and event.details["rows"] == 1
    assert "Private note" not in str(event.details)


def test_export_follows_the_list_filters(login_as, make_user, make_person):
    make_person(first_name="Ana", last_name="Keep", preferred_language="es")
    make_person(first_name="Bo", last_name="Drop", preferred_language="en")
    rows = export_rows(login_as(make_user("admin")).client, "?language=es")
    assert [r[2] for r in rows[1:]] == ["Keep"]


def test_leaders_cannot_export(login_as, make_user):
    assert login_as(make_user("leader")).client.get("/people/export.csv").status_code == 403


def test_export_defuses_spreadsheet_formulas(app, login_as, make_user, make_person):
    make_person(first_name="=HYPERLINK(\"http://evil\")", last_name="+SUM(A1)", address="@cmd", notes="-2+3",
                preferred_name="\t=1+1")
    header, row = export_rows(login_as(make_user("organizer")).client)
    values = dict(zip(header, row, strict=True))
    assert values["first_name"] == "'=HYPERLINK(\"http://evil\")"
    assert values["last_name"] == "'+SUM(A1)"
    assert values["address"] == "'@cmd"
    assert values["notes"] == "'-2+3"
    assert values["preferred_name"] == "'\t=1+1"
    assert values["phone"] == ""


def test_export_writes_phones_in_a_form_spreadsheets_keep_as_text(login_as, make_user, make_person):
    # Bare E.164 ("+13125550142") became a number in Excel (1.31256E+10) and could not be
    # imported again; the import reads both of these back (test_import_presets: round trip).
    make_person(first_name="Ana", phone="+13125550142")
    make_person(first_name="Zoë", phone="+525512345678")
    rows = export_rows(login_as(make_user("organizer")).client)
    phones = {row[1]: dict(zip(rows[0], row, strict=True))["phone"] for row in rows[1:]}
    assert phones == {"Ana": "(312) 555-0142", "Zoë": "'+52 55 1234 5678"}
