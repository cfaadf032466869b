"""Prep meetings (turnout, research, planning meetings) build toward a major action."""

from __future__ import annotations

from sqlalchemy import select

from organizer.actions.models import Action
from organizer.extensions import db


def _form(**overrides):
    data = {"title": "Turnout meeting at St. Mark's", "type": "house_meeting", "campaign_id": "",
            "prepares_for_id": "", "starts_local": "2031-03-01T19:00", "ends_local": "2031-03-01T20:00",
            "timezone": "America/Chicago", "location": "Parish hall", "turnout_goal": "20", "description": ""}
    data.update(overrides)
    return data


def test_a_prep_meeting_shows_on_the_major_action_with_how_many_came(
        app, make_user, make_person, make_action, add_rsvp, login_as):
    hearing = make_action(days=30, title="Council hearing on the bus")
    staff = login_as(make_user())
    response = staff.post("/actions/new", data=_form(prepares_for_id=str(hearing.id)))
    assert response.status_code == 302
    with app.app_context():
        prep = db.session.scalar(select(Action).where(Action.prepares_for_id == hearing.id))
        assert prep is not None and prep.title == "Turnout meeting at St. Mark's"
        prep_id = prep.id
    for _ in range(3):
        add_rsvp(db_action(app, prep_id), make_person(), came=True)

    major_page = staff.client.get(f"/actions/{hearing.id}").get_data(as_text=True)
    prep_section = major_page.split('data-testid="prep-meetings"')[1].split("</section>")[0]
    assert "Turnout meeting at St. Mark&#39;s" in prep_section and "3 came" in prep_section
    prep_page = staff.client.get(f"/actions/{prep_id}").get_data(as_text=True)
    assert 'data-testid="prepares-for"' in prep_page and "Council hearing on the bus" in prep_page


def test_a_prep_meeting_cannot_prepare_for_another_prep_meeting(app, make_user, make_action, login_as):
    from datetime import datetime

    import pytest

    from organizer.actions.models import ActionType
    from organizer.actions.services import ActionData, ActionError, save_action
    from organizer.auth.models import User

    hearing = make_action(days=30)
    first_prep = make_action(days=10, prepares_for_id=hearing.id, title="First turnout meeting")
    staff = make_user()
    page = login_as(staff).client.get("/actions/new").get_data(as_text=True)
    assert f'value="{hearing.id}"' in page and f'value="{first_prep.id}"' not in page  # not offered
    data = ActionData(title="Second", type=ActionType.HOUSE_MEETING, starts_local=datetime(2031, 3, 1, 19),
                      ends_local=datetime(2031, 3, 1, 20), timezone="America/Chicago", prepares_for_id=first_prep.id)
    with app.app_context(), pytest.raises(ActionError, match="another prep meeting"):
        save_action(None, data, db.session.get(User, staff.id))


def test_an_action_with_prep_meetings_cannot_become_one(app, make_user, make_action, login_as):
    hearing, rally = make_action(days=30), make_action(days=40, title="Rally")
    make_action(days=10, prepares_for_id=hearing.id)
    staff = login_as(make_user())
    edit = _form(title="Hearing", type="hearing", prepares_for_id=str(rally.id))
    response = staff.post(f"/actions/{hearing.id}/edit", data=edit)
    assert response.status_code == 200
    assert "has prep meetings of its own" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Action, hearing.id).prepares_for_id is None


def db_action(app, action_id):
    with app.app_context():
        action = db.session.get(Action, action_id)
        db.session.expunge(action)
        return action
