"""Benchmarks for actions: the turnout page and the check-in search on the measured action.

Runs on both shapes (``bench.shapes``): on peer the measured action has 1,500 RSVPs among
20,000 residents, on large 5,000 among 100,000 (about 60% checked in), with the show-up
history of the past actions. Each page is timed through the test client, next to the raw SQL
it needs.
"""

from __future__ import annotations

import sqlite3

from flask import Flask
from sqlalchemy import func, select

from bench.common import database_app, logged_in_client, report, timed_ms
from bench.shapes import ADMIN, MEASURED_TOKEN, PASSWORD, build_large, build_peer

def _raw_turnout(path: str, action_id: int) -> None:
    """The figures and lists of the turnout page, as hand-written SQL."""
    con = sqlite3.connect(path)
    try:
        con.execute("SELECT status, count(*) FROM rsvps WHERE action_id = ? GROUP BY status", (action_id,)).fetchall()
        con.execute("SELECT count(*), sum(walk_in) FROM attendances WHERE action_id = ?", (action_id,)).fetchall()
        con.execute("""SELECT m.institution_id, count(DISTINCT r.person_id), count(DISTINCT a.person_id)
                       FROM memberships m LEFT JOIN rsvps r ON r.person_id = m.person_id AND r.action_id = ?
                       AND r.status = 'yes' LEFT JOIN attendances a ON a.person_id = m.person_id AND a.action_id = ?
                       WHERE r.id IS NOT NULL OR a.id IS NOT NULL GROUP BY m.institution_id""",
                    (action_id, action_id)).fetchall()
        con.execute("""SELECT r.person_id, count(*), count(a.id) FROM rsvps r JOIN actions x ON x.id = r.action_id
                       LEFT JOIN attendances a ON a.action_id = r.action_id AND a.person_id = r.person_id
                       WHERE r.status = 'yes' AND x.id != ? AND r.person_id IN
                       (SELECT person_id FROM rsvps WHERE action_id = ?) GROUP BY r.person_id""",
                    (action_id, action_id)).fetchall()
        con.execute("""SELECT p.id, p.first_name, p.last_name, p.phone FROM people p JOIN rsvps r ON r.person_id = p.id
                       WHERE r.action_id = ? AND r.status = 'yes' AND NOT EXISTS (SELECT 1 FROM attendances a
                       WHERE a.action_id = ? AND a.person_id = p.id) ORDER BY p.last_name, p.first_name""",
                    (action_id, action_id)).fetchall()
    finally:
        con.close()


def _raw_search(path: str, action_id: int, q: str) -> None:
    """The check-in search as hand-written SQL: 20 matches with RSVP and check-in state (one-word
    queries: the folded key, as the page compares)."""
    from organizer.people.models import fold

    con = sqlite3.connect(path)
    try:
        con.execute("""SELECT p.id, p.first_name, p.last_name, p.phone, r.status, a.id FROM people p
                       LEFT JOIN rsvps r ON r.person_id = p.id AND r.action_id = ?
                       LEFT JOIN attendances a ON a.person_id = p.id AND a.action_id = ?
                       WHERE p.archived_at IS NULL AND (p.search_key LIKE ? OR p.phone LIKE ?)
                       ORDER BY p.last_name, p.first_name LIMIT 20""",
                    (action_id, action_id, f"%{fold(q)}%", f"%{q}%")).fetchall()
    finally:
        con.close()


def run() -> None:
    _figures("peer", database_app("peer", build_peer))
    _figures("large", database_app("large", build_large))


def _figures(shape: str, app: Flask) -> None:
    from organizer.actions.models import Action, Rsvp
    from organizer.extensions import db

    with app.app_context():
        action_id = db.session.scalar(select(Action.id).where(Action.signup_token == MEASURED_TOKEN))
        rsvps = db.session.scalar(select(func.count()).where(Rsvp.action_id == action_id))
        path = db.engine.url.database
        db.session.remove()
    client = logged_in_client(app, ADMIN, PASSWORD)

    def get(url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    report(f"turnout_page_{rsvps}_rsvps[{shape}]", timed_ms(lambda: get(f"/actions/{action_id}/turnout")), "ms",
           baseline=timed_ms(lambda: _raw_turnout(path, action_id)))
    for q in ("garcía1", "maria", "312500"):
        report(f"checkin_search_{q}[{shape}]", timed_ms(lambda q=q: get(f"/actions/{action_id}/checkin?q={q}")),
               "ms", baseline=timed_ms(lambda q=q: _raw_search(path, action_id, q)))
