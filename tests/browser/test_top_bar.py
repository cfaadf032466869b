"""In real Chromium at 1280x800: the top bar fits on one line for every role, in English and in
Spanish (it used to wrap to 160 px in Spanish, breaking "Agregar" into "Agrega / r")."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.support.browser import assert_no_sideways_scroll

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("locale", ["en", "es"])
@pytest.mark.parametrize("role", ["admin", "organizer", "leader"])
def test_the_top_bar_is_one_line_at_1280(page: Page, live_server, make_user, role, locale):
    from tests.conftest import PASSWORD

    user = make_user(role, locale=locale, name="Guadalupe Hernández-Villaseñor 12345")  # a long name
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server}/login")
    page.locator("#email").fill(user.email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/")
    nav = page.locator("nav.navbar").bounding_box()
    assert nav and nav["height"] < 70, nav
    # No item of the bar breaks inside a word or onto a second line.
    tall = page.evaluate("""() => [...document.querySelectorAll('nav.navbar .nav-link, nav.navbar .navbar-brand')]
        .filter(el => el.offsetParent && el.getBoundingClientRect().height > 48)
        .map(el => el.innerText.trim())""")
    assert tall == []
    assert_no_sideways_scroll(page)
