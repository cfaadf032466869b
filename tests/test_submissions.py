"""A create form sent twice (a double tap, a retry after a lost answer) creates one row, and the
second answer sends the reader where the first did."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.institutions.models import Institution
from organizer.people.models import Person
from organizer.submissions.models import FormSubmission

TOKEN = re.compile(r'name="submission_token" value="([^"]+)"')


def _token(client, page: str) -> str:
    html = client.get(page).get_data(as_text=True)
    match = TOKEN.search(html)
    assert match, f"no submission token on {page}"
    return match.group(1)


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("page", ["/people/new", "/institutions/new", "/one-to-ones/new", "/campaigns/new",
                                  "/actions/new", "/sms/new", "/admin/users/new"])
def test_every_create_form_carries_a_fresh_token(login_as, make_user, page):
    admin = login_as(make_user("admin"))
    first, second = _token(admin.client, page), _token(admin.client, page)
    assert first != second  # one per rendered form


def test_person_form_sent_twice_creates_one_person(app, login_as, make_user):
    organizer = login_as(make_user("organizer"))
    form = {"first_name": "Rosa", "last_name": "Parks", "sms_consent": "unknown",
            "submission_token": _token(organizer.client, "/people/new")}
    first = organizer.post("/people/new", form)
    second = organizer.post("/people/new", form)
    assert first.status_code == 302
    assert second.status_code in (302, 303)
    assert second.location == first.location
    assert _count(app, Person) == 1


def test_institution_form_sent_twice_creates_one_institution(app, login_as, make_user):
    organizer = login_as(make_user("organizer"))
    form = {"name": "St. Anne", "type": "congregation", "status": "member",
            "submission_token": _token(organizer.client, "/institutions/new")}
    first = organizer.post("/institutions/new", form)
    second = organizer.post("/institutions/new", form)
    assert first.status_code == 302 and second.location == first.location
    assert _count(app, Institution) == 1


def test_double_tap_at_the_same_moment_creates_one_person(app, login_as, make_user):
    organizer = login_as(make_user("organizer"))
    token = _token(organizer.client, "/people/new")
    csrf = organizer.csrf_token("/")
    cookie = organizer.client.get_cookie("session").value
    answers: list = []

    def tap() -> None:
        client = app.test_client()
        client.set_cookie("session", cookie)
        answers.append(client.post("/people/new", data={
            "first_name": "Ella", "last_name": "Baker", "sms_consent": "unknown",
            "submission_token": token, "csrf_token": csrf}))

    taps = [threading.Thread(target=tap) for _ in range(2)]
    for t in taps:
        t.start()
    for t in taps:
        t.join()
    assert sorted(a.status_code for a in answers)[0] == 302
    assert len({a.location for a in answers}) == 1
    assert _count(app, Person) == 1


def test_a_refused_form_can_be_corrected_and_sent_with_the_same_token(app, login_as, make_user):
    organizer = login_as(make_user("organizer"))
    token = _token(organizer.client, "/people/new")
    refused = organizer.post("/people/new", {"last_name": "Nameless", "sms_consent": "unknown",
                                             "submission_token": token})
    assert refused.status_code in (200, 400) and _count(app, FormSubmission) == 0
    accepted = organizer.post("/people/new", {"first_name": "Fannie", "last_name": "Hamer", "sms_consent": "unknown",
                                              "submission_token": token})
    assert accepted.status_code == 302 and _count(app, Person) == 1


def test_different_tokens_create_different_rows(app, login_as, make_user):
    organizer = login_as(make_user("organizer"))
    for name in ("Ana", "Ben"):
        organizer.post("/people/new", {"first_name": name, "sms_consent": "unknown",
                                       "submission_token": _token(organizer.client, "/people/new")})
    assert _count(app, Person) == 2
