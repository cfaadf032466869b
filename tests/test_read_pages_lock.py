"""On SQLite, every request's transaction takes the write lock up front (``organizer.db``), so
writers queue instead of failing. The pages that count everyone (the equity dashboard, the data
quality report, the likely duplicates) only read: while they count, for seconds on a large
federation, the worker's texts and the replies posted to the webhooks must not wait for them."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import event

from organizer.extensions import db

READ_PAGES = {
    "/reports/equity": "organizer.reports.views.equity_report",
    "/reports/data-quality": "organizer.people.quality.quality_counts",
    "/people/duplicates": "organizer.people.views.duplicate_pairs",
}


@pytest.fixture
def sqlite_path(app) -> str:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's write lock only")
        return db.engine.url.database


def _write_elsewhere(path: str) -> None:
    """A write on a connection of its own that waits for no lock (as the worker's would, had it no
    patience): raises ``sqlite3.OperationalError`` ("database is locked") while a request holds it."""
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("INSERT INTO tags (name) VALUES ('written while the page counted')")
        other.commit()
    finally:
        other.close()


def _statements_of(app, client, url: str) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement.split(None, 2)[0].upper() + (" IMMEDIATE" if "IMMEDIATE" in statement.upper() else ""))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            response = client.get(url)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 200, url
    return seen


@pytest.mark.parametrize("url", READ_PAGES)
def test_a_write_goes_through_while_a_counting_page_reads(app, sqlite_path, login_as, make_user, make_person,
                                                          monkeypatch, url):
    make_person(first_name="Ana", last_name="Ruiz", phone="+13125550101")
    make_person(first_name="Ana", last_name="Ruiz", phone="+13125550102")  # a likely duplicate pair
    staff = login_as(make_user("organizer"))
    module, name = READ_PAGES[url].rsplit(".", 1)
    counting = getattr(__import__(module, fromlist=[name]), name)
    written: list[bool] = []

    def count_while_another_writes(*args, **kwargs):
        result = counting(*args, **kwargs)  # the page has read: its transaction is open
        _write_elsewhere(sqlite_path)
        written.append(True)
        return result

    monkeypatch.setattr(f"{module}.{name}", count_while_another_writes)
    assert staff.client.get(url).status_code == 200
    assert written == [True]


@pytest.mark.parametrize("url", READ_PAGES)
def test_a_counting_page_reads_one_snapshot_and_writes_nothing(app, sqlite_path, login_as, make_user,
                                                               make_person, url):
    make_person(first_name="Ana", last_name="Ruiz")
    staff = login_as(make_user("organizer"))
    seen = _statements_of(app, staff.client, url)
    assert seen[0] == "BEGIN"  # deferred: one snapshot for the page's counts, no write lock
    assert not {"INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE"} & set(seen), seen


def test_other_pages_still_take_the_write_lock_up_front(app, sqlite_path, login_as, make_user):
    staff = login_as(make_user("organizer"))
    assert _statements_of(app, staff.client, "/people/")[0] == "BEGIN IMMEDIATE"
    with pytest.raises(sqlite3.OperationalError, match="locked"), app.test_request_context("/people/"):
        db.session.execute(db.select(1))  # the request's transaction begins, the lock taken
        try:
            _write_elsewhere(sqlite_path)
        finally:
            db.session.rollback()
