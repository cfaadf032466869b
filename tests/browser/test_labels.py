"""In real Chromium, on every page (filled with a little of everything): each field a person can
type in or choose from has a label a screen reader and voice control can find, and no two
visible elements share an id (a label finds its field by id: the action page's two commitment
forms once gave their second "number" and "note" no label at all)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.support.browser import log_in
from tests.support.pages import page_urls

pytestmark = pytest.mark.browser

UNLABELLED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]), select, textarea')]
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                  && !el.getAttribute('aria-labelledby') && !el.title)
  .map((el) => `${el.tagName.toLowerCase()} name=${el.name} id=${el.id}`)"""

# Hidden inputs are left out: every form's CSRF token is drawn with the same id, and nothing
# labels or finds a hidden input by it.
SHARED_IDS = """() => {
  const seen = {};
  document.querySelectorAll('[id]:not(input[type=hidden])').forEach((el) => { seen[el.id] = (seen[el.id] || 0) + 1; });
  return Object.entries(seen).filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}`);
}"""


def test_every_field_on_every_page_has_a_label_and_its_own_id(page: Page, app, live_server, rows):
    admin, ids = rows
    log_in(page, live_server, admin)
    found = {}
    for url in page_urls(app, ids):
        page.goto(f"{live_server}{url}")
        problems = page.evaluate(UNLABELLED) + page.evaluate(SHARED_IDS)
        if problems:
            found[url] = problems
    assert not found, found
