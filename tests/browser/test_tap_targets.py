"""In real Chromium at phone size (390x844): on every page, every control a thumb must hit (links,
buttons, fields, selects, check boxes with their labels, pager links, the menu) is at least 44x44
CSS pixels, the size Apple's and WCAG's guidance (2.5.5) give for a finger.

Not counted, as WCAG 2.5.5 excepts them: a link inside a sentence (in a paragraph of text), and
what is hidden (closed menus, collapsed sections, the sign-up form's trap for bots). A check box or radio counts with its label,
which toggles it too."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.support.browser import open_phone_menu
from tests.support.pages import page_urls

pytestmark = pytest.mark.browser

MINIMUM = 44

SMALL_TARGETS = """(minimum) => {
  const visible = (el) => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  const box = (el) => {
    if (el.matches("input[type=checkbox], input[type=radio]")) {
      const label = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`) || el.closest("label");
      if (label) {
        const a = el.getBoundingClientRect(), b = label.getBoundingClientRect();
        const left = Math.min(a.left, b.left), top = Math.min(a.top, b.top);
        return {width: Math.max(a.right, b.right) - left, height: Math.max(a.bottom, b.bottom) - top};
      }
    }
    return el.getBoundingClientRect();
  };
  const inSentence = (el) => el.tagName === "A" && el.closest("p, .form-text, .alert-body, small, .small");
  return [...document.querySelectorAll(
      "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]")]
    .filter((el) => visible(el) && !inSentence(el) && !el.closest('[aria-hidden="true"]')
                    && !(el.tagName === "A" && el.closest("label")))
    .map((el) => ({el, b: box(el)}))
    .filter(({b}) => b.width < minimum - 0.5 || b.height < minimum - 0.5)
    .map(({el, b}) => `${el.tagName.toLowerCase()} "${(el.innerText || el.value || el.name || el.getAttribute("aria-label") || "").trim().slice(0, 40)}" ${Math.round(b.width)}x${Math.round(b.height)}`);
}"""


def test_every_tap_target_on_every_page_is_44_pixels_on_a_phone(page: Page, app, live_server, rows):
    from tests.conftest import PASSWORD

    admin, ids = rows
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/login")
    small = {"/login": page.evaluate(SMALL_TARGETS, MINIMUM)}
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
    urls = [url for url in page_urls(app, ids, {"actions.checkin_service_worker", "actions.checkin_roster_json"})
            if not url.endswith((".json", ".js", ".csv", ".ics"))]
    for url in urls:
        page.goto(f"{live_server}{url}")
        page.wait_for_load_state("load")
        small[url] = page.evaluate(SMALL_TARGETS, MINIMUM)
        # Bigger targets must not push a page sideways: nothing wider than the phone but the
        # tables that scroll within themselves.
        if page.evaluate("() => document.documentElement.scrollWidth") > 390:
            small[url].append("the page scrolls sideways")
    # The menu, opened: its links are targets too.
    page.goto(f"{live_server}/")
    open_phone_menu(page)
    small["/ (menu open)"] = page.evaluate(SMALL_TARGETS, MINIMUM)
    failures = {url: found for url, found in small.items() if found}
    assert not failures, "\n".join(f"{url}: {', '.join(found[:8])}{' ...' if len(found) > 8 else ''}"
                                   for url, found in failures.items())
