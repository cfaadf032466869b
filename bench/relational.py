"""Relational benchmark: board, funnel, follow-ups and network pages on the peer and large shapes.

Each page is timed through ``app.test_client()`` logged in as an organizer, next to the raw SQL
that produces its numbers (the same counts and rows, without the ORM, templates or HTTP).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

from bench.common import database_app, logged_in_client, report, timed_ms
from bench.shapes import ORGANIZER, PASSWORD, build_large, build_peer

BOARD_COUNTS_SQL = """
SELECT COALESCE(pp.stage_id, :first) AS stage, COUNT(*) FROM people p
LEFT JOIN person_pipeline pp ON pp.person_id = p.id WHERE p.archived_at IS NULL GROUP BY 1
"""
# Per stage: the 50 most recently met (walking the stage/last one-to-one index), then people never
# met, with the names the cards show (the page reads them in the same walks).
BOARD_CARDS_SQL = """
SELECT p.id, pp.last_one_to_one_on, pp.last_assessment, p.first_name, p.preferred_name, p.last_name
FROM people p JOIN person_pipeline pp ON pp.person_id = p.id
WHERE p.archived_at IS NULL AND pp.stage_id = :stage AND pp.last_one_to_one_on IS NOT NULL
ORDER BY pp.last_one_to_one_on DESC, pp.person_id DESC LIMIT 50;
SELECT p.id, p.first_name, p.preferred_name, p.last_name
FROM people p LEFT JOIN person_pipeline pp ON pp.person_id = p.id
WHERE p.archived_at IS NULL AND (pp.stage_id = :stage OR (:stage = :first AND pp.person_id IS NULL))
AND pp.last_one_to_one_on IS NULL ORDER BY p.id DESC LIMIT 50
"""

FUNNEL_SQL = """
SELECT e.stage_id, COUNT(DISTINCT e.person_id),
       COUNT(DISTINCT CASE WHEN EXISTS (
         SELECT 1 FROM stage_moves l JOIN stages ls ON ls.id = l.to_stage_id
         WHERE l.person_id = e.person_id AND l.moved_at > e.at AND ls.position > s.position
       ) THEN e.person_id END)
FROM (
  SELECT person_id, to_stage_id AS stage_id, moved_at AS at FROM stage_moves WHERE moved_at >= :since AND moved_at < :until
  UNION ALL
  SELECT id, :first, created_at FROM people WHERE created_at >= :since AND created_at < :until
) e JOIN stages s ON s.id = e.stage_id GROUP BY e.stage_id
"""

FOLLOW_UPS_SQL = """
SELECT COUNT(*) FILTER (WHERE o.follow_up_on < :today), COUNT(*) FILTER (WHERE o.follow_up_on = :today),
       COUNT(*) FILTER (WHERE o.follow_up_on > :today)
FROM one_to_ones o JOIN people p ON p.id = o.person_id
WHERE o.held_by_id = :user AND o.follow_up_done_at IS NULL AND o.follow_up_on IS NOT NULL AND p.archived_at IS NULL;
SELECT o.id FROM one_to_ones o JOIN people p ON p.id = o.person_id
WHERE o.held_by_id = :user AND o.follow_up_done_at IS NULL AND o.follow_up_on < :today AND p.archived_at IS NULL
ORDER BY o.follow_up_on, o.id LIMIT 50;
SELECT o.id FROM one_to_ones o JOIN people p ON p.id = o.person_id
WHERE o.held_by_id = :user AND o.follow_up_done_at IS NULL AND o.follow_up_on > :today AND p.archived_at IS NULL
ORDER BY o.follow_up_on, o.id LIMIT 50;
SELECT COUNT(*) FROM people p JOIN person_pipeline pp ON pp.person_id = p.id
WHERE p.owner_id = :user AND p.archived_at IS NULL AND pp.last_one_to_one_on < :cold
"""

# The network graph's queries without the ORM: one-to-ones grouped by who met whom (the holder
# as their person, or their account), and the memberships that color them and find connectors.
# The page then counts degrees, samples, and names the few hundred it ships.
NETWORK_SQL = """
SELECT o.person_id, hp.id, CASE WHEN hp.id IS NULL THEN u.id END, COUNT(*)
FROM one_to_ones o JOIN people p ON p.id = o.person_id JOIN users u ON u.id = o.held_by_id
LEFT JOIN people hp ON hp.id = u.person_id AND hp.archived_at IS NULL
WHERE o.held_on >= :start AND o.held_on <= :end AND p.archived_at IS NULL
  AND (u.person_id IS NULL OR u.person_id <> o.person_id)
