"""Every form that takes a phone asks which country a number typed without a country code
belongs to when it is valid in more than one of the organization's countries: the form comes
back with a choice between the readings (each with its country's name) and saves nothing until
one is picked. A phone shared with another person is saved, with a warning."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from organizer.audit.models import AuditEvent
from organizer.extensions import db
from organizer.people.models import Person
from organizer.settings.models import Organization

MEXICO_CITY = "55 1234 5678"  # also +1 551-234-5678, a valid New Jersey number
AS_MEXICAN, AS_US = "+525512345678", "+15512345678"


@pytest.fixture
def members(organization):
    """The organization's members commonly come from Mexico and El Salvador."""
    return organization(member_phone_regions="MX SV")


def _people(app) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(select(Person.first_name, Person.phone).order_by(Person.id))]


def _choices(html: str) -> list[str]:
    return re.findall(r'type="radio" name="phone_choice" id="[^"]+" value="([^"]+)"', html)


def test_admin_lists_member_countries_and_the_change_is_audited(app, login_as, make_user):
    admin = login_as(make_user("admin"))
    form = {"name": "F", "timezone": "America/Chicago", "default_phone_region": "US", "going_cold_days": "90"}
    bad = admin.post("/admin/settings", {**form, "member_phone_regions": "MX, QQ"})
    assert "Unknown country code: QQ" in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Organization, 1) is None
    assert admin.post("/admin/settings", {**form, "member_phone_regions": "mx, sv gt"}).status_code == 302
    with app.app_context():
        org = db.session.get(Organization, 1)
        assert (org.member_phone_regions, org.member_regions) == ("MX SV GT", ["MX", "SV", "GT"])
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "organization")).all()[-1]
        assert "member_phone_regions" in str(event.details)
    page = admin.client.get("/admin/settings").get_data(as_text=True)
    assert 'value="MX SV GT"' in page


def test_an_ambiguous_number_on_the_person_form_asks_which_and_saves_nothing(app, login_as, make_user, members):
    staff = login_as(make_user("organizer"))
    response = staff.post("/people/new", {"first_name": "Lupita", "phone": MEXICO_CITY, "sms_consent": "unknown"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _choices(html) == [AS_US, AS_MEXICAN]
    assert "+1 551-234-5678 (United States)" in html and "+52 55 1234 5678 (Mexico)" in html
    assert _people(app) == []
    # A reading that is not one of the typed number's is ignored: asked again.
    again = staff.post("/people/new", {"first_name": "Lupita", "phone": MEXICO_CITY, "phone_choice": "+13125550100",
                                       "sms_consent": "unknown"})
    assert _choices(again.get_data(as_text=True)) == [AS_US, AS_MEXICAN] and _people(app) == []
    chosen = staff.post("/people/new", {"first_name": "Lupita", "phone": MEXICO_CITY, "phone_choice": AS_MEXICAN,
                                        "sms_consent": "unknown"})
    assert chosen.status_code == 302
    assert _people(app) == [("Lupita", AS_MEXICAN)]


def test_a_saved_phone_is_not_asked_about_again_when_the_form_is_saved_unchanged(app, login_as, make_user,
                                                                                 make_person, members):
    person = make_person(first_name="Lupita", phone=AS_US)
    staff = login_as(make_user("organizer"))
    page = staff.client.get(f"/people/{person.id}/edit").get_data(as_text=True)
    shown = re.search(r'id="phone"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*id="phone"', page)
    typed = shown.group(1) or shown.group(2)
    response = staff.post(f"/people/{person.id}/edit", {"first_name": "Lupita", "phone": typed,
                                                        "sms_consent": "unknown"})
    assert response.status_code == 302
    assert _people(app) == [("Lupita", AS_US)]


def test_a_number_valid_only_in_a_member_country_is_offered_that_reading(app, login_as, make_user, members):
    staff = login_as(make_user("organizer"))
    html = staff.post("/people/new", {"first_name": "Ana", "phone": "7123 4567",
                                      "sms_consent": "unknown"}).get_data(as_text=True)
    assert _choices(html) == ["+50371234567"] and "(El Salvador)" in html
    assert _people(app) == []


def test_an_invalid_number_says_which_country_code_to_add(app, login_as, make_user, organization):
    organization(member_phone_regions="SV")
    html = login_as(make_user("organizer")).post("/people/new", {
        "first_name": "Ana", "phone": "123 45", "sms_consent": "unknown"}).get_data(as_text=True)
    assert "add the country code, for example +503 for El Salvador." in html
    assert _people(app) == []


def test_the_public_sign_up_asks_which_and_saves_nothing_until_chosen(app, client, make_action, members):
    url = f"/signup/{make_action(title='Hearing').signup_token}"

    def submit(**fields):
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)
        data = {"first_name": "Lupita", "last_name": "Díaz", "phone": MEXICO_CITY, "email": "", "website": "",
                "csrf_token": token, **fields}
        return client.post(url, data=data, environ_base={"REMOTE_ADDR": "203.0.113.7"})

    asked = submit()
    assert _choices(asked.get_data(as_text=True)) == [AS_US, AS_MEXICAN] and _people(app) == []
    assert submit(phone_choice=AS_MEXICAN).status_code == 200
    assert _people(app) == [("Lupita", AS_MEXICAN)]


def test_a_walk_in_with_an_ambiguous_number_asks_which(app, login_as, make_user, make_action, members):
    action = make_action(days=0)
    staff = login_as(make_user("organizer"))
    data = {"first_name": "Luis", "last_name": "Flores", "phone": MEXICO_CITY}
    asked = staff.post(f"/actions/{action.id}/walk-in", data)
    assert asked.status_code == 400 and _choices(asked.get_data(as_text=True)) == [AS_US, AS_MEXICAN]
    assert _people(app) == []
    assert staff.post(f"/actions/{action.id}/walk-in", {**data, "phone_choice": AS_US}).status_code == 302
    assert _people(app) == [("Luis", AS_US)]


def test_a_test_number_is_verified_only_once_its_reading_is_chosen(app, login_as, make_user, members):
    from organizer.sms.models import VerifiedNumber

    leader = make_user("leader")
    admin = login_as(make_user("admin"))
    asked = admin.post("/sms/test-numbers", {"user_id": str(leader.id), "phone": MEXICO_CITY})
    assert _choices(asked.get_data(as_text=True)) == [AS_US, AS_MEXICAN]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(VerifiedNumber)) == 0
    admin.post("/sms/test-numbers", {"user_id": str(leader.id), "phone": MEXICO_CITY, "phone_choice": AS_MEXICAN})
    with app.app_context():
        assert db.session.scalars(select(VerifiedNumber.phone)).all() == [AS_MEXICAN]


def test_without_member_countries_a_us_number_is_saved_without_a_question(app, login_as, make_user):
    staff = login_as(make_user("organizer"))
    assert staff.post("/people/new", {"first_name": "Bo", "phone": MEXICO_CITY,
                                      "sms_consent": "unknown"}).status_code == 302
    assert _people(app) == [("Bo", AS_US)]
