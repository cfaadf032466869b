"""People benchmarks: importing and exporting 100,000 people, the people list and search, the
person page and the action page.

* ``people_import_100000_rows`` (large shape): a 100,000-row CSV (blank cells scattered as in
  real spreadsheets, 80% with a phone, half with an email, a third with tags) checked and
  imported by the service the page and ``flask people import`` share, in one transaction,
  next to a bare ``sqlite3`` executemany of the same rows. The rows are deleted afterwards.
* ``people_export_100000_rows`` (large shape): ``/people/export.csv`` as an admin through the
  test client, read to the end, with its query count, the time to the first bytes and the
  growth of the process's peak memory, next to the raw SQL behind it written with ``csv``.
* Pages through the test client as an organizer, next to the raw SQL behind them.
"""

from __future__ import annotations

import csv
import io
import random
import resource
import sqlite3
import time

from flask import Flask
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from bench.common import database_app, logged_in_client, report, timed_ms
from bench.shapes import ADMIN, MEASURED_TOKEN, ORGANIZER, PASSWORD, build_large, build_peer

IMPORT_ROWS = 100_000


def _csv(rows: int) -> bytes:
    rng = random.Random(5)  # noqa: S311 - benchmark data
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["First name", "Last name", "Phone", "Email", "Address", "Language", "Tags", "SMS", "Notes"])
    for i in range(rows):
        writer.writerow([
            rng.choice(["Maria", "José", "Linh", "Omar", "Keisha"]), f"Imported{i}",
            f"+1872{3_000_000 + i:07d}" if rng.random() < 0.8 else "",
            f"imported{i}@example.org" if rng.random() < 0.5 else "",
            f"{i} Main St" if rng.random() < 0.3 else "", rng.choice(["", "es", "en"]),
            rng.choice(["", "", "Youth", "Youth;Tenant"]), rng.choice(["", "yes", "no"]),
            "Met at the fair" if rng.random() < 0.1 else "",
        ])
    return out.getvalue().encode()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _import(app: Flask, data: bytes) -> tuple[float, float]:
    """Seconds to check and import ``data``, and the peak memory growth in MB."""
    from organizer.auth.models import User
    from organizer.extensions import db
    from organizer.people.importing import check_import, import_people

    with app.app_context():
        first_new = (db.session.scalar(text("SELECT max(id) FROM people")) or 0) + 1
        actor = db.session.scalar(select(User).where(User.email == ADMIN))
        before = _rss_mb()
        started = time.perf_counter()
        plan = check_import(actor, data, region="US", max_bytes=len(data), max_rows=IMPORT_ROWS)
        assert plan.ok and len(plan.rows) == IMPORT_ROWS, (len(plan.errors), len(plan.rows))
        added = import_people(actor, plan, owner=None, file_name="bench.csv")
        db.session.commit()
        elapsed = time.perf_counter() - started
        grown = _rss_mb() - before
        assert added == IMPORT_ROWS
        del plan
        _delete_people_from(db, first_new)
    return elapsed, grown


def _delete_people_from(db, first_id: int) -> None:
    db.session.execute(text("DELETE FROM person_tags WHERE person_id >= :i"), {"i": first_id})
    db.session.execute(text("DELETE FROM people WHERE id >= :i"), {"i": first_id})
    db.session.commit()


def _raw_import(path: str, data: bytes) -> float:
    """The same rows as a bare executemany (no checks, no tags), in seconds; then removed."""
    rows = list(csv.reader(io.StringIO(data.decode())))[1:]
    con = sqlite3.connect(path)
    try:
        first_new = (con.execute("SELECT max(id) FROM people").fetchone()[0] or 0) + 1
        now = "2026-11-29 12:00:00.000000"
        started = time.perf_counter()
        con.executemany(
            "INSERT INTO people (first_name, last_name, phone, email, address, preferred_language, notes, "
            "sms_consent, created_at, updated_at, search_key) VALUES (?, ?, ?, ?, ?, ?, ?, 'unknown', ?, ?, ?)",
            ((r[0], r[1], r[2] or None, r[3] or None, r[4] or None, r[5] or None, r[8] or None, now, now,
              f"{r[0]} {r[1]}".lower()) for r in rows),
        )
        con.commit()
        elapsed = time.perf_counter() - started
        con.execute("DELETE FROM people WHERE id >= ?", (first_new,))
        con.commit()
    finally:
        con.close()
    return elapsed


