"""The turnout page's lists of names: the first ``PEOPLE_LISTED`` by name, and how many there
are in all (counted in the same query as the names)."""

from __future__ import annotations

import re

import pytest


def _list(html: str, testid: str) -> tuple[list[str], str]:
    """The names in the list ``testid`` and its closing "… and N more" line ('' if none)."""
    block = re.search(rf'data-testid="{testid}">(.*?)</ul>', html, re.S).group(1)
    names = re.findall(r'<a href="/people/\d+">([^<]+)</a>', block)
    more = re.findall(r"<li class=\"text-muted\">(… and \d+ more in the CSV\.)</li>", block)
    return names, more[0] if more else ""


@pytest.fixture
def turnout(make_user, make_person, make_action, add_rsvp, login_as):
    """An action that is over: five said yes and did not come, four came for the first time,
    one came again (not a first-timer); a leader holds two of the no-shows and one first-timer."""
    leader = make_user("leader")
    earlier, action = make_action(days=-30), make_action(days=-1)
    for i, last in enumerate(["Ortiz", "Baker", "Nunez", "Adams", "Lopez"]):
        add_rsvp(action, make_person(first_name="No", last_name=last, owner=leader if i < 2 else None), "yes")
    for i, last in enumerate(["Young", "Chen", "Diaz", "Evans"]):
        add_rsvp(action, make_person(first_name="New", last_name=last, owner=leader if i == 0 else None),
                 "yes", came=True)
    again = make_person(first_name="Old", last_name="Abbott")
    add_rsvp(earlier, again, "yes", came=True)
    add_rsvp(action, again, "yes", came=True)
    return action, leader, login_as


def test_lists_show_the_first_names_and_count_all_of_them(turnout, make_user, monkeypatch):
    import organizer.actions.services as services

    action, _leader, login_as = turnout
    monkeypatch.setattr(services, "PEOPLE_LISTED", 3)
    html = login_as(make_user()).client.get(f"/actions/{action.id}/turnout").get_data(as_text=True)

    assert _list(html, "no-shows") == (["No Adams", "No Baker", "No Lopez"], "… and 2 more in the CSV.")
    assert _list(html, "first-timers") == (["New Chen", "New Diaz", "New Evans"], "… and 1 more in the CSV.")
    assert re.search(r"No-shows to follow up <small class=\"text-muted\">\(5\)</small>", html)
    assert re.search(r"First-timers to welcome <small class=\"text-muted\">\(4\)</small>", html)


def test_a_list_that_fits_says_nothing_more(turnout, make_user):
    action, _leader, login_as = turnout
    html = login_as(make_user()).client.get(f"/actions/{action.id}/turnout").get_data(as_text=True)
    assert _list(html, "no-shows") == (["No Adams", "No Baker", "No Lopez", "No Nunez", "No Ortiz"], "")
    assert _list(html, "first-timers") == (["New Chen", "New Diaz", "New Evans", "New Young"], "")


def test_a_leaders_lists_and_their_totals_hold_only_their_own_people(turnout, monkeypatch):
    import organizer.actions.services as services

    action, leader, login_as = turnout
    monkeypatch.setattr(services, "PEOPLE_LISTED", 1)
    html = login_as(leader).client.get(f"/actions/{action.id}/turnout").get_data(as_text=True)
    assert _list(html, "no-shows") == (["No Baker"], "… and 1 more in the CSV.")
    assert _list(html, "first-timers") == (["New Young"], "")
    assert re.search(r"No-shows to follow up <small class=\"text-muted\">\(2\)</small>", html)
    assert re.search(r"First-timers to welcome <small class=\"text-muted\">\(1\)</small>", html)


def test_empty_lists_count_nobody(make_user, make_person, make_action, add_rsvp, login_as):
    action = make_action(days=-1)
    add_rsvp(action, make_person(first_name="Maybe", last_name="Later"), "maybe")
    html = login_as(make_user()).client.get(f"/actions/{action.id}/turnout").get_data(as_text=True)
    assert _list(html, "no-shows") == ([], "")
    assert re.search(r"No-shows to follow up <small class=\"text-muted\">\(0\)</small>", html)
    assert 'data-testid="follow-ups-no_show"' not in html
