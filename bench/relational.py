"""Relational benchmark: board, funnel and follow-ups pages on 100,000 residents and 300,000 one-to-ones.

Each page is timed through ``app.test_client()`` logged in as an organizer, next to the raw SQL
that produces its numbers (the same counts and rows, without the ORM, templates or HTTP).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import insert, text

from bench.common import database_app, report, timed_ms

SHAPE = "relational_100k"
PEOPLE = 100_000
ONE_TO_ONES = 300_000
ORGANIZERS = 20
LEADERS = 300
INSTITUTIONS = 100
NEIGHBORHOODS = 20
CHUNK = 20_000
PASSWORD = "bench-password"  # noqa: S105 - a throwaway local database
BENCH_ORGANIZER = "organizer1@bench.local"


def _chunks(rows):
    for i in range(0, len(rows), CHUNK):
        yield rows[i:i + CHUNK]


def build(app) -> None:
    """Bulk-insert the large federation with executemany (stages and issues come from the migration)."""
    from werkzeug.security import generate_password_hash

    from organizer.auth.models import User
    from organizer.extensions import db
    from organizer.institutions.models import Institution, Membership
    from organizer.people.models import Person
    from organizer.relational.models import Commitment, OneToOne, PersonPipeline, StageMove
    from organizer.settings.models import Neighborhood, Organization

    rng = random.Random(7)  # noqa: S311 - benchmark data
    now = datetime.now(UTC)
    today = now.date()
    session = db.session

    def put(model, rows):
        for chunk in _chunks(rows):
            session.execute(insert(model), chunk)

    put(Organization, [{"id": 1, "name": "Bench Federation", "timezone": "America/Chicago",
                        "default_phone_region": "US", "sms_help_text": "", "going_cold_days": 90}])
    put(Neighborhood, [{"id": i, "name": f"Neighborhood {i}"} for i in range(1, NEIGHBORHOODS + 1)])
    put(Institution, [{"id": i, "name": f"Institution {i}", "type": "congregation", "status": "member",
                       "neighborhood_id": rng.randint(1, NEIGHBORHOODS), "created_at": now, "updated_at": now}
                      for i in range(1, INSTITUTIONS + 1)])
    password_hash = generate_password_hash(PASSWORD)
    users = [{"id": 1, "email": "admin@bench.local", "name": "Admin", "role": "admin"}]
    users += [{"id": 1 + i, "email": f"organizer{i}@bench.local", "name": f"Organizer {i}", "role": "organizer",
               "monthly_one_to_one_goal": 30} for i in range(1, ORGANIZERS + 1)]
    leader_ids = list(range(ORGANIZERS + 2, ORGANIZERS + 2 + LEADERS))
    users += [{"id": uid, "email": f"leader{uid}@bench.local", "name": f"Leader {uid}", "role": "leader",
               "monthly_one_to_one_goal": 6} for uid in leader_ids]
    for u in users:
        u.update(password_hash=password_hash, active=True, created_at=now)
    put(User, users)
    organizer_ids = list(range(2, ORGANIZERS + 2))

    people, memberships = [], []
    for pid in range(1, PEOPLE + 1):
        owner = rng.choice(leader_ids) if rng.random() < 0.6 else rng.choice(organizer_ids)
        people.append({"id": pid, "first_name": f"First{pid}", "last_name": f"Last{pid % 5000}",
                       "neighborhood_id": rng.randint(1, NEIGHBORHOODS), "owner_id": owner,
                       "sms_consent": "opted_in", "created_at": now - timedelta(days=rng.randint(1, 900)),
                       "updated_at": now})
        memberships.append({"person_id": pid, "institution_id": rng.randint(1, INSTITUTIONS), "role": "member"})
    put(Person, people)
    put(Membership, memberships)
    # Each leader's account is linked to a person of their own (for the relational network).
    for uid, pid in zip(leader_ids, rng.sample(range(1, PEOPLE + 1), LEADERS), strict=True):
        session.execute(text("UPDATE users SET person_id = :p WHERE id = :u"), {"p": pid, "u": uid})

    stage_ids = [s for (s,) in session.execute(text("SELECT id FROM stages ORDER BY position"))]
    assert stage_ids, "the migration seeds the stages"
    owner_of = {p["id"]: p["owner_id"] for p in people}
    met = rng.sample(range(1, PEOPLE + 1), 60_000)
    per_person = [ONE_TO_ONES // len(met)] * len(met)
    for i in range(ONE_TO_ONES - sum(per_person)):
        per_person[i] += 1
    ones, pipeline, moves, commitments = [], [], [], []
    one_id = 0
    for pid, n in zip(met, per_person, strict=True):
        days = sorted((rng.randint(0, 540) for _ in range(n)), reverse=True)
        latest = None
        for k, ago in enumerate(days):
            one_id += 1
            day = today - timedelta(days=ago)
            assessment = rng.randint(1, 5) if rng.random() < 0.8 else None
            latest = assessment or latest
            follow = day + timedelta(days=rng.randint(5, 30)) if rng.random() < 0.8 else None
            done = None if (k == n - 1 and rng.random() < 0.5) or follow is None else \
                datetime.combine(follow, time(18), tzinfo=UTC)
            holder = owner_of[pid] if rng.random() < 0.85 else rng.choice(organizer_ids)
            ones.append({"id": one_id, "person_id": pid, "held_by_id": holder, "held_on": day,
                         "duration_minutes": 40, "mode": "in_person", "assessment": assessment,
                         "self_interest": "Rent and wages", "follow_up_on": follow,
                         "follow_up_done_at": done if follow else None, "created_at": now})
            if rng.random() < 0.3:
                commitments.append({"one_to_one_id": one_id, "kind": "attend_action",
                                    "status": rng.choice(["open", "kept", "not_kept"])})
        level = min(len(stage_ids) - 1, int(rng.triangular(0, len(stage_ids), 0.5)))
        entered = now - timedelta(days=rng.randint(1, 500))
        for step in range(1, level + 1):
            moves.append({"person_id": pid, "from_stage_id": stage_ids[step - 1], "to_stage_id": stage_ids[step],
                          "moved_at": entered - timedelta(days=30 * (level - step)), "moved_by_id": organizer_ids[0]})
        pipeline.append({"person_id": pid, "stage_id": stage_ids[level], "entered_at": entered,
                         "last_one_to_one_on": today - timedelta(days=days[-1]), "last_assessment": latest,
                         "one_to_one_count": n})
    put(OneToOne, ones)
    put(Commitment, commitments)
    put(PersonPipeline, pipeline)
    put(StageMove, moves)
    session.commit()
    session.execute(text("ANALYZE"))  # planner statistics, as a maintained database would have
    session.commit()


BOARD_COUNTS_SQL = """
SELECT COALESCE(pp.stage_id, :first) AS stage, COUNT(*) FROM people p
LEFT JOIN person_pipeline pp ON pp.person_id = p.id WHERE p.archived_at IS NULL GROUP BY 1
"""
# Per stage: the 50 most recently met (walking the stage/last one-to-one index), then people never met.
BOARD_CARDS_SQL = """
SELECT p.id, pp.last_one_to_one_on, pp.last_assessment FROM people p JOIN person_pipeline pp ON pp.person_id = p.id
WHERE p.archived_at IS NULL AND pp.stage_id = :stage AND pp.last_one_to_one_on IS NOT NULL
ORDER BY pp.last_one_to_one_on DESC, pp.person_id DESC LIMIT 50;
SELECT p.id FROM people p LEFT JOIN person_pipeline pp ON pp.person_id = p.id
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
    app = database_app(SHAPE, build)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    response = client.post("/login", data={"email": BENCH_ORGANIZER, "password": PASSWORD})
    assert response.status_code == 302, "bench organizer login failed"

    from organizer.extensions import db
    from organizer.relational.services import date_as_datetime, local_today

    with app.app_context():
        stage_ids = [s for (s,) in db.session.execute(text("SELECT id FROM stages ORDER BY position"))]
        first = stage_ids[0]
        user_id = db.session.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": BENCH_ORGANIZER})
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
    report("board_page", timed_ms(page("/pipeline/board")), "ms", baseline=board_raw)
    figures = [
        ("funnel_page", "/pipeline/funnel", FUNNEL_SQL, {"first": first, "since": fmt(since), "until": fmt(until)}),
        ("follow_ups_page", "/follow-ups", FOLLOW_UPS_SQL,
         {"user": user_id, "today": today, "cold": today - timedelta(days=90)}),
    ]
    for name, url, sql, params in figures:
        page_ms = timed_ms(page(url))
        raw_ms = timed_ms(lambda sql=sql, params=params: _raw(app, sql, params))
        report(name, page_ms, "ms", baseline=raw_ms)