EXPORT_SQL = """
SELECT p.id, p.first_name, p.last_name, p.preferred_name, p.phone, p.email, p.address, n.name,
       p.preferred_language,
       (SELECT group_concat(t.name, ';') FROM person_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.person_id = p.id),
       p.sms_consent,
       (SELECT group_concat(r.value, ';') FROM person_race_ethnicities r WHERE r.person_id = p.id), p.notes
FROM people p LEFT JOIN neighborhoods n ON n.id = p.neighborhood_id
WHERE p.archived_at IS NULL ORDER BY p.last_name, p.first_name, p.id
"""


def _raw_export(path: str) -> float:
    con = sqlite3.connect(path)
    try:
        started = time.perf_counter()
        out = io.StringIO()
        writer = csv.writer(out)
        for row in con.execute(EXPORT_SQL):
            writer.writerow(row)
        return time.perf_counter() - started
    finally:
        con.close()


def _export(app: Flask) -> None:
    from organizer.extensions import db

    with app.app_context():
        path = db.engine.url.database
        people = db.session.scalar(text("SELECT count(*) FROM people WHERE archived_at IS NULL"))
    client = logged_in_client(app, ADMIN, PASSWORD)
    client.get("/people/export.csv?q=zzzz").get_data()  # warm up: templates, statement caches
    queries = []

    def count(*_args) -> None:
        queries.append(1)

    before = _rss_mb()
    event.listen(Engine, "before_cursor_execute", count)
    try:
        started = time.perf_counter()
        response = client.get("/people/export.csv", buffered=False)
        chunks = iter(response.response)
        first = next(chunks)
        first_s = time.perf_counter() - started
        size, lines = len(first), first.count(b"\n")
        for chunk in chunks:
            size += len(chunk)
            lines += chunk.count(b"\n")
        response.close()
        elapsed = time.perf_counter() - started
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert lines >= people + 1, (lines, people)
    grown = _rss_mb() - before
    report(f"people_export_{IMPORT_ROWS}_rows[large]", elapsed, "s", baseline=_raw_export(path),
           extra=f"{len(queries)} queries, first bytes {first_s * 1000:.0f} ms, {size / 1e6:.0f} MB, "
                 f"peak memory +{grown:.0f} MB")


PEOPLE_LIST_SQL = [
    "SELECT count(*) FROM people WHERE archived_at IS NULL {where}",
    "SELECT id, first_name, last_name, phone FROM people WHERE archived_at IS NULL {where} "
    "ORDER BY last_name, first_name, id LIMIT 50",
]

# A search by hand through the trigram index (``people_search``, organizer/people/search_index.py):
# the matches counted in the index less the archived ones, then the first page read along the
# name index with each id probed in the matches.
_SEARCHED = "(SELECT rowid FROM people_search WHERE people_search MATCH ?)"
PEOPLE_SEARCH_SQL = [
    "SELECT count(*) FROM people_search WHERE people_search MATCH ?",
    f"SELECT count(*) FROM people WHERE archived_at IS NOT NULL AND id + 0 IN {_SEARCHED}",  # noqa: S608
    f"SELECT id, first_name, last_name, phone FROM people WHERE archived_at IS NULL AND id + 0 IN {_SEARCHED} "  # noqa: S608
    "ORDER BY last_name, first_name, id LIMIT 50",
]


def _raw(path: str, statements: list[str], params: tuple = ()) -> None:
    con = sqlite3.connect(path)
    try:
        for statement in statements:
            con.execute(statement, params[:statement.count("?")]).fetchall()
    finally:
        con.close()


