"""The turnout page at scale: its prediction, cached by data version, is always the one computed
afresh (after an answer, a check-in, an earlier action archived or moved); the page runs the
same number of queries whatever the data, cached or not; and SQLite answers the history and the
breakdowns from the counts kept by triggers (migration f2c8a4e6b1d9), and the first-timers from
the covering indexes of migration e4b7c2a9d5f1."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from organizer.extensions import db
from tests.support.turnout import grow_turnout


@pytest.fixture
def computed(monkeypatch):
    """The prediction's real computation, and the ids of the actions it was computed for."""
    from organizer.actions import services

    calls: list[int] = []
    real = services._predict

    def counting(action):
        calls.append(action.id)
        return real(action)

    monkeypatch.setattr(services, "_predict", counting)
    return calls, real


@pytest.fixture
def history(make_action, make_person, add_rsvp):
    """Three past actions with yeses, check-ins and no-shows, and one coming up with answers."""
    people = [make_person(first_name=f"Rosa{i}") for i in range(6)]
    past = [make_action(days=-d) for d in (30, 20, 10)]
    for n, action in enumerate(past):
        for i, person in enumerate(people):
            add_rsvp(action, person, "yes" if (i + n) % 3 else "maybe", came=(i + n) % 2 == 0)
    upcoming = make_action(days=5)
    for i, person in enumerate(people[:4]):
        add_rsvp(upcoming, person, "maybe" if i == 3 else "yes")
    return past, upcoming, people


def _predictions(app, action_id, real):
    """The prediction as the page gets it (cached when it can be), and computed afresh."""
    from organizer.actions.models import Action
    from organizer.actions.services import predict_turnout

    with app.app_context():
        action = db.session.get(Action, action_id)
        served, fresh = predict_turnout(action), real(action)
        db.session.remove()
    return served, fresh


def test_a_cached_prediction_is_always_the_one_computed_afresh(
        cached_app, computed, history, make_person, add_rsvp, make_action):
    from organizer.actions.models import Action, Attendance

    calls, real = computed
    past, upcoming, people = history
    app = cached_app

    first, fresh = _predictions(app, upcoming.id, real)
    assert first == fresh and len(calls) == 1
    again, _fresh = _predictions(app, upcoming.id, real)
    assert again == first and len(calls) == 1, "nothing changed: served from the cache"

    def changes(write):
        before = len(calls)
        write()
        served, fresh = _predictions(app, upcoming.id, real)
        assert len(calls) == before + 1, "a write it depends on was not noticed"
        assert served == fresh
        return served

    newcomer = make_person(first_name="Nueva")
    after_answer = changes(lambda: add_rsvp(upcoming, newcomer, "yes"))
    assert after_answer.without_history == first.without_history + 1

    def check_in_the_no_shows():
        with app.app_context():
            came = set(db.session.scalars(select(Attendance.person_id).where(Attendance.action_id == past[1].id)))
            db.session.add_all(Attendance(action_id=past[1].id, person_id=p.id, walk_in=False)
                               for p in people if p.id not in came)
            db.session.commit()

    after_check_in = changes(check_in_the_no_shows)
    assert after_check_in.federation_rate > after_answer.federation_rate

    def archive_an_earlier_action():
        with app.app_context():
            db.session.execute(update(Action).where(Action.id == past[1].id).values(archived_at=past[1].starts_at))
            db.session.commit()

    after_archive = changes(archive_an_earlier_action)
    assert after_archive != after_check_in

    def move_an_earlier_action_after_this_one():
        with app.app_context():
            db.session.execute(update(Action).where(Action.id == past[0].id)
                               .values(starts_at=upcoming.starts_at + timedelta(days=1)))
            db.session.commit()

    changes(move_an_earlier_action_after_this_one)


def test_the_turnout_page_runs_as_many_queries_with_ten_times_the_people_cached_or_not(
        cached_app, make_user, make_person, make_action, make_institution, add_rsvp, login_as, count_queries):
    from organizer import data_cache

    app = cached_app
    staff, leader, church = make_user(), make_user("leader"), make_institution()
    earlier, action = make_action(days=-20), make_action(days=-1)
    client = login_as(staff).client
    url = f"/actions/{action.id}/turnout"

    def measure():
        data_cache.clear()
        counts = []
        for _view in ("cold", "cached"):
            with count_queries() as q:
                assert client.get(url).status_code == 200
            counts.append(q.count)
        return counts

    grow_turnout(app, 3, action, earlier, leader, church, make_person, add_rsvp)
    small = measure()
    grow_turnout(app, 30, action, earlier, leader, church, make_person, add_rsvp)
    assert measure() == small
    cold, cached = small
    assert cached == cold - 2, "the cached view skips the prediction's two queries"


def _plans_of_the_turnout_page(app, client, url) -> list[tuple[str, str]]:
    """Each SELECT the page runs, with SQLite's plan for it (EXPLAIN QUERY PLAN, same parameters)."""
    seen: list[tuple[str, object]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            return [(statement, " / ".join(row[3] for row in raw.cursor().execute(
                f"EXPLAIN QUERY PLAN {statement}", parameters))) for statement, parameters in seen]
        finally:
            raw.close()


def test_sqlite_answers_the_turnout_questions_from_the_covering_indexes(
        app, make_user, make_person, make_action, make_institution, add_rsvp, login_as):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    staff, leader, church = make_user(), make_user("leader"), make_institution()
    earlier, action = make_action(days=-20), make_action(days=-1)
    grow_turnout(app, 6, action, earlier, leader, church, make_person, add_rsvp)
    plans = _plans_of_the_turnout_page(app, login_as(staff).client, f"/actions/{action.id}/turnout")

    def plan_of(*marks: str) -> str:
        found = [plan for statement, plan in plans if all(mark in statement for mark in marks)]
        assert len(found) == 1, (marks, [s for s, _p in plans])
        return found[0]

    # Each answering person's history: their kept counts, found by key (no earlier answer read).
    history = plan_of("person_turnout_counts")
    assert "SEARCH person_turnout_counts USING INTEGER PRIMARY KEY" in history
    assert "ix_rsvps_person_status_action" not in history
    # Did each arrival come to an earlier action: the person's check-ins, from the index alone.
    first_timers = plan_of("people.last_name", "attendances_1")
    assert "COVERING INDEX ix_attendances_person_action" in first_timers
    # The breakdowns: the action's kept counts per recruiter and per institution, by key (no
    # RSVP, check-in or membership read).
    for kept in ("action_recruiter_counts", "action_institution_counts"):
        plan = plan_of(kept)
        assert f"SEARCH {kept} USING INDEX sqlite_autoindex_{kept}_1 (action_id=?)" in plan, plan
        assert not any(table in plan for table in ("rsvps", "attendances", "memberships")), plan
    # And no check-in test reads a check-in's row.
    for statement, plan in plans:
        if "attendances" in statement:
            assert "USING INDEX sqlite_autoindex_attendances_1 (action_id=? AND person_id=?)" not in plan, statement
