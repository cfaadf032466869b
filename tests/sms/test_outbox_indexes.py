"""The outbox's indexes (issue 11, a 50,000-text launch in under a second): the indexes over
texts' history hold only texts Twilio took (``sid``) or sent (``sent_at``), the texts not yet
taken have small indexes of their own, so a launch's rows do not spread over the big ones.
These tests pin that every query the texting paths run on ``sms_outbox`` still finds its rows
through an index, and the ones that matter through the index meant for them: each service is
run, the statements it sends are recorded, and the database explains each one.

PostgreSQL reads a small table whole whatever its indexes: the planner is left only bitmap
scans there, which need an index that serves the condition itself (and its partial predicate).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, text

from organizer.db import utcnow
from organizer.extensions import db
from organizer.people.models import Person
from organizer.sms.models import (
    Conversation,
    MessageKind,
    Mobilization,
    MobilizationKind,
    MobilizationStatus,
    OutboxMessage,
    OutboxStatus,
)

PHONE, UNKNOWN_PHONE = "+13125550101", "+13125550102"


@pytest.fixture
def texts(app, org, make_user, make_action):
    """A person texted about an upcoming action (one text sent, one queued), an unknown
    number answered from the inbox, and their threads. Returns (organizer, person, mobilization)."""
    organizer = make_user("organizer")
    action = make_action(days=3)
    with app.app_context():
        now = utcnow()
        person = Person(first_name="Ana", last_name="Reyes", phone=PHONE)
        mobilization = Mobilization(title="Hearing", body="Hearing Tuesday", kind=MobilizationKind.BROADCAST,
                                    status=MobilizationStatus.SENDING, action_id=action.id, rsvp_prompt=True,
                                    launched_at=now, created_by_id=organizer.id)
        db.session.add_all([person, mobilization])
        db.session.flush()
        common = {"body": "Hearing Tuesday", "encoding": "GSM-7", "segments": 1, "attempts": 1,
                  "not_before": now, "created_at": now, "updated_at": now}
        db.session.add_all([
            OutboxMessage(mobilization_id=mobilization.id, person_id=person.id, phone=PHONE, sid="SM" + "1" * 32,
                          status=OutboxStatus.DELIVERED, sent_at=now, kind=MessageKind.MOBILIZATION, **common),
            OutboxMessage(person_id=person.id, phone=PHONE, status=OutboxStatus.QUEUED, kind=MessageKind.REPLY,
                          **common),
            OutboxMessage(phone=UNKNOWN_PHONE, status=OutboxStatus.SENT, sid="SM" + "2" * 32, sent_at=now,
                          kind=MessageKind.REPLY, **common),
            Conversation(phone=PHONE, person_id=person.id, last_message_at=now),
            Conversation(phone=UNKNOWN_PHONE, person_id=None, last_message_at=now),
        ])
        db.session.commit()
        return organizer.id, person.id, mobilization.id


@contextmanager
def _recording() -> Iterator[list[tuple[str, Any]]]:
    """The statements on ``sms_outbox`` sent meanwhile, with their parameters."""
    recorded: list[tuple[str, Any]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if "sms_outbox" in statement and statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            recorded.append((statement, parameters))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield recorded
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _explain(statement: str, parameters: Any, *, whole_index: bool = False) -> str:
    """The plan of one recorded statement, in a transaction rolled back afterwards."""
    connection = db.session.connection()
    try:
        if connection.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            return "\n".join(str(row[-1]) for row in rows)
        for kind in ("seqscan",) if whole_index else ("seqscan", "indexscan", "indexonlyscan"):
            connection.exec_driver_sql(f"SET LOCAL enable_{kind} = off")
        return "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters))
    finally:
        db.session.rollback()


def _plans(run: Callable[[], object], *, whole_index: bool = False) -> list[str]:
    """Run ``run`` (its writes rolled back), then explain each statement it sent on the outbox."""
    with _recording() as recorded:
        run()
    db.session.rollback()
    assert recorded, "the service sent no statement on sms_outbox"
    return [_explain(statement, parameters, whole_index=whole_index) for statement, parameters in recorded]


def _reads_no_whole_outbox(plan: str) -> bool:
    if db.session.get_bind().dialect.name == "sqlite":
        return not re.search(r"\bSCAN sms_outbox\b", plan)
    return "Seq Scan on sms_outbox" not in plan


def _sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def test_the_dispatcher_and_the_sweep_find_due_and_stale_texts_through_indexes(app, texts):
    from organizer.sms import sending

    _organizer, _person, mobilization_id = texts
    with app.app_context():
        now = utcnow()
        for run in (lambda: sending.claim_batch(mobilization_id, now, 10), lambda: sending.claim_batch(None, now, 10),
                    lambda: sending.has_due_rows(mobilization_id, now), lambda: sending.has_due_rows(None, now),
                    lambda: sending.next_due_at(mobilization_id), lambda: sending.next_due_at(None),
                    lambda: sending.reconcile_stale(now + timedelta(hours=1)),
                    lambda: sending.apply_status_callback("SM" + "1" * 32, "delivered", None, None, now)):
            for plan in _plans(run):
                assert _reads_no_whole_outbox(plan), plan


def test_an_opt_out_finds_the_numbers_waiting_texts_through_the_index_of_unsent_texts(app, texts):
    from organizer.sms import consent, sending

    with app.app_context():
        plans = _plans(lambda: consent.opt_out_phone(PHONE, "test"))
        plans += _plans(lambda: sending.wait_for_sends_in_flight(PHONE, timeout=0))
        for plan in plans:
            assert _reads_no_whole_outbox(plan), plan
        if _sqlite():
            assert all("ix_sms_outbox_phone_unsent" in plan for plan in plans), plans


def test_the_opt_out_still_cancels_the_numbers_queued_texts(app, texts):
    from organizer.sms import consent

    with app.app_context():
        consent.opt_out_phone(PHONE, "test")
        db.session.commit()
        statuses = set(db.session.scalars(select(OutboxMessage.status).where(OutboxMessage.phone == PHONE)))
    assert statuses == {OutboxStatus.DELIVERED, OutboxStatus.CANCELED}


def test_a_reply_finds_the_text_it_answers_through_indexes(app, texts):
    from organizer.sms import actions_link, after_action, inbound, rsvp_replies

    _organizer, person_id, _mobilization = texts
    with app.app_context():
        person = db.session.get(Person, person_id)
        now = utcnow()
        answered = _plans(lambda: actions_link.asked_about(person, now))
        answered += _plans(lambda: rsvp_replies.last_texted_action(person, now))
        answered += _plans(lambda: after_action.made_it_action(person, now))
        for plan in answered + _plans(lambda: inbound.person_for_phone(PHONE)):
            assert _reads_no_whole_outbox(plan), plan
        if _sqlite():
            # Texts to the person, or to their number addressed to someone else (a household).
            assert all("ix_sms_outbox_phone_created" in plan and "ix_sms_outbox_person_id" in plan
                       for plan in answered), answered


def test_threads_and_the_person_page_read_their_texts_through_indexes(app, texts):
    from organizer.auth.models import User
    from organizer.sms import inbox, outbox

    organizer_id, person_id, _mobilization = texts
    with app.app_context():
        known = db.session.scalar(select(Conversation).where(Conversation.person_id == person_id))
        unknown = db.session.scalar(select(Conversation).where(Conversation.person_id.is_(None)))
        newcomer = Person(first_name="Luz", last_name="Nueva", phone=UNKNOWN_PHONE)
        db.session.add(newcomer)
        db.session.commit()
        actor = db.session.get(User, organizer_id)
        unknown_thread = _plans(lambda: inbox.thread(unknown))
        for plan in (_plans(lambda: inbox.thread(known)) + unknown_thread
                     + _plans(lambda: inbox.match_person(unknown, newcomer, actor))
                     + _plans(lambda: outbox.recent_texts(person_id))):
            assert _reads_no_whole_outbox(plan), plan
        if _sqlite():
            assert all("ix_sms_outbox_phone_no_person" in plan for plan in unknown_thread), unknown_thread


def test_the_mobilization_pages_count_texts_through_indexes(app, texts):
    from organizer.sms import mobilizations

    _organizer, _person, mobilization_id = texts
    with app.app_context():
        mobilization = db.session.get(Mobilization, mobilization_id)
        for run in (lambda: mobilizations.progress(mobilization), lambda: mobilizations.maybe_finish(mobilization_id)):
            for plan in _plans(run):
                assert _reads_no_whole_outbox(plan), plan


def test_the_monthly_chart_and_the_equity_report_read_sent_texts_from_their_partial_indexes(app, texts):
    from organizer.auth.models import User
    from organizer.reports.services import EquityQuery, default_period, equity_report
    from organizer.sms import charts

    organizer_id, _person, _mobilization = texts
    with app.app_context():
        organizer = db.session.get(User, organizer_id)
        chart = _plans(lambda: charts.monthly_texts(organizer, ZoneInfo("America/Chicago"), utcnow()))
        # The report reads the covering index whole, in person order (see ``reports.services._facts``).
        report = _plans(lambda: equity_report(EquityQuery(period=default_period(date.today()))), whole_index=True)
        for plan in chart:
            assert _reads_no_whole_outbox(plan), plan
            # PostgreSQL's choice on an empty table says nothing of its choice on a million texts.
            assert "ix_sms_outbox_status_sent" in plan or not _sqlite(), plan
        assert any("ix_sms_outbox_person_sent_status" in plan for plan in report) or not _sqlite(), report
        for plan in report:
            if _sqlite():
                assert not re.search(r"\bSCAN sms_outbox\b(?! USING COVERING INDEX)", plan), plan
            else:
                assert _reads_no_whole_outbox(plan), plan


def test_the_sent_texts_count_in_the_chart_and_not_the_waiting_ones(app, texts):
    from organizer.auth.models import User
    from organizer.sms import charts

    organizer_id, _person, _mobilization = texts
    with app.app_context():
        months = charts.monthly_texts(db.session.get(User, organizer_id), ZoneInfo("America/Chicago"),
                                      utcnow() + timedelta(minutes=1))
    # The delivered text and the reply to the unknown number; not the queued one.
    assert sum(m.sent for m in months) == 2


PARTIAL = {
    "uq_sms_outbox_sid": "sid IS NOT NULL",
    "ix_sms_outbox_status_not_before": "sid IS NULL",
    "ix_sms_outbox_phone_unsent": "sid IS NULL",
    "ix_sms_outbox_phone_created": "sid IS NOT NULL",
    "ix_sms_outbox_phone_no_person": "person_id IS NULL",
    "ix_sms_outbox_person_sent_status": "sent_at IS NOT NULL",
    "ix_sms_outbox_status_sent": "sent_at IS NOT NULL",
}


def test_the_migrations_make_the_outbox_indexes_partial_and_keep_one_whole_index_by_person(app):
    with app.app_context():
        connection = db.session.connection()
        if connection.dialect.name == "sqlite":
            sql = dict(connection.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sms_outbox' "
                "AND sql IS NOT NULL")).all())
        else:
            sql = dict(connection.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'sms_outbox'")).all())
    for name, condition in PARTIAL.items():
        where = re.sub(r"[()]", "", sql[name].split(" WHERE ", 1)[1]) if " WHERE " in sql[name] else ""
        assert where.strip() == condition, sql[name]
    assert " WHERE " not in sql["ix_sms_outbox_person_id"]
    assert " WHERE " not in sql["ix_sms_outbox_mobilization_status_sid"]


def test_the_outbox_keeps_its_report_triggers_after_sqlite_copied_the_table(app):
    """SQLite drops the SID's constraint by copying the table, and the old table's triggers go
    with it: the reports' data version (``reports.data_version``) needs them back."""
    with app.app_context():
        connection = db.session.connection()
        if connection.dialect.name != "sqlite":
            pytest.skip("PostgreSQL alters the table in place")
        triggers = set(connection.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'sms_outbox'")).scalars())
    # The data version's and, added after the copy, the changed people's log (``reports.maintained``).
    assert triggers == {f"report_{kind}_sms_outbox_{event}" for kind in ("data", "change")
                        for event in ("insert", "update", "delete")}
