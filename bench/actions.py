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
    """What the turnout page computes, as hand-written SQL: the answers and arrivals (kept by
    triggers in ``action_turnout_counts``), the federation's show-up rate (the earlier actions'
    kept counts) and each RSVP'd person's own history (their kept counts less this action's
    answer; the measured action is the latest, so no other action's) added up into the prediction (one row), the
    breakdowns by institution and by recruiter (kept counts too), and the first 200 no-shows and
    first-timers by name with how many there are in all (the page lists 200 of each; the CSV has
    everyone).

    ``prediction=False``: what the page still runs when its prediction is cached (the data
    version instead of the two prediction statements)."""
    before = "x.starts_at < (SELECT starts_at FROM actions WHERE id = :a) AND x.archived_at IS NULL AND x.id != :a"
    statements = [
        """SELECT said_yes, said_maybe, said_no, yes_attended, pending, attended, walk_ins
           FROM action_turnout_counts WHERE action_id = :a""",
    ]
    if prediction:
        statements += [
            f"""SELECT sum(c.said_yes) FILTER (WHERE {before}), sum(c.yes_attended) FILTER (WHERE {before}),
                sum(c.said_yes) FILTER (WHERE NOT ({before})), sum(c.said_yes) FILTER (WHERE NOT ({before}) AND x.id != :a)
                FROM action_turnout_counts c JOIN actions x ON x.id = c.action_id""",  # noqa: S608 - our own names, no values
            # Each answer's weight times their own rate (2+ earlier yeses), summed; the weights of
            # the others, to multiply by the federation's rate. A history: the person's kept
            # counts, less this answer and their yeses to the other actions not before this one.
            # The measured action is the latest: no other action not before it to take away.
            """WITH h AS (SELECT c.status, coalesce(p.said_yes, 0) - (c.status = 'yes') AS n,
                coalesce(p.yes_attended, 0) - (c.status = 'yes' AND here.id IS NOT NULL) AS k
                FROM rsvps c LEFT JOIN person_turnout_counts p ON p.person_id = c.person_id
                LEFT JOIN attendances here ON here.action_id = :a AND here.person_id = c.person_id
                WHERE c.action_id = :a AND c.status IN ('yes', 'maybe'))
                SELECT sum(CASE WHEN n >= 2 THEN CASE WHEN status = 'yes' THEN 1.0 ELSE 0.5 END * k / (n + 0.0) END),
                count(*) FILTER (WHERE n >= 2), count(*), count(*) FILTER (WHERE status = 'maybe'),
                sum(CASE WHEN n >= 2 THEN 0.0 ELSE CASE WHEN status = 'yes' THEN 1.0 ELSE 0.5 END END) FROM h""",
        ]
    else:
        statements.append("SELECT count(*), sum(version), sum(stamp), (SELECT min(starts_at) FROM actions "
                           "WHERE starts_at > datetime('now')) FROM report_data_versions")
    statements += [
        # Each institution's members and each recruiter's recruits who said yes and came (kept
        # by triggers), named.
        """SELECT i.id, i.name, c.said_yes, c.attended FROM institutions i
           JOIN action_institution_counts c ON c.institution_id = i.id WHERE c.action_id = :a""",
        """SELECT u.id, u.name, c.said_yes, c.yes_attended FROM users u
           JOIN action_recruiter_counts c ON c.recruiter_id = u.id WHERE c.action_id = :a""",
        """SELECT p.id, p.first_name, p.preferred_name, p.last_name, p.phone, count(*) OVER ()
           FROM people p WHERE p.id IN (SELECT r.person_id FROM rsvps r WHERE r.action_id = :a AND r.status = 'yes'
           AND NOT EXISTS (SELECT 1 FROM attendances a WHERE a.action_id = :a AND a.person_id = r.person_id))
           ORDER BY p.last_name, p.first_name, p.id LIMIT 200""",
        """SELECT p.id, p.first_name, p.preferred_name, p.last_name, p.phone, count(*) OVER ()
           FROM people p WHERE p.id IN (SELECT t.person_id FROM attendances t WHERE t.action_id = :a
           AND NOT EXISTS (SELECT 1 FROM attendances e JOIN actions x ON x.id = e.action_id
           WHERE e.person_id = t.person_id AND x.starts_at < (SELECT starts_at FROM actions WHERE id = :a)))
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
