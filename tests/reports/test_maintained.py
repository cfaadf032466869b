"""The equity dashboard's counts kept up to date person by person: after a write only the people
it changed are counted again, and the counts always equal a count from scratch; whatever can
change everyone's counts, or a log pruned past the last view, counts from scratch."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, text, update

from organizer.extensions import db

from tests.reports.conftest import assert_same_as_from_scratch


@pytest.fixture
def counted(monkeypatch):
    """The people each count asked for: ``None`` for everyone, else the set of ids."""
    from organizer.reports import services

    calls: list[set[int] | None] = []
    records = services._person_records

    def spying(query, all_stages, only):
        found = records(query, all_stages, only)
        calls.append(None if only is None else set(db.session.scalars(only)))
        return found

    monkeypatch.setattr(services, "_person_records", spying)
    return calls


def _view(app) -> None:
    from organizer.relational.services import local_today
    from organizer.reports.services import EquityQuery, default_period, equity_report

    with app.test_request_context():
        equity_report(EquityQuery(default_period(local_today())))
        db.session.remove()


def _logged(app) -> list[int | None]:
    with app.app_context():
        return list(db.session.scalars(text("SELECT person_id FROM report_changes ORDER BY id")))


def test_a_write_counts_again_only_the_people_it_changed(cached_app, world, counted):
    from organizer.relational.models import OneToOne
    from organizer.relational.services import local_today

    app, person = cached_app, world["people"][4]
    _view(app)
    assert counted == [None]
    with app.app_context():
        db.session.add(OneToOne(person_id=person, held_by_id=world["organizer"].id, held_on=local_today()))
        db.session.commit()
    _view(app)
    assert counted[1] == {person}
    _view(app)
    assert len(counted) == 2  # nothing changed since: nobody counted
    assert_same_as_from_scratch(app)


def test_each_counted_table_logs_the_person_it_changed_and_nothing_else(cached_app, world):
    from organizer.people.models import Person
    from organizer.sms.models import OutboxMessage

    app, people = cached_app, world["people"]
    with app.app_context():
        db.session.execute(text("DELETE FROM report_changes"))
        db.session.get(Person, people[0]).first_name = "Renamed"  # not counted by any report
        db.session.add(OutboxMessage(person_id=people[1], phone="+15550100001", body="Queued", encoding="GSM-7",
                                     segments=1, status="queued"))  # not sent: not counted yet
        db.session.commit()
        assert _logged(app) == []
        db.session.get(Person, people[2]).preferred_language = "vi"
        db.session.execute(update(OutboxMessage).where(OutboxMessage.person_id == people[1])
                           .values(status="sent", sent_at=datetime.now(UTC)))
        db.session.commit()
        assert sorted(_logged(app)) == sorted([people[2], people[1]])
        db.session.execute(text("UPDATE stages SET name = name"))  # the stages: everyone
        db.session.commit()
        assert None in _logged(app)


def test_a_change_for_everyone_counts_from_scratch(cached_app, world, counted):
    from organizer.relational.models import Stage

    app = cached_app
    _view(app)
    with app.app_context():
        db.session.add(Stage(name="Anchor", position=99))
        db.session.commit()
    _view(app)
    assert counted == [None, None]
    assert_same_as_from_scratch(app)


def test_an_import_is_counted(cached_app, world, counted, make_user, database_url):
    """SQLite's bulk import logs one change for everyone (its per-row triggers are set aside);
    PostgreSQL's logs each new person."""
    from organizer.auth.models import User
    from organizer.people.importing import check_import, import_people

    app, admin = cached_app, make_user("admin")
    _view(app)
    with app.app_context():
        lines = "first_name,last_name\n" + "".join(f"Nueva{i},Importada\n" for i in range(3))
        actor = db.session.get(User, admin.id)
        plan = check_import(actor, lines.encode(), region="US", max_bytes=10**6, max_rows=100)
        import_people(actor, plan, owner=None, file_name="people.csv")
        db.session.commit()
        added = set(db.session.scalars(text("SELECT id FROM people WHERE last_name = 'Importada'")))
    _view(app)
    assert len(added) == 3
    assert counted[1] == (None if database_url.startswith("sqlite") else added)
    assert_same_as_from_scratch(app)


