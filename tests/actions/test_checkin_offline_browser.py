"""In real Chromium at phone size with the network switched off: the check-in page reloads from
its service worker, check-ins and a walk-in wait on the device (through a reload and a closed
tab), and once the network is back they are synced; two devices checking in the same people
offline count each person once."""

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from organizer.actions.models import Attendance
from organizer.extensions import db
from organizer.people.models import Person
from tests.support.browser import assert_no_sideways_scroll, log_in, open_phone_menu

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _open_door(page: Page, url: str) -> None:
    """Open the check-in page online and wait until the device keeps it for offline."""
    page.goto(url)
    expect(page.locator("#checkin[data-offline-ready=yes]")).to_have_count(1)
    expect(page.get_by_test_id("sync-state")).to_have_text("All synced")


def _phone_at_the_door(context: BrowserContext, live_server: str, user, url: str) -> Page:
    """A phone-sized page of ``context``, logged in as ``user``, the check-in page kept for offline."""
    page = context.new_page()
    page.set_viewport_size(PHONE)
    log_in(page, live_server, user)
    _open_door(page, url)
    return page


def _check_in(page: Page, name: str, query: str) -> None:
    page.get_by_placeholder("Name or phone").fill(query)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name=f"Check in {name}").click()
    expect(page.get_by_test_id("checkin-results")).to_contain_text("Here (waiting to sync)")


def _walk_in(page: Page, first: str, last: str, phone: str) -> None:
    walk_in = page.locator("details")
    if walk_in.get_attribute("open") is None:
        page.get_by_text("Walk-in", exact=True).click()
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("Mobile phone").fill(phone)
    page.get_by_role("button", name="Check in this walk-in").click()


def _arrivals(app, action, **person) -> int:
    with app.app_context():
        stmt = select(func.count()).select_from(Attendance).where(Attendance.action_id == action.id)
        if person:
            stmt = stmt.join(Person, Person.id == Attendance.person_id).filter_by(**person)
        return db.session.scalar(stmt)


def test_check_ins_made_offline_survive_a_reload_and_a_closed_tab_and_sync_once(
        app, context: BrowserContext, live_server, make_user, make_person, make_action, add_rsvp):
    staff = make_user()
    action = make_action(days=0, title="Route 9 hearing")
    add_rsvp(action, make_person(first_name="Dolores", last_name="Huerta", phone="+13125550142"), "yes")
    add_rsvp(action, make_person(first_name="Cesar", last_name="Chavez", phone="+13125550143"), "yes")
    url = f"{live_server}/actions/{action.id}/checkin"
    page = _phone_at_the_door(context, live_server, staff, url)

    context.set_offline(True)
    _check_in(page, "Dolores Huerta", "huerta")
    _check_in(page, "Cesar Chavez", "555 0143")  # by phone, from the device's roster
    _walk_in(page, "Luis", "Flores", "773 555 0199")
    state = page.get_by_test_id("sync-state")
    expect(state).to_have_text("3 waiting to sync")
    expect(page.get_by_test_id("checkin-count")).to_have_text("3")
    assert _arrivals(app, action) == 0

    # Reloaded with no network: the service worker serves the page, the queue is still there.
    reloaded = page.reload()
    assert reloaded is not None and reloaded.from_service_worker
    expect(page.get_by_test_id("sync-message")).to_contain_text("Offline")
    expect(state).to_have_text("3 waiting to sync")
    expect(page.get_by_test_id("sync-queue")).to_contain_text("Walk-in: Luis Flores")
    assert_no_sideways_scroll(page)

    # The tab closed and another opened, still offline: nothing is lost.
    page.close()
    page = context.new_page()
    page.set_viewport_size(PHONE)
    assert page.goto(url).from_service_worker
    state = page.get_by_test_id("sync-state")
    expect(state).to_have_text("3 waiting to sync")
    expect(page.get_by_test_id("sync-queue")).to_contain_text("Check-in: Dolores Huerta")

    # Back online: the queue goes by itself; pressing Sync again sends nothing twice.
    context.set_offline(False)
    expect(state).to_have_text("All synced")
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_test_id("checkin-count")).to_have_text("3")
    assert _arrivals(app, action) == 3
    assert _arrivals(app, action, first_name="Luis") == 1
    page.get_by_placeholder("Name or phone").fill("huerta")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("checkin-results")).to_contain_text("Here ✓")


