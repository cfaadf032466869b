"""In real Chromium: a leader adds a person to their list, sees them, and cannot open another leader's."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_leader_adds_a_person_and_cannot_open_another_leaders(page: Page, live_server, make_user, make_person):
    from tests.conftest import PASSWORD

    leader, other = make_user("leader"), make_user("leader")
    theirs = make_person(owner=other, first_name="Hidden", last_name="Neighbor")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(leader.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=f"Welcome, {leader.name}")).to_be_visible()

    page.goto(f"{live_server}/people/new")
    page.get_by_label("First name").fill("Dolores")
    page.get_by_label("Last name").fill("Huerta")
    page.get_by_label("Mobile phone").fill("(312) 555-0142")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Dolores Huerta")).to_be_visible()
    expect(page.get_by_text("(312) 555-0142")).to_be_visible()

    page.goto(f"{live_server}/people/")
    expect(page.get_by_role("link", name="Dolores Huerta")).to_be_visible()
    expect(page.get_by_text("Hidden Neighbor")).to_have_count(0)

    response = page.goto(f"{live_server}/people/{theirs.id}")
    assert response is not None and response.status == 404
    expect(page.get_by_text("Hidden Neighbor")).to_have_count(0)
