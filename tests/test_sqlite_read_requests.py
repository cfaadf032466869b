"""On SQLite, a request that may write takes the write lock up front (``organizer.db``), so
writers queue instead of failing. A request that only reads (a GET) does not: it reads one
snapshot while others write. When every page took the lock, requests ran one at a time: under 50
clients some waited the whole busy timeout and got a 503, and the pages that count everyone (the
equity dashboard, for seconds on a large federation) held up the worker's texts and the replies
posted to the webhooks. ``tests/test_authorization_matrix.py`` checks that no GET writes unless
its view says so."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import event

from organizer.extensions import db

READING_PAGES = ["/reports/equity", "/reports/data-quality", "/people/duplicates", "/people/", "/"]


@pytest.fixture
def sqlite_path(app) -> str:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's write lock only")
        return db.engine.url.database


@pytest.fixture
def staff(login_as, make_user, make_person):
    make_person(first_name="Ana", last_name="Ruiz", phone="+13125550101")
    make_person(first_name="Ana", last_name="Ruiz", phone="+13125550102")  # a likely duplicate pair
    return login_as(make_user("organizer"))


def _write_elsewhere(path: str) -> str:
    """A write on a connection of its own that waits for no lock: "written", or SQLite's error
    ("database is locked") while a request holds the lock."""
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("INSERT INTO tags (name) VALUES ('written while a page read')")
        other.commit()
        return "written"
    except sqlite3.OperationalError as error:
        return str(error)
    finally:
        other.close()


def _request(app, count_queries, send, path: str) -> tuple[list[str], list[str]]:
    """Send a request; while it reads (right after its first SELECT), write on another
    connection. The statements the request began with, and how the other write went."""
    elsewhere: list[str] = []

    def after(conn, cursor, statement, *args):
        if not elsewhere and statement.lstrip().upper().startswith("SELECT"):
            elsewhere.append(_write_elsewhere(path))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", after)
    try:
        with count_queries() as q:
            response = send()
    finally:
        event.remove(engine, "after_cursor_execute", after)
    assert response.status_code in (200, 302), response.status_code
    return [s.upper() for s in q.statements if s.upper().startswith("BEGIN")], elsewhere


@pytest.mark.parametrize("url", READING_PAGES)
def test_a_page_reads_without_the_write_lock_while_others_write(app, sqlite_path, staff, count_queries, url):
    began, elsewhere = _request(app, count_queries, lambda: staff.client.get(url), sqlite_path)
    assert began == ["BEGIN"]  # deferred: one snapshot for the whole page, no lock
    assert elsewhere == ["written"]


def test_a_get_that_writes_takes_the_lock_up_front(app, sqlite_path, staff, count_queries):
    # The export records its audit event: its read must be able to become a write.
    began, elsewhere = _request(app, count_queries, lambda: staff.client.get("/people/export.csv"), sqlite_path)
    assert began == ["BEGIN IMMEDIATE"]
    assert elsewhere == ["database is locked"]


def test_a_post_takes_the_lock_up_front(app, sqlite_path, staff, count_queries):
    staff.csrf_token("/")  # fetched first: the GET it takes is not the request measured
    began, elsewhere = _request(
        app, count_queries, lambda: staff.post("/people/new", {"first_name": "Luis", "last_name": "Flores"}), sqlite_path)
    assert began and set(began) == {"BEGIN IMMEDIATE"}  # saving, then reading for the warnings
    assert elsewhere == ["database is locked"]
