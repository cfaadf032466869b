"""Each action as an .ics calendar file, read back with a real RFC 5545 parser (``icalendar``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import icalendar
from sqlalchemy import select

from organizer.actions.ics import escape_text, fold
from organizer.actions.models import Action
from organizer.extensions import db


def _event(body: bytes) -> icalendar.Event:
    calendar = icalendar.Calendar.from_ical(body)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return events[0]


def _octets(body: bytes) -> list[int]:
    return [len(line) for line in body.split(b"\r\n")]


def test_the_public_calendar_file_carries_the_action(client, make_action):
    starts = datetime(2027, 1, 13, 23, 0, tzinfo=UTC)  # 5:00 PM in Chicago
    action = make_action(
        starts_at=starts, ends_at=starts + timedelta(hours=2), title="Hearing; Route 9, the bus",
        location="St. Mark's Hall, 1200 Main St.; Room B",
        description="Bring neighbors.\nWear green, bring signs \\ banners. " + "Ñandú está aquí. " * 10,
    )
    response = client.get(f"/signup/{action.signup_token}/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    body = response.get_data()
    assert b"\r\n" in body and max(_octets(body)) <= 75  # folded at 75 octets
    event = _event(body)
    assert event.decoded("DTSTART") == starts and event.decoded("DTEND") == starts + timedelta(hours=2)
    assert str(event["SUMMARY"]) == "Hearing; Route 9, the bus"
    assert str(event["LOCATION"]) == "St. Mark's Hall, 1200 Main St.; Room B"
    assert str(event["DESCRIPTION"]) == action.description
    assert str(event["UID"]) == f"action-{action.id}@localhost"
    assert str(event["URL"]) == f"http://localhost/signup/{action.signup_token}"
    assert event.decoded("DTSTAMP").tzinfo is not None


def test_the_calendar_file_changes_sequence_when_the_action_changes(app, client, make_action):
    action = make_action()
    first = _event(client.get(f"/signup/{action.signup_token}/calendar.ics").get_data())
    with app.app_context():
        stored = db.session.scalar(select(Action).where(Action.id == action.id))
        stored.location = "City Hall, moved"
        stored.updated_at = stored.updated_at + timedelta(minutes=5)  # a later save
        db.session.commit()
    second = _event(client.get(f"/signup/{action.signup_token}/calendar.ics").get_data())
    assert str(second["UID"]) == str(first["UID"])
    assert int(second["SEQUENCE"]) > int(first["SEQUENCE"])
    assert second.decoded("LAST-MODIFIED") > first.decoded("LAST-MODIFIED")
    assert str(second["LOCATION"]) == "City Hall, moved"


def test_a_past_or_archived_action_has_no_public_calendar_file_but_staff_get_it(
        client, make_action, make_user, login_as):
    past = make_action(days=-3)
    assert client.get(f"/signup/{past.signup_token}/calendar.ics").status_code == 404
    assert client.get(f"/actions/{past.id}/calendar.ics").status_code == 302  # to the login page
    leader = login_as(make_user("leader"))
    response = leader.client.get(f"/actions/{past.id}/calendar.ics")
    assert response.status_code == 200
    assert str(_event(response.get_data())["URL"]) == f"http://localhost/actions/{past.id}"


def test_the_sign_up_page_and_its_thank_you_link_to_the_calendar_file(client, make_action):
    action = make_action()
    link = f'href="/signup/{action.signup_token}/calendar.ics"'
    url = f"/signup/{action.signup_token}"
    page = client.get(url).get_data(as_text=True)
    assert link in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    thanks = client.post(url, data={"csrf_token": token, "first_name": "Dolores", "email": "d@example.org"})
    assert "Thank you, Dolores!" in thanks.get_data(as_text=True) and link in thanks.get_data(as_text=True)


def test_text_is_escaped_and_long_lines_fold_without_splitting_a_character():
    assert escape_text('a,b;c\\d\ne') == "a\\,b\\;c\\\\d\\ne"
    folded = fold("DESCRIPTION:" + "é" * 80)
    lines = folded.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    assert all(line.startswith(" ") for line in lines[1:])
    assert "".join(line[1:] if i else line for i, line in enumerate(lines)) == "DESCRIPTION:" + "é" * 80
