"""What browser tests share: signing in and opening the phone's menu as a person would, waiting
for a chart to be drawn, and checking that a page does not scroll sideways."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page


def log_in(page: Page, base: str, user: Any) -> None:
    """Sign ``user`` in through the login form at ``base`` and wait for the home page."""
    from tests.conftest import PASSWORD

    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def open_phone_menu(page: Page) -> None:
    """Open the collapsed menu of a phone-sized page and wait until it has opened: Bootstrap's
    collapse animates, and a click on one of its items mid-animation can be lost (a log-out
    clicked 60 ms after "Menu" sometimes never submitted)."""
    page.get_by_role("button", name="Menu").click()
    page.wait_for_selector("#mainnav.show", state="visible")


def wait_for_chart(page: Page, canvas: Locator) -> None:
    """Wait until Chart.js has drawn on ``canvas``: static/js/charts.js draws after the canvas is
    in the page, so a test that looks at once races it."""
    page.wait_for_function("(el) => window.Chart && Chart.getChart(el) !== undefined", arg=canvas.element_handle())


def assert_no_sideways_scroll(page: Page) -> None:
    """The page is no wider than the window (a pixel of rounding aside); on failure, the elements
    that stick out. Measured once the page's stylesheets have loaded: its text can be found before
    they have, and an unstyled page is wider (CI once measured the action page's sign-up link so)."""
    page.wait_for_load_state("load")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').trim().slice(0, 40)).slice(0, 8)""")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (page.url, wide)