GROUP BY 1, 2, 3;
SELECT m.person_id, m.institution_id FROM memberships m JOIN people p ON p.id = m.person_id WHERE p.archived_at IS NULL
"""


def network_figure(shape: str, app, client) -> None:
    """``/pipeline/network.json`` with its default filters (the last three months, everyone), as staff."""
    from organizer.extensions import db
    from organizer.relational.services import local_today

    with app.app_context():
        today = local_today()
        db.session.remove()
    params = {"start": today - timedelta(days=90), "end": today}
    sizes = {}

    def get():
        r = client.get("/pipeline/network.json")
        assert r.status_code == 200, r.status_code
        sizes["bytes"], sizes["data"] = len(r.data), r.get_json()

    page_ms = timed_ms(get, repeat=3)
    raw_ms = timed_ms(lambda: _raw(app, NETWORK_SQL, params), repeat=3)
    data = sizes["data"]
    report(f"network_page[{shape}]", page_ms, "ms", baseline=raw_ms,
           extra=f"{sizes['bytes'] / 1024:.0f} KB of JSON: {len(data['nodes'])} of {data['total_nodes']} nodes, "
                 f"{len(data['edges'])} of {data['total_edges']} edges")

def _raw(app, sql: str, params: dict, per_stage: str = "", stage_ids=()) -> None:
    from organizer.extensions import db

    with app.app_context():
        for statement in sql.split(";"):
            if statement.strip():
                db.session.execute(text(statement), params).all()
        for stage in stage_ids:
            for statement in per_stage.split(";"):
                db.session.execute(text(statement), {**params, "stage": stage}).all()
        db.session.remove()


def run() -> None:
    _figures("peer", database_app("peer", build_peer))
    _figures("large", database_app("large", build_large))


def _figures(shape: str, app) -> None:
    client = logged_in_client(app, ORGANIZER, PASSWORD)

    from organizer.extensions import db
    from organizer.relational.services import date_as_datetime, local_today

    with app.app_context():
        stage_ids = [s for (s,) in db.session.execute(text("SELECT id FROM stages ORDER BY position"))]
        first = stage_ids[0]
        user_id = db.session.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": ORGANIZER})
        today = local_today()
        since = date_as_datetime(today - timedelta(days=365)) - timedelta(hours=12)
        until = date_as_datetime(today) + timedelta(hours=12)
        sqlite = db.engine.dialect.name == "sqlite"
        db.session.remove()

    def fmt(value: datetime):
        # Raw SQL binds what the UTCDateTime column stores: naive UTC on SQLite.
        return value.replace(tzinfo=None) if sqlite else value

    def page(url: str):
        def get():
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)
        return get

    board_raw = timed_ms(lambda: _raw(app, BOARD_COUNTS_SQL, {"first": first}, BOARD_CARDS_SQL, stage_ids))
    report(f"board_page[{shape}]", timed_ms(page("/pipeline/board")), "ms", baseline=board_raw)
    figures = [
        ("funnel_page", "/pipeline/funnel", FUNNEL_SQL, {"first": first, "since": fmt(since), "until": fmt(until)}),
        ("follow_ups_page", "/follow-ups", FOLLOW_UPS_SQL,
         {"user": user_id, "today": today, "cold": today - timedelta(days=90)}),
    ]
    for name, url, sql, params in figures:
        page_ms = timed_ms(page(url))
        raw_ms = timed_ms(lambda sql=sql, params=params: _raw(app, sql, params))
        report(f"{name}[{shape}]", page_ms, "ms", baseline=raw_ms)
    network_figure(shape, app, client)
