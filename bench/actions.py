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
    """What the turnout page computes, as hand-written SQL: the answers and arrivals, the
    federation's show-up rate and each RSVP'd person's own history (the prediction), the
    breakdowns by institution and by recruiter, and the first 200 no-shows and first-timers by
    name with how many there are in all (the page lists 200 of each; the CSV has everyone)."""
    earlier = "x.starts_at < (SELECT starts_at FROM actions WHERE id = :a) AND x.archived_at IS NULL AND x.id != :a"
    yes = "SELECT person_id FROM rsvps WHERE action_id = :a AND status = 'yes'"
    came = "SELECT person_id FROM attendances WHERE action_id = :a"
    con = sqlite3.connect(path)
    try:
        for statement in (
            "SELECT status, count(*) FROM rsvps WHERE action_id = :a GROUP BY status",
            """SELECT count(*) FROM rsvps r JOIN attendances a ON a.action_id = r.action_id
               AND a.person_id = r.person_id WHERE r.action_id = :a AND r.status = 'yes'""",
            "SELECT count(*), sum(walk_in) FROM attendances WHERE action_id = :a",
            f"""SELECT count(*), count(a.id) FROM rsvps r JOIN actions x ON x.id = r.action_id
                LEFT JOIN attendances a ON a.action_id = r.action_id AND a.person_id = r.person_id
                WHERE r.status = 'yes' AND {earlier}""",
            "SELECT person_id, status FROM rsvps WHERE action_id = :a AND status IN ('yes', 'maybe')",
            f"""SELECT r.person_id, count(*), count(a.id) FROM rsvps r JOIN actions x ON x.id = r.action_id
                LEFT JOIN attendances a ON a.action_id = r.action_id AND a.person_id = r.person_id
                WHERE r.status = 'yes' AND {earlier} AND r.person_id IN
                (SELECT person_id FROM rsvps WHERE action_id = :a AND status IN ('yes', 'maybe'))
                GROUP BY r.person_id""",
            # From the members who said yes or came (both lists by index), not from every membership.
            f"""SELECT i.id, i.name, count(DISTINCT CASE WHEN m.person_id IN ({yes}) THEN m.person_id END),
                count(DISTINCT CASE WHEN m.person_id IN ({came}) THEN m.person_id END)
                FROM institutions i JOIN memberships m ON m.institution_id = i.id
                WHERE m.person_id IN ({yes}) OR m.person_id IN ({came}) GROUP BY i.id, i.name""",
            """SELECT u.id, u.name, count(*), count(a.id) FROM rsvps r JOIN users u ON u.id = r.recruited_by_id
               LEFT JOIN attendances a ON a.action_id = r.action_id AND a.person_id = r.person_id
               WHERE r.action_id = :a AND r.status = 'yes' GROUP BY u.id, u.name""",
            """SELECT p.id, p.first_name, p.preferred_name, p.last_name, p.phone, count(*) OVER ()
               FROM rsvps r JOIN people p ON p.id = r.person_id WHERE r.action_id = :a AND r.status = 'yes'
               AND NOT EXISTS (SELECT 1 FROM attendances a WHERE a.action_id = :a AND a.person_id = p.id)
               ORDER BY p.last_name, p.first_name, p.id LIMIT 200""",
            """SELECT p.id, p.first_name, p.preferred_name, p.last_name, p.phone, count(*) OVER ()
               FROM attendances a JOIN people p ON p.id = a.person_id WHERE a.action_id = :a
               AND NOT EXISTS (SELECT 1 FROM attendances e JOIN actions x ON x.id = e.action_id
               WHERE e.person_id = p.id AND x.starts_at < (SELECT starts_at FROM actions WHERE id = :a))
               ORDER BY p.last_name, p.first_name, p.id LIMIT 200""",
        ):
            con.execute(statement, {"a": action_id}).fetchall()
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