def _pages(shape: str, app: Flask, pages: list[tuple[str, str, list[str], tuple]]) -> None:
    from organizer.extensions import db

    with app.app_context():
        path = db.engine.url.database
    client = logged_in_client(app, ORGANIZER, PASSWORD)

    def get(url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    for name, url, statements, params in pages:
        report(f"{name}[{shape}]", timed_ms(lambda url=url: get(url)), "ms",
               baseline=timed_ms(lambda s=statements, p=params: _raw(path, s, p)))


# The raw SQL behind the likely duplicates page (the phones and emails held twice and their
# pairs, the sum of n(n-1)/2 over shared names, the first page of name-only pairs, its people)
# and behind the data-quality report (one pass of sums, race answers, flagged numbers, and the
# duplicate pairs' count), as someone would write it by hand for SQLite.
STRONG_PAIRS_SQL = " UNION ".join(
    f"SELECT a.id, b.id FROM people a JOIN people b ON b.{key} = a.{key} AND b.id > a.id AND b.archived_at IS NULL "  # noqa: S608
    f"WHERE a.archived_at IS NULL AND a.{key} IN (SELECT {key} FROM people WHERE archived_at IS NULL AND {key} > '' "
    f"GROUP BY {key} HAVING count(*) > 1)" for key in ("phone", "email"))
NAME_PAIRS_COUNT_SQL = ("SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM people WHERE archived_at IS NULL "
                        "AND name_key > '' GROUP BY name_key HAVING count(*) > 1)")
DUPLICATES_PAGE_SQL = [
    STRONG_PAIRS_SQL,
    NAME_PAIRS_COUNT_SQL,
    "SELECT a.id, b.id FROM people a JOIN people b ON b.name_key = a.name_key AND b.id > a.id AND b.archived_at IS NULL "
    "WHERE a.archived_at IS NULL AND a.name_key > '' AND NOT (a.phone IS NOT NULL AND a.phone = b.phone) "
    "AND NOT (a.email IS NOT NULL AND a.email = b.email) ORDER BY a.id, b.id LIMIT 50",
    "SELECT p.*, u.name FROM people p LEFT JOIN users u ON u.id = p.owner_id WHERE p.id IN "
    "(SELECT id FROM people ORDER BY id LIMIT 100)",
]
DATA_QUALITY_SQL = [
    "SELECT count(*), sum(phone IS NULL OR phone = ''), sum(neighborhood_id IS NULL), "
    "sum(preferred_language IS NULL OR preferred_language = ''), sum(sms_consent = 'opted_out'), "
    "sum(owner_id IS NULL) FROM people WHERE archived_at IS NULL",
    "SELECT count(DISTINCT r.person_id) FROM person_race_ethnicities r JOIN people p ON p.id = r.person_id "
    "WHERE p.archived_at IS NULL",
    "SELECT count(*) FROM people p JOIN sms_phone_flags f ON f.phone = p.phone WHERE p.archived_at IS NULL",
    STRONG_PAIRS_SQL,
    NAME_PAIRS_COUNT_SQL,
]


def duplicates_and_quality(large: Flask | None = None) -> None:
    """``duplicates_page[large]`` and ``data_quality_page[large]``: the two pages that read every
    person, as an organizer sees them (100,000 people, tens of thousands of shared names)."""
    _pages("large", large or database_app("large", build_large), [
        ("duplicates_page", "/people/duplicates", DUPLICATES_PAGE_SQL, ()),
        ("data_quality_page", "/reports/data-quality", DATA_QUALITY_SQL, ()),
    ])


def run() -> None:
    large = database_app("large", build_large)
    _export(large)  # first: the peak memory it adds is measured against this process's peak so far
    data = _csv(IMPORT_ROWS)
    with large.app_context():
        from organizer.extensions import db

        path = db.engine.url.database
    elapsed, grown = _import(large, data)
    report(f"people_import_{IMPORT_ROWS}_rows[large]", elapsed, "s", baseline=_raw_import(path, data),
           baseline_name="bare sqlite3 executemany", extra=f"peak memory +{grown:.0f} MB")
    _pages("large", large, [
        ("people_list_page", "/people/", [s.format(where="") for s in PEOPLE_LIST_SQL], ()),
        ("people_search_page", "/people/?q=maria", PEOPLE_SEARCH_SQL, ('search_key : "maria"',)),
    ])
    duplicates_and_quality(large)

    peer = database_app("peer", build_peer)
    with peer.app_context():
        from organizer.actions.models import Action
        from organizer.extensions import db

        action_id = db.session.scalar(select(Action.id).where(Action.signup_token == MEASURED_TOKEN))
        person_id = db.session.scalar(text("SELECT person_id FROM person_pipeline ORDER BY person_id LIMIT 1"))
    person_sql = [
        "SELECT * FROM people WHERE id = ?",
        "SELECT t.name FROM person_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.person_id = ?",
        "SELECT i.name FROM memberships m JOIN institutions i ON i.id = m.institution_id WHERE m.person_id = ?",
        "SELECT * FROM one_to_ones WHERE person_id = ? ORDER BY held_on DESC",
        "SELECT * FROM person_pipeline WHERE person_id = ?",
        "SELECT * FROM sms_outbox WHERE person_id = ? ORDER BY id DESC LIMIT 20",
    ]
    action_sql = [
        "SELECT * FROM actions WHERE id = ?",
        "SELECT count(*) FROM rsvps WHERE action_id = ?",
        "SELECT r.*, p.first_name, p.last_name FROM rsvps r JOIN people p ON p.id = r.person_id WHERE r.action_id = ? "
        "ORDER BY p.last_name, p.first_name LIMIT 50",
        "SELECT count(*) FROM attendances WHERE action_id = ?",
    ]
    _pages("peer", peer, [
        ("person_page", f"/people/{person_id}", person_sql, (person_id,)),
        ("action_page", f"/actions/{action_id}", action_sql, (action_id,)),
    ])
