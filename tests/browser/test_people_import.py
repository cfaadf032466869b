"""In real Chromium: an organizer imports a spreadsheet, fixes the line it points at, and confirms."""

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import log_in

pytestmark = pytest.mark.browser


def test_organizer_fixes_a_bad_line_then_imports(page: Page, live_server, make_user, tmp_path):
    organizer = make_user("organizer")
    log_in(page, live_server, organizer)

    bad = tmp_path / "members.csv"
    bad.write_text("Nombre,Apellido,Teléfono\nMaría,García,(312) 555-0142\nJosé,Núñez,12\n", encoding="utf-8")
    page.goto(f"{live_server}/people/")
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("“12” is not a valid phone number.")).to_be_visible()
    expect(page.get_by_role("button", name="Import 2 people")).to_have_count(0)

    good = tmp_path / "members-fixed.csv"
    good.write_text("Nombre,Apellido,Teléfono\nMaría,García,(312) 555-0142\nJosé,Núñez,(773) 555-0199\n",
                    encoding="utf-8")
    page.goto(f"{live_server}/people/import")
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Import 2 people").click()
    expect(page.get_by_text("2 people were added.")).to_be_visible()

    page.goto(f"{live_server}/people/?q=nunez")
    expect(page.get_by_role("link", name="José Núñez")).to_be_visible()
