"""In real Chromium: the top bar's search box suggests as you type (a leader's own people only),
fits the top bar at 1280px and works inside the collapsed menu at 390px."""

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import log_in, open_phone_menu

pytestmark = pytest.mark.browser


def test_suggestions_as_you_type_at_desktop_width(page: Page, live_server, make_user, make_person, tmp_path):
    admin = make_user("admin")
    person = make_person(first_name="Dolores", last_name="Núñez")
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server, admin)
    nav = page.locator("nav.navbar")
    box = page.locator("#nav-search-q")
    expect(box).to_be_visible()
    # One line: the bar is no taller than with its usual items (a wrapped bar is twice as tall).
    assert nav.bounding_box()["height"] < 70
    box.fill("nunez")
    suggestion = page.locator("#nav-search-list").get_by_role("option", name="Dolores Núñez")
    expect(suggestion).to_be_visible()
    page.screenshot(path=str(tmp_path / "search-1280.png"))
    suggestion.click()
    page.wait_for_url(f"{live_server}/people/{person.id}")


def test_leader_on_a_phone_finds_only_their_own_people(page: Page, live_server, make_user, make_person):
    leader, other = make_user("leader"), make_user("leader")
    make_person(owner=leader, first_name="Rosa", last_name="Zqparks")
    make_person(owner=other, first_name="Rosalind", last_name="Zqparks")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, leader)
    open_phone_menu(page)
    box = page.locator("#nav-search-q")
    expect(box).to_be_visible()
    box.fill("zqparks")
    expect(page.locator("#nav-search-list").get_by_role("option", name="Rosa Zqparks")).to_be_visible()
    expect(page.locator("#nav-search-list").get_by_text("Rosalind")).to_have_count(0)
    box.press("Enter")  # the form itself: the search page, server-rendered
    page.wait_for_url(f"{live_server}/search/?q=zqparks")
    expect(page.get_by_role("link", name="Rosa Zqparks")).to_be_visible()
    expect(page.get_by_text("Rosalind")).to_have_count(0)