def test_two_devices_offline_checking_in_the_same_people_count_each_once(
        app, browser: Browser, live_server, make_user, make_person, make_action, add_rsvp):
    """A leader's phone and an organizer's phone at the same door, both offline."""
    leader, organizer = make_user("leader"), make_user()
    action = make_action(days=0, title="Route 9 hearing")
    add_rsvp(action, make_person(owner=leader, first_name="Maria", last_name="Lopez", phone="+13125550150"), "yes")
    add_rsvp(action, make_person(owner=leader, first_name="Jose", last_name="Ramos", phone="+13125550151"), "yes")
    url = f"{live_server}/actions/{action.id}/checkin"
    devices = []
    for user in (leader, organizer):
        context = browser.new_context(viewport=PHONE, locale="en-US")
        page = context.new_page()
        log_in(page, live_server, user)
        _open_door(page, url)
        devices.append((context, page))

    for context, page in devices:
        context.set_offline(True)
        _check_in(page, "Maria Lopez", "maria")
        _check_in(page, "Jose Ramos", "ramos")
        _walk_in(page, "Rosa", "Parks", "773 555 0177")
        expect(page.get_by_test_id("sync-state")).to_have_text("3 waiting to sync")
    assert _arrivals(app, action) == 0

    for context, page in devices:
        context.set_offline(False)
        page.get_by_role("button", name="Sync now").click()
        expect(page.get_by_test_id("sync-state")).to_have_text("All synced")
        expect(page.get_by_test_id("checkin-count")).to_have_text("3")
    assert _arrivals(app, action, first_name="Maria") == 1
    assert _arrivals(app, action, first_name="Jose") == 1
    assert _arrivals(app, action, first_name="Rosa") == 1
    assert _arrivals(app, action) == 3
    for context, _page in devices:
        context.close()


def test_a_sync_after_the_session_ended_keeps_the_queue_until_the_user_logs_in_again(
        app, context: BrowserContext, live_server, make_user, make_person, make_action, add_rsvp):
    staff = make_user()
    action = make_action(days=0)
    add_rsvp(action, make_person(first_name="Dolores", last_name="Huerta"), "yes")
    url = f"{live_server}/actions/{action.id}/checkin"
    page = _phone_at_the_door(context, live_server, staff, url)
    context.set_offline(True)
    _check_in(page, "Dolores Huerta", "huerta")

    context.clear_cookies()  # the session ends while the door is offline
    context.set_offline(False)
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_test_id("sync-message")).to_contain_text("Log in again")
    expect(page.get_by_test_id("sync-state")).to_have_text("1 waiting to sync")
    assert _arrivals(app, action) == 0

    login = context.new_page()
    log_in(login, live_server, staff)
    login.close()
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_test_id("sync-state")).to_have_text("All synced")
    assert _arrivals(app, action) == 1


_ROSTERS = """() => new Promise((resolve, reject) => {
  const request = indexedDB.open("organizer-checkin");
  request.onerror = () => reject(request.error);
  request.onsuccess = () => {
    const db = request.result;
    const all = db.transaction("rosters").objectStore("rosters").getAll();
    all.onsuccess = () => { db.close(); resolve(all.result.map((r) => r.people.length)); };
  };
})"""
_KEPT_PAGES = """async () => {
  const cache = await caches.open("organizer-checkin-v1");
  return (await cache.keys()).map((r) => new URL(r.url).pathname).filter((p) => p.endsWith("/checkin"));
}"""


def test_logging_out_forgets_the_roster_and_the_page_kept_on_the_device(
        context: BrowserContext, live_server, make_user, make_person, make_action, add_rsvp):
    """A shared phone: after the log-out, the names and phones kept for the door without a
    network are gone from the browser's storage; the next login loads them again."""
    staff = make_user()
    action = make_action(days=0, title="Route 9 hearing")
    add_rsvp(action, make_person(first_name="Dolores", last_name="Huerta", phone="+13125550142"), "yes")
    url = f"{live_server}/actions/{action.id}/checkin"
    page = _phone_at_the_door(context, live_server, staff, url)
    assert page.evaluate(_ROSTERS) == [1]
    assert page.evaluate(_KEPT_PAGES) == [f"/actions/{action.id}/checkin"]

    open_phone_menu(page)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert page.evaluate(_ROSTERS) == []
    assert page.evaluate(_KEPT_PAGES) == []

    log_in(page, live_server, staff)
    _open_door(page, url)
    assert page.evaluate(_ROSTERS) == [1]


def test_a_session_that_ended_forgets_the_roster_once_the_login_page_shows(
        context: BrowserContext, live_server, make_user, make_person, make_action, add_rsvp):
    """Nobody logged out: the session ended (idle, or signed out from another device). The
    names and phones kept for the door go as soon as the phone shows the login page."""
    staff = make_user()
    action = make_action(days=0)
    add_rsvp(action, make_person(first_name="Dolores", last_name="Huerta", phone="+13125550142"), "yes")
    page = _phone_at_the_door(context, live_server, staff, f"{live_server}/actions/{action.id}/checkin")
    assert page.evaluate(_ROSTERS) == [1]

    context.clear_cookies()
    page.goto(f"{live_server}/actions/{action.id}")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.locator("html[data-device-forgotten=yes]")).to_have_count(1)
    assert page.evaluate(_ROSTERS) == []
    assert page.evaluate(_KEPT_PAGES) == []
