"""Large imports: the upload page answers at once, the worker checks and imports the file, the
page shows its progress (polled as JSON) and then the outcome; still all or nothing."""

from __future__ import annotations

import pytest
from click.testing import Result

from tests.people.test_import import people_count, stored, upload


@pytest.fixture(autouse=True)
def large_means_anything(app, tmp_path):
    """Every upload counts as large here, and waits in this test's own folder."""
    app.config["PEOPLE_IMPORT_DIR"] = str(tmp_path / "imports")
    app.config["PEOPLE_IMPORT_BACKGROUND_BYTES"] = 10


def test_a_large_file_is_imported_by_the_worker_and_its_page_shows_the_outcome(app, login_as, make_user, make_tag):
    make_tag("Youth")
    organizer = make_user("organizer")
    actions = login_as(organizer)
    rows = "".join(f"Ana{i},Rivera,+1312555{1000 + i},Youth\n" for i in range(30))

    response = upload(actions, "First name,Last name,Phone,Tags\n" + rows)

    assert response.status_code == 302 and "/people/import/" in response.location
    page = actions.client.get(response.location)
    assert page.status_code == 200 and 'data-testid="import-done"' in page.get_data(as_text=True)
    assert "30 people were added." in page.get_data(as_text=True)
    progress = actions.client.get(response.location + "/progress").get_json()
    assert progress["state"] == "done" and progress["added"] == 30
    people = stored(app, last_name="Rivera")
    assert len(people) == 30 and all([t.name for t in p.tags] == ["Youth"] for p in people)
    assert all(p.created_by_id == organizer.id for p in people)


def test_a_large_file_with_bad_rows_adds_nobody_and_lists_every_bad_line(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    rows = "".join(f"Ana{i},+1312555{1000 + i}\n" for i in range(20)) + ",+13125559999\nBo,not a phone\n"

    response = upload(actions, "First name,Phone\n" + rows)

    html = actions.client.get(response.location).get_data(as_text=True)
    assert 'data-testid="import-failed"' in html and "Nothing was imported" in html
    assert "<td>22</td>" in html and "<td>23</td>" in html  # the header is line 1
    assert people_count(app) == 0


def test_nobody_else_can_see_an_imports_progress(app, login_as, make_user):
    owner, other = login_as(make_user("organizer")), login_as(make_user("admin"))
    response = upload(owner, "First name\nAna\n")

    assert other.client.get(response.location).status_code == 404
    assert other.client.get(response.location + "/progress").status_code == 404
    assert owner.client.get(response.location + "/progress").status_code == 200


def test_the_cli_refuses_an_over_limit_file_without_reading_it(app, runner, make_user, tmp_path, monkeypatch):
    from pathlib import Path

    make_user("admin", email="boss@example.org")
    path = tmp_path / "big.csv"
    path.write_text("First name\n" + "Ana\n" * 100)
    app.config["PEOPLE_IMPORT_MAX_BYTES"] = 50
    opened = []
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: opened.append(self) or real_open(self, *a, **k))

    result: Result = runner.invoke(args=["people", "import", str(path), "--by", "boss@example.org"])

    assert result.exit_code != 0 and "too big" in result.output
    assert path not in opened and people_count(app) == 0
