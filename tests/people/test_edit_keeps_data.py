"""Editing a person keeps what they told us: race/ethnicity shown ticked and kept, the rules hold on edit."""

from __future__ import annotations

import re

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from organizer.extensions import db
from tests.support.forms import forms_on


def _stored(app, person_id):
    from organizer.people.models import Person

    with app.app_context():
        person = db.session.get(Person, person_id)
        return sorted(person.race_ethnicity_values), person.notes, person.updated_at


def _person(make_person, owner=None, *values):
    from organizer.people.models import PersonRaceEthnicity, RaceEthnicity

    return make_person(owner=owner, notes="Works nights",
                       race_ethnicities=[PersonRaceEthnicity(value=RaceEthnicity(v)) for v in values])


def test_the_edit_form_shows_the_stored_answers_ticked(login_as, make_user, make_person):
    person = _person(make_person, None, "black_african_american", "hispanic_latino")
    html = login_as(make_user("organizer")).client.get(f"/people/{person.id}/edit").get_data(as_text=True)
    ticked = re.findall(r'<input checked[^>]*name="race_ethnicities"[^>]*value="([^"]+)"', html) + re.findall(
        r'<input[^>]*name="race_ethnicities"[^>]*value="([^"]+)"[^>]*checked', html)
    assert sorted(ticked) == ["black_african_american", "hispanic_latino"]


def test_saving_the_edit_form_unchanged_keeps_race_ethnicity(app, login_as, make_user, make_person):
    person = _person(make_person, None, "black_african_american", "hispanic_latino")
    before = _stored(app, person.id)
    organizer = login_as(make_user("organizer"))
    [form] = [f for f in forms_on(organizer.client.get(f"/people/{person.id}/edit").get_data(as_text=True))
              if f.action is None]
    response = organizer.client.post(f"/people/{person.id}/edit", data=MultiDict(form.payload()))
    assert response.status_code == 302
    assert _stored(app, person.id) == before  # answers, notes, and the "updated" time


def test_prefer_not_to_say_cannot_be_combined_on_edit_either(app, login_as, make_user, make_person):
    person = _person(make_person, None, "prefer_not_to_say")
    organizer = login_as(make_user("organizer"))
    [form] = [f for f in forms_on(organizer.client.get(f"/people/{person.id}/edit").get_data(as_text=True))
              if f.action is None]
    assert ("race_ethnicities", "prefer_not_to_say") in form.fields  # shown ticked
    response = organizer.client.post(f"/people/{person.id}/edit",
                                     data=MultiDict(form.payload() + [("race_ethnicities", "white")]))
    assert response.status_code == 200
    assert "cannot be combined" in response.get_data(as_text=True)
    assert _stored(app, person.id)[0] == ["prefer_not_to_say"]


def test_a_leaders_edit_keeps_the_answers_and_notes_their_form_does_not_show(app, login_as, make_user, make_person):
    leader = make_user("leader")
    person = _person(make_person, leader, "asian")
    auth = login_as(leader)
    html = auth.client.get(f"/people/{person.id}/edit").get_data(as_text=True)
    assert "race_ethnicities" not in html and "Works nights" not in html
    [form] = [f for f in forms_on(html) if f.action is None]
    payload = MultiDict([(k, "Phoebe" if k == "preferred_name" else v) for k, v in form.payload()])
    assert auth.client.post(f"/people/{person.id}/edit", data=payload).status_code == 302
    answers, notes, _updated = _stored(app, person.id)
    assert answers == ["asian"] and notes == "Works nights"


def test_the_same_rsvp_again_keeps_the_persons_own_answer(app, login_as, make_user, make_person, make_action):
    from organizer.actions.models import Rsvp, RsvpSource, RsvpStatus

    leader = make_user("leader")
    person = make_person(owner=leader)
    action = make_action()
    with app.app_context():
        db.session.add(Rsvp(action_id=action.id, person_id=person.id, status=RsvpStatus.YES, source=RsvpSource.SMS))
        db.session.commit()
    login_as(leader).post(f"/actions/{action.id}/rsvps", {"person_id": person.id, "status": "yes"})
    with app.app_context():
        rsvp = db.session.scalar(select(Rsvp))
        assert (rsvp.status, rsvp.source, rsvp.recruited_by_id) == (RsvpStatus.YES, RsvpSource.SMS, None)
