"""Adding and editing people: field errors, phone numbers, duplicate warnings, archive and restore."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.people.conftest import person_in_db


def count_people(app) -> int:
    from organizer.extensions import db
    from organizer.people.models import Person

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Person))


def new_person_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/people/(\d+)$", response.headers["Location"]).group(1))


@pytest.fixture
def organizer(login_as, make_user):
    return login_as(make_user("organizer"))


def test_create_with_an_invalid_phone_shows_a_field_error_and_saves_nothing(app, organizer):
    response = organizer.post("/people/new", {"first_name": "Ana", "phone": "12345", "sms_consent": "unknown"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'id="phone"[^>]*is-invalid|is-invalid[^>]*id="phone"', html)
    assert "This is not a valid phone number. If it is from outside United States, add the country code" in html
    assert count_people(app) == 0


def test_create_without_a_first_name_shows_the_field_error(app, organizer):
    response = organizer.post("/people/new", {"last_name": "Nameless", "sms_consent": "unknown"})
    html = response.get_data(as_text=True)
    assert "Please correct the fields marked below." in html and "This field is required." in html
    assert count_people(app) == 0


def test_a_bad_email_is_a_field_error(app, organizer):
    response = organizer.post("/people/new", {"first_name": "Ana", "email": "ana at home", "sms_consent": "unknown"})
    assert "This is not a valid email address." in response.get_data(as_text=True)
    assert count_people(app) == 0


def test_phone_is_stored_as_e164_and_email_lower_case(app, organizer):
    person_id = new_person_id(organizer.post("/people/new", {
        "first_name": "Ana", "last_name": "Reyes", "phone": "(312) 555-0142", "email": " Ana@Example.ORG ",
        "sms_consent": "unknown"}))
    person = person_in_db(app, person_id)
    assert person.phone == "+13125550142" and person.email == "ana@example.org"
    page = organizer.client.get(f"/people/{person_id}").get_data(as_text=True)
    assert "(312) 555-0142" in page and 'href="tel:+13125550142"' in page


def test_numbers_without_a_country_code_use_the_organizations_region(app, organizer, organization):
    organization(default_phone_region="GB")
    person_id = new_person_id(organizer.post("/people/new", {
        "first_name": "Amelia", "phone": "020 7946 0018", "sms_consent": "unknown"}))
    assert person_in_db(app, person_id).phone == "+442079460018"
    # A number with its country code is kept as it is, whatever the region.
    other_id = new_person_id(organizer.post("/people/new", {
        "first_name": "Bo", "phone": "+1 773 555 0100", "sms_consent": "unknown"}))
    assert person_in_db(app, other_id).phone == "+17735550100"


def test_every_field_is_saved(app, organizer, make_user, make_neighborhood, make_tag):
    leader, hood, tag = make_user("leader"), make_neighborhood("Pilsen"), make_tag("Driver")
    person_id = new_person_id(organizer.post("/people/new", {
        "first_name": "Guadalupe", "last_name": "Reyes", "preferred_name": "Lupe", "phone": "7735550100",
        "email": "lupe@example.org", "address": "1850 W 18th St", "neighborhood_id": hood.id,
        "preferred_language": "es", "tag_ids": [tag.id], "sms_consent": "opted_in", "owner_id": leader.id,
        "race_ethnicities": ["hispanic_latino", "american_indian_alaska_native"], "notes": "Met at the vigil",
    }))
    p = person_in_db(app, person_id)
    assert (p.first_name, p.last_name, p.preferred_name, p.address) == ("Guadalupe", "Reyes", "Lupe", "1850 W 18th St")
    assert (p.neighborhood_id, p.preferred_language, p.owner_id) == (hood.id, "es", leader.id)
    assert [t.id for t in p.tags] == [tag.id]
    assert sorted(p.race_ethnicity_values) == ["american_indian_alaska_native", "hispanic_latino"]
    assert p.notes == "Met at the vigil"
    assert p.sms_consent.value == "opted_in" and p.sms_consent_at is not None
    assert p.sms_consent_source.startswith("edited by")
    assert p.created_by_id is not None and p.created_at is not None


def test_prefer_not_to_say_cannot_be_combined(app, organizer):
    response = organizer.post("/people/new", {
        "first_name": "Ana", "sms_consent": "unknown", "race_ethnicities": ["prefer_not_to_say", "white"]})
    assert "cannot be combined" in response.get_data(as_text=True)
    assert count_people(app) == 0


def test_edit_records_who_changed_what(app, login_as, make_user, make_person):
    organizer = make_user("organizer")
    person = make_person(first_name="Old")
    response = login_as(organizer).post(f"/people/{person.id}/edit", {"first_name": "New", "sms_consent": "unknown"})
    assert response.status_code == 302
    p = person_in_db(app, person.id)
    assert p.first_name == "New" and p.updated_by_id == organizer.id


def test_a_shared_phone_is_saved_with_a_warning_naming_the_other_person(app, organizer, make_person):
    existing = make_person(first_name="Rosa", last_name="Existing", phone="+13125550142")
    response = organizer.post("/people/new", {"first_name": "José", "phone": "312-555-0142", "sms_consent": "unknown"})
    assert response.status_code == 302  # a household may share a phone: not a refusal
    html = organizer.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This is also the phone of:" in html
    assert f'<a href="/people/{existing.id}">Rosa Existing</a>' in html
    assert count_people(app) == 2


def test_duplicate_email_warns_and_saves_nothing(app, organizer, make_person):
    make_person(first_name="Rosa", email="rosa@example.org")
    response = organizer.post("/people/new", {"first_name": "R", "email": "ROSA@example.org", "sms_consent": "unknown"})
    html = response.get_data(as_text=True)
    assert "This email already belongs to" in html and "Save anyway" in html
    assert count_people(app) == 1


def test_save_anyway_creates_the_second_person(app, organizer, make_person):
    make_person(first_name="Rosa", email="rosa@example.org")
    response = organizer.post("/people/new", {
        "first_name": "Rosa", "last_name": "Two", "email": "rosa@example.org", "sms_consent": "unknown",
        "confirm_duplicate": "y"})
    assert response.status_code == 302
    assert count_people(app) == 2


def test_a_phone_shared_with_someone_a_leader_cannot_see_gets_no_hint_at_all(app, login_as, make_user,
                                                                             make_person):
    leader, other = make_user("leader"), make_user("leader")
    hidden = make_person(owner=other, first_name="Secret", last_name="Person", phone="+13125550142")
    actions = login_as(leader)
    response = actions.post("/people/new", {"first_name": "X", "phone": "3125550142", "sms_consent": "unknown"})
    html = response.get_data(as_text=True) + actions.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "shared with someone" not in html and "also the phone of" not in html
    assert "outside your list" not in html and "already belongs" not in html
    assert f"/people/{hidden.id}" not in html and "Secret" not in html
    assert count_people(app) == 2


def test_editing_a_person_does_not_warn_about_their_own_phone(app, organizer, make_person):
    person = make_person(first_name="Ana", phone="+13125550142")
    response = organizer.post(f"/people/{person.id}/edit", {
        "first_name": "Ana", "phone": "+13125550142", "sms_consent": "unknown"})
    assert response.status_code == 302


def test_archive_and_restore(app, login_as, make_user, make_person):
    leader = make_user("leader")
    person = make_person(owner=leader, first_name="Ana", last_name="Archive")
    actions = login_as(leader)
    page = actions.post(f"/people/{person.id}/archive", follow_redirects=True).get_data(as_text=True)
    assert "Ana Archive was archived. Their history is kept." in page and "Restore" in page
    assert person_in_db(app, person.id).archived_at is not None
    assert "Ana Archive" not in actions.client.get("/people/").get_data(as_text=True)
    assert actions.post(f"/people/{person.id}/restore").status_code == 302
    assert person_in_db(app, person.id).archived_at is None
    assert "Ana Archive" in actions.client.get("/people/").get_data(as_text=True)


def test_archive_needs_a_post(login_as, make_user, make_person):
    leader = make_user("leader")
    person = make_person(owner=leader)
    assert login_as(leader).client.get(f"/people/{person.id}/archive").status_code == 405
