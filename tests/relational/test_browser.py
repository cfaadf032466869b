"""In real Chromium: a leader logs a one-to-one from a phone; an organizer moves a card on the board."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import log_in

pytestmark = pytest.mark.browser


def test_leader_logs_a_one_to_one_from_a_phone_and_sees_it_on_the_timeline(page: Page, live_server, make_user, make_person):
    leader = make_user("leader")
    person = make_person(owner=leader, first_name="Ella", last_name="Baker")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, leader)
    expect(page.get_by_role("heading", name=f"Welcome, {leader.name}")).to_be_visible()

    page.goto(f"{live_server}/people/{person.id}")
    page.get_by_role("link", name="Log a one-to-one").click()
    expect(page.get_by_label("With")).to_have_value(str(person.id))
    page.get_by_label("Where").fill("Her porch")
    page.get_by_label("Self-interest, in their words").fill("Wants the landlord to fix the heat")
    page.get_by_label("housing").check()
    page.get_by_label("4", exact=True).check()
    page.get_by_label("Commitment 1").select_option("host_house_meeting")
    page.get_by_role("button", name="Save the one-to-one").click()

    expect(page.get_by_role("heading", name="Ella Baker")).to_be_visible()
    timeline = page.get_by_test_id("timeline")
    expect(timeline.get_by_role("link", name=f"One-to-one with {leader.name}")).to_be_visible()
    expect(timeline).to_contain_text("Wants the landlord to fix the heat")
    timeline.get_by_role("link", name=f"One-to-one with {leader.name}").click()
    expect(page.get_by_test_id("assessment")).to_have_text("4/5")
    expect(page.get_by_text("Host a house meeting")).to_be_visible()


def test_organizer_moves_a_card_on_the_board(page: Page, live_server, make_user, make_person):
    organizer = make_user("organizer")
    make_person(first_name="Bayard", last_name="Rustin")
    log_in(page, live_server, organizer)
    expect(page.get_by_role("heading", name=f"Welcome, {organizer.name}")).to_be_visible()

    page.goto(f"{live_server}/pipeline/board")
    contact = page.get_by_role("region", name="Contact")
    prospect = page.get_by_role("region", name="Prospect")
    expect(contact.get_by_role("link", name="Bayard Rustin")).to_be_visible()
    expect(prospect.get_by_test_id("column-count")).to_have_text("0")

    contact.get_by_label("Move Bayard Rustin to").select_option(label="Prospect")
    contact.get_by_role("button", name="Move").click()

    expect(page.get_by_role("region", name="Prospect").get_by_role("link", name="Bayard Rustin")).to_be_visible()
    expect(page.get_by_role("region", name="Prospect").get_by_test_id("column-count")).to_have_text("1")
    expect(page.get_by_role("region", name="Contact").get_by_test_id("column-count")).to_have_text("0")


def test_on_a_phone_in_spanish_reschedule_is_a_whole_button(page: Page, live_server, app, make_user, make_person,
                                                            log_meeting):
    """Beside the date field a follow-up's "Reprogramar" button used to shrink under its own text,
    which ran out over its edge."""
    from datetime import timedelta

    from organizer.relational.services import local_today

    organizer = make_user("organizer", locale="es")
    with app.app_context():
        today = local_today()
    log_meeting(organizer, make_person(owner=organizer), held_on=today - timedelta(days=9),
                follow_up_on=today - timedelta(days=2))
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, organizer)
    button = page.get_by_role("button", name="Reprogramar").first
    expect(button).to_be_visible()
    inner, outer = button.evaluate("b => [b.scrollWidth, b.clientWidth]")
    assert inner <= outer, (inner, outer)  # the text inside its button
