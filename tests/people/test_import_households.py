"""Importing households and numbers from abroad: a row is somebody already in Organizer when
its email matches, or its phone and name do; the phone alone is a household's, so the second
member is added. A phone valid in more than one of the organization's countries is not guessed:
the person is added without it and the row is listed to resolve."""

from __future__ import annotations

from sqlalchemy import select

from organizer.extensions import db
from organizer.people.models import Person
from tests.people.test_import import confirm, upload


def _people(app):
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(Person.first_name, Person.last_name, Person.phone).order_by(Person.id))]


def test_a_second_household_member_with_the_same_phone_is_added(app, login_as, make_user, make_person):
    make_person(first_name="María", last_name="López", phone="+13125550140")
    actions = login_as(make_user("organizer"))
    body = ("First name,Last name,Phone\n"
            "José,López,312-555-0140\n"      # same phone, another name: the household's second member
            "MARIA,Lopez,312 555 0140\n"     # same phone and name (accents, case aside): already here
            "Ana,López,312-555-0140\n"       # a third member, sharing with José in the same file
            "Ana,López,312-555-0140\n")      # the same person twice in the file: an error
    html = upload(actions, body).get_data(as_text=True)
    assert "Same phone and name as line 4." in html
    fixed = body.rsplit("Ana,López", 1)[0]
    html = upload(actions, fixed).get_data(as_text=True)
    assert 'data-testid="to-add">2<' in html and 'data-testid="already">1<' in html
    assert "already in Organizer as" not in html
    confirm(actions, html)
    assert _people(app) == [("María", "López", "+13125550140"), ("José", "López", "+13125550140"),
                            ("Ana", "López", "+13125550140")]


def test_an_ambiguous_phone_is_listed_to_resolve_and_the_person_added_without_it(app, login_as, make_user,
                                                                                organization, runner):
    organization(member_phone_regions="MX SV")
    actions = login_as(make_user("organizer"))
    body = ("First name,Last name,Phone\n"
            "Lupita,Díaz,55 1234 5678\n"   # Mexico City, and New Jersey: which?
            "Ana,Rivas,7123 4567\n"        # valid only in El Salvador among the countries: taken
            "Bo,Smith,(206) 555-0100\n")   # Seattle: no valid Mexican reading
    html = upload(actions, body).get_data(as_text=True)
    assert 'data-testid="import-to-resolve"' in html
    assert "+1 551-234-5678 (United States) or +52 55 1234 5678 (Mexico)" in html
    assert 'data-testid="to-add">3<' in html
    response = confirm(actions, html)
    followed = actions.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 was added without a phone" in followed and "Lupita Díaz" in followed
    assert _people(app) == [("Lupita", "Díaz", None), ("Ana", "Rivas", "+50371234567"),
                            ("Bo", "Smith", "+12065550100")]


def test_an_invalid_phone_in_a_file_says_which_country_code_to_add(app, login_as, make_user, organization):
    organization(member_phone_regions="SV")
    html = upload(login_as(make_user("organizer")), "First name,Phone\nAna,123 45\n").get_data(as_text=True)
    assert ("“123 45” is not a valid phone number. If it is from outside United States, add the country code, "
            "for example +503 for El Salvador.") in html
