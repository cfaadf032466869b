"""In real Chromium at phone size: an admin links a new leader's account to their person by
typing a name and choosing them from the list, never by typing an id."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.support.browser import log_in

pytestmark = pytest.mark.browser


def test_the_admin_picks_the_person_from_the_suggestions(page: Page, app, live_server, make_user, make_person):
    from organizer.auth.models import User
    from organizer.extensions import db

    admin = make_user("admin")
    rosa = make_person(first_name="Rosa", last_name="Martínez")
    make_person(first_name="Rosalía", last_name="Gómez")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, admin)

    page.goto(f"{live_server}/admin/users/new")
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("Name", exact=True).fill("Rosa Martínez")
    page.get_by_label("Linked person").fill("rosa mart")
    option = page.get_by_role("option", name="Rosa Martínez")
    expect(option).to_be_visible()
    expect(page.get_by_role("option", name="Rosalía Gómez")).to_have_count(0)
    option.click()
    expect(page.get_by_label("Linked person")).to_have_value("Rosa Martínez")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Account created for Rosa Martínez.")).to_be_visible()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "rosa@example.org"))
        assert user.person_id == rosa.id


def test_the_admin_changes_and_then_clears_the_person_an_account_is_linked_to(page: Page, app, live_server,
                                                                             make_user, make_person):
    """The page posted the link twice (the form's hidden fields, then the picker's own), and
    the first, unchanged, won: a new pick or a cleared box was silently dropped."""
    from organizer.auth.models import User
    from organizer.extensions import db

    admin = make_user("admin")
    rosa = make_person(first_name="Rosa", last_name="Martínez")
    rosalia = make_person(first_name="Rosalía", last_name="Gómez")
    leader = make_user("leader", person_id=rosa.id)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, admin)

    page.goto(f"{live_server}/admin/users/{leader.id}")
    expect(page.get_by_label("Linked person")).to_have_value("Rosa Martínez")
    page.get_by_label("Linked person").fill("rosalía")
    page.get_by_role("option", name="Rosalía Gómez").click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Account saved.")).to_be_visible()
    with app.app_context():
        assert db.session.get(User, leader.id).person_id == rosalia.id

    page.goto(f"{live_server}/admin/users/{leader.id}")
    expect(page.get_by_label("Linked person")).to_have_value("Rosalía Gómez")
    page.get_by_label("Linked person").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Account saved.")).to_be_visible()
    with app.app_context():
        assert db.session.get(User, leader.id).person_id is None