def test_a_view_before_the_log_was_pruned_counts_from_scratch_and_pruning_keeps_what_is_unread(
        cached_app, world, counted):
    from organizer.relational.models import OneToOne
    from organizer.relational.services import local_today
    from organizer.reports import tasks
    from organizer.reports.models import ReportChange

    app, people = cached_app, world["people"]
    _view(app)

    def prune() -> None:
        with app.app_context():
            tasks.prune_report_changes.call_local()

    def one_to_one(i: int) -> None:
        with app.app_context():
            db.session.add(OneToOne(person_id=people[i], held_by_id=world["organizer"].id, held_on=local_today()))
            db.session.commit()

    one_to_one(1)
    prune()  # marks where the next pruning cuts; deletes nothing read
    with app.app_context():
        assert people[1] in db.session.scalars(select(ReportChange.person_id)).all()
    _view(app)
    assert counted[1] == {people[1]}  # read after the first pruning: still there
    one_to_one(2)
    prune()  # cuts where the first one marked
    one_to_one(3)
    _view(app)
    assert counted[2] == {people[2], people[3]}  # this view had read up to before the cut
    one_to_one(5)
    prune()
    prune()  # cuts after 5, which the last view has not read
    _view(app)
    assert counted[3] is None
    assert_same_as_from_scratch(app)


def test_a_write_committed_after_a_view_that_began_before_it_is_not_missed(cached_app, world, database_url):
    """PostgreSQL hands out ids before commit: a writer that took its id before a view and
    committed after it must still be counted at the next view."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's writers take turns: ids become visible in the order they were given")
    app, person = cached_app, world["people"][7]
    engine = create_engine(database_url)
    try:
        with engine.connect() as writer:
            writer.execute(text("UPDATE people SET preferred_language = 'vi' WHERE id = :p"), {"p": person})
            # Another transaction, begun later, commits first: its log row is newer.
            later = threading.Thread(target=_language_committed, args=(database_url, world["people"][8]))
            later.start()
            later.join()
            _view(app)
            writer.commit()
        _view(app)
        assert_same_as_from_scratch(app)
        from organizer.relational.services import local_today
        from organizer.reports.services import EquityQuery, default_period, equity_report

        with app.test_request_context():
            report = equity_report(EquityQuery(default_period(local_today()), split="language"))
            assert any(g.key[1] == "vi" for g in report.groups)
            db.session.remove()
    finally:
        engine.dispose()


def _language_committed(database_url: str, person: int) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE people SET preferred_language = 'tl' WHERE id = :p"), {"p": person})
    finally:
        engine.dispose()


def test_views_while_a_worker_writes_end_equal_to_a_count_from_scratch(cached_app, world, counted):
    """The default SQLite as much as PostgreSQL: a worker writing one-to-ones and consent
    changes while an organizer keeps viewing the dashboard."""
    from organizer.db import write_transactions
    from organizer.people.models import Person, SmsConsent
    from organizer.relational.models import OneToOne
    from organizer.relational.services import local_today

    app, people = cached_app, world["people"]
    _view(app)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            for i in range(30):
                with app.app_context(), write_transactions():
                    db.session.add(OneToOne(person_id=people[i % len(people)], held_by_id=world["organizer"].id,
                                            held_on=local_today()))
                    if i % 3 == 0:
                        db.session.execute(update(Person).where(Person.id == people[(i * 7) % len(people)])
                                           .values(sms_consent=SmsConsent.OPTED_OUT.value,
                                                   sms_consent_at=datetime.now(UTC)))
                    db.session.commit()
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)

    writing = threading.Thread(target=worker)
    writing.start()
    while writing.is_alive():
        _view(app)
    writing.join()
    assert failures == []
    _view(app)
    assert any(call is not None for call in counted[1:])  # views in between counted the changed people
    assert_same_as_from_scratch(app)
