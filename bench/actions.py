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


def _raw_turnout(path: str, action_id: int, *, prediction: bool = True) -> None:
    """What the turnout page computes, as hand-written SQL: the answers and arrivals, the
    federation's show-up rate and each RSVP'd person's own history added up into the prediction
    (one row), the breakdowns by institution and by recruiter, and the first 200 no-shows and
    first-timers by name with how many there are in all (the page lists 200 of each; the CSV has
    everyone).

    ``prediction=False``: what the page still runs when its prediction is cached (the data
    version instead of the two prediction statements)."""
    earlier = "x.starts_at < (SELECT starts_at FROM actions WHERE id = :a) AND x.archived_at IS NULL AND x.id != :a"
    statements = [
        "SELECT status, count(*) FROM rsvps WHERE action_id = :a GROUP BY status",
        """SELECT count(*) FROM rsvps r JOIN attendances a ON a.action_id = r.action_id
           AND a.person_id = r.person_id WHERE r.action_id = :a AND r.status = 'yes'""",
        "SELECT count(*), sum(walk_in) FROM attendances WHERE action_id = :a",
    ]
    if prediction:
        statements += [
            f"""SELECT count(*), count(a.id) FROM rsvps r JOIN actions x ON x.id = r.action_id
                LEFT JOIN attendances a ON a.action_id = r.action_id AND a.person_id = r.person_id
                WHERE r.status = 'yes' AND {earlier}""",
            # Each answer's weight times their own rate (2+ earlier yeses), summed; the weights of
            # the others, to multiply by the federation's rate.
            f"""WITH h AS (SELECT r.person_id, count(*) AS n, count(a.id) AS k FROM rsvps r
                JOIN actions x ON x.id = r.action_id
                LEFT JOIN attendances a ON a.action_id = r.action_id AND a.person_id = r.person_id
                WHERE r.status = 'yes' AND {earlier} AND r.person_id IN
                (SELECT person_id FROM rsvps WHERE action_id = :a AND status IN ('yes', 'maybe'))
                GROUP BY r.person_id HAVING count(*) >= 2)
                SELECT sum(CASE WHEN c.status = 'yes' THEN 1.0 ELSE 0.5 END * h.k / h.n), count(h.person_id),
                count(*), count(*) FILTER (WHERE c.status = 'maybe'),
                sum(CASE WHEN h.person_id IS NULL THEN CASE WHEN c.status = 'yes' THEN 1.0 ELSE 0.5 END ELSE 0 END)
                FROM rsvps c LEFT JOIN h ON h.person_id = c.person_id
                WHERE c.action_id = :a AND c.status IN ('yes', 'maybe')""",
        ]
    else:
        statements.append("SELECT count(*), sum(version), sum(stamp), (SELECT min(starts_at) FROM actions "
                           "WHERE starts_at > datetime('now')) FROM report_data_versions")
    statements += [
        # Each person who said yes or came once, then their memberships.
        """WITH marks AS (SELECT person_id, 1 AS yes, 0 AS came FROM rsvps WHERE action_id = :a AND status = 'yes'
           UNION ALL SELECT person_id, 0, 1 FROM attendances WHERE action_id = :a),
           p AS (SELECT person_id, max(yes) AS yes, max(came) AS came FROM marks GROUP BY person_id)
           SELECT i.id, i.name, sum(p.yes), sum(p.came) FROM p JOIN memberships m ON m.person_id = p.person_id
           JOIN institutions i ON i.id = m.institution_id GROUP BY i.id, i.name""",
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
    ]
    con = sqlite3.connect(path)
    try:
        for statement in statements:
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

    turnout_url = f"/actions/{action_id}/turnout"
    report(f"turnout_page_{rsvps}_rsvps[{shape}]", timed_ms(lambda: get(turnout_url)), "ms",
           baseline=timed_ms(lambda: _raw_turnout(path, action_id)))
    # The same page with its prediction cached by data version (organizer.data_cache), as a
    # second view serves it while nobody answers or checks in; the testing config the bench
    # runs under keeps that cache off, so the figure above is the cold page.
    _cached_figure(app, f"turnout_page_{rsvps}_rsvps_cached[{shape}]", lambda: get(turnout_url),
                   lambda: _raw_turnout(path, action_id, prediction=False))
    for q in ("garcía1", "maria", "312500"):
        report(f"checkin_search_{q}[{shape}]", timed_ms(lambda q=q: get(f"/actions/{action_id}/checkin?q={q}")),
               "ms", baseline=timed_ms(lambda q=q: _raw_search(path, action_id, q)))


def _cached_figure(app: Flask, name: str, page, raw) -> None:
    """``page`` timed with the data-version cache on (filled by the untimed first call), next
    to the raw SQL the cached page still runs."""
    from organizer import data_cache

    before = app.config.get("REPORTS_CACHE")
    app.config["REPORTS_CACHE"] = True
    data_cache.clear()
    try:
        report(name, timed_ms(page), "ms", baseline=timed_ms(raw), extra="prediction cached by data version")
    finally:
        app.config["REPORTS_CACHE"] = before
        data_cache.clear()
