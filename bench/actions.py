"""Benchmarks for actions: the turnout page and the check-in search on an action with 5,000 RSVPs.

Builds its own ``large-actions`` database once (100,000 residents, 200 leaders, 30 institutions,
40 past actions with 1,500 RSVPs each for show-up history, and the measured action: 5,000 RSVPs,
3,000 checked in). Each page is timed through the test client, next to the raw SQL it needs.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import insert, select

from bench.common import database_app, report, timed_ms

SHAPE = "large-actions"
PEOPLE = 100_000
RSVPS = 5_000


def build(app: Flask) -> None:
    """Bulk-insert the shape with Core inserts (executemany)."""
    from organizer.actions.models import Action, Attendance, Rsvp
    from organizer.auth.models import User
    from organizer.extensions import db
    from organizer.institutions.models import Institution, Membership
    from organizer.people.models import Person

    rng = random.Random(5000)  # noqa: S311 - benchmark data
    now = datetime.now(UTC)
    conn = db.session.connection()
    users = [{"email": "bench-admin@example.org", "name": "Bench Admin", "password_hash": "x", "role": "admin",
              "active": True, "created_at": now}]
    users += [{"email": f"organizer{i}@example.org", "name": f"Organizer {i}", "password_hash": "x",
               "role": "organizer", "active": True, "created_at": now} for i in range(10)]
    users += [{"email": f"leader{i}@example.org", "name": f"Leader {i}", "password_hash": "x", "role": "leader",
               "active": True, "created_at": now} for i in range(200)]
    conn.execute(insert(User), users)
    user_ids = list(range(2, len(users) + 1))
    conn.execute(insert(Institution), [{"name": f"Congregation {i}", "type": "congregation", "status": "member",
                                        "created_at": now, "updated_at": now} for i in range(30)])
    first = ["Maria", "José", "Keisha", "Linh", "Fatima", "David", "Rosa", "Andre", "Mei", "Omar"]
    last = ["García", "Johnson", "Nguyen", "Ali", "Cohen", "Kowalski", "Patel", "Reyes", "Carter", "Chen"]
    conn.execute(insert(Person), [{
        "first_name": rng.choice(first), "last_name": f"{rng.choice(last)}{i % 997}",
        "phone": f"+1312{5_000_000 + i:07d}", "sms_consent": "opted_in", "owner_id": rng.choice(user_ids),
        "created_at": now, "updated_at": now} for i in range(PEOPLE)])
    conn.execute(insert(Membership), [{"person_id": p, "institution_id": rng.randint(1, 30), "role": "member"}
                                      for p in range(1, PEOPLE + 1) if rng.random() < 0.6])
    actions = []
    for i in range(41):
        starts = now - timedelta(days=400 - i * 9) if i < 40 else now - timedelta(minutes=30)
        actions.append({"title": f"Action {i}", "type": "public_meeting", "starts_at": starts,
                        "ends_at": starts + timedelta(hours=2), "timezone": "America/Chicago", "location": "",
                        "turnout_goal": 4000 if i == 40 else 1000, "signup_token": f"bench-{i}",
                        "created_at": now, "updated_at": now})
    conn.execute(insert(Action), actions)
    rsvps, attendance = [], []
    for action_id in range(1, 42):
        count = RSVPS if action_id == 41 else 1_500
        for person_id in rng.sample(range(1, PEOPLE + 1), count):
            status = rng.choices(["yes", "maybe", "no"], weights=[75, 15, 10])[0]
            rsvps.append({"action_id": action_id, "person_id": person_id, "status": status, "source": "organizer",
                          "recruited_by_id": rng.choice(user_ids), "created_at": now, "updated_at": now})
            if rng.random() < (0.65 if status == "yes" else 0.15):
                attendance.append({"action_id": action_id, "person_id": person_id, "checked_in_at": now,
                                   "walk_in": status != "yes"})
    conn.execute(insert(Rsvp), rsvps)
    conn.execute(insert(Attendance), attendance)
    db.session.commit()


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
    """The check-in search as hand-written SQL: 20 matches with RSVP and check-in state."""
    con = sqlite3.connect(path)
    try:
        con.execute("""SELECT p.id, p.first_name, p.last_name, p.phone, r.status, a.id FROM people p
                       LEFT JOIN rsvps r ON r.person_id = p.id AND r.action_id = ?
                       LEFT JOIN attendances a ON a.person_id = p.id AND a.action_id = ?
                       WHERE p.archived_at IS NULL AND (lower(p.first_name || ' ' || p.last_name) LIKE ?
                       OR p.phone LIKE ?) ORDER BY p.last_name, p.first_name LIMIT 20""",
                    (action_id, action_id, f"%{q.lower()}%", f"%{q}%")).fetchall()
    finally:
        con.close()


def run() -> None:
    app = database_app(SHAPE, build)
    from organizer.actions.models import Action
    from organizer.auth.models import User
    from organizer.extensions import db

    with app.app_context():
        action_id = db.session.scalar(select(Action.id).where(Action.signup_token == "bench-40"))
        admin_id = db.session.scalar(select(User.id).where(User.email == "bench-admin@example.org"))
        path = db.engine.url.database
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(admin_id)
        session["_fresh"] = True

    def get(url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    report("turnout_page_5000_rsvps", timed_ms(lambda: get(f"/actions/{action_id}/turnout")), "ms",
           baseline=timed_ms(lambda: _raw_turnout(path, action_id)))
    for q in ("garcía1", "maria", "312500"):
        report(f"checkin_search_{q}", timed_ms(lambda q=q: get(f"/actions/{action_id}/checkin?q={q}")), "ms",
               baseline=timed_ms(lambda q=q: _raw_search(path, action_id, q)))
