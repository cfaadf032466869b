"""The reports' cache: a cached dashboard or scorecard always equals the one computed from
scratch, after every kind of write (page-style ORM edits, imports, Core bulk inserts of texts,
status callbacks, opt-outs, RSVPs, check-ins, stage moves) and when an action's start passes;
and a repeat view with nothing changed runs no counting query."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text, update

from organizer.extensions import db

from tests.reports.conftest import assert_same_as_from_scratch


def test_a_repeat_view_with_nothing_changed_runs_no_counting_query(cached_app, world, login_as, computed,
                                                                    count_queries):
    client = login_as(world["organizer"]).client
    assert client.get("/reports/equity?split=race").status_code == 200
    assert client.get(f"/campaigns/{world['campaign']}/scorecard").status_code == 200
    assert computed == {"equity": 1, "equity_changed_people": 0, "scorecard": 2}  # the scorecard's period and the one before
    with count_queries() as cold:
        assert client.get("/reports/equity?split=neighborhood").status_code == 200
    with count_queries() as warm:
        assert client.get("/reports/equity?split=neighborhood").status_code == 200
    assert client.get("/reports/equity?split=race").status_code == 200
    assert client.get(f"/campaigns/{world['campaign']}/scorecard").status_code == 200
    assert computed == {"equity": 2, "equity_changed_people": 0, "scorecard": 2}
    # The repeat view ran no counting query (above); instead it reads where the change log
    # stands (and, on PostgreSQL, who changed): never more queries than the first view.
    assert warm.count <= cold.count


def test_an_edit_the_reports_do_not_count_keeps_the_cache(cached_app, world, login_as, computed):
    from organizer.people.models import Person

    client = login_as(world["organizer"]).client
    client.get("/reports/equity")
    with cached_app.app_context():
        db.session.get(Person, world["people"][0]).first_name = "Renamed"
        db.session.commit()
    client.get("/reports/equity")
    assert computed["equity"] == 1
    with cached_app.app_context():
        db.session.get(Person, world["people"][0]).preferred_language = "vi"
        db.session.commit()
    assert client.get("/reports/equity?split=language").status_code == 200
    assert computed["equity"] == 2  # a preferred language is a split: counted again


def test_the_cached_reports_equal_a_computation_from_scratch_after_every_kind_of_write(
        cached_app, world, computed, make_user, monkeypatch):
    from organizer.actions.models import (
        Action,
        ActionType,
        Attendance,
        Rsvp,
        RsvpSource,
        RsvpStatus,
    )
    from organizer.auth.models import User
    from organizer.institutions.models import Membership
    from organizer.people.importing import check_import, import_people
    from organizer.people.models import Person, PersonRaceEthnicity, RaceEthnicity, SmsConsent
    from organizer.relational.models import OneToOne, PersonPipeline, Stage, StageMove
    from organizer.relational.services import local_today
    from organizer.reports.services import TOTAL, EquityQuery, default_period, equity_report
    from organizer.sms.models import Conversation, InboundMessage, OutboxMessage

    app, rng, people = cached_app, world["rng"], world["people"]
    admin = make_user("admin")
    assert_same_as_from_scratch(app)
    now = datetime.now(UTC)

    from organizer.reports import maintained

    # Every view of the check kept at once, so each is brought up to date from the change log
    # rather than pushed out by the others and counted from scratch.
    monkeypatch.setattr(maintained, "SIZE", 64)

    def step(change) -> None:
        before = dict(computed)
        with app.app_context():
            change()
            db.session.commit()
        assert_same_as_from_scratch(app)
        assert computed["equity"] > before["equity"], change.__name__  # the change was seen
        if change is not import_file:  # SQLite's bulk import logs "everyone": counted from scratch
            assert computed["equity_changed_people"] > before["equity_changed_people"], change.__name__

    def add_race():
        db.session.add(PersonRaceEthnicity(person_id=people[1], value=RaceEthnicity.ASIAN))

    def archive():
        db.session.get(Person, people[2]).archived_at = now

    def one_to_one():
        for pid in rng.sample(people, 6):
            db.session.add(OneToOne(person_id=pid, held_by_id=world["organizer"].id, held_on=local_today()))

    def rsvp_core():
        taken = set(db.session.execute(select(Rsvp.action_id, Rsvp.person_id)).all())
        rows = [{"action_id": a, "person_id": p, "status": RsvpStatus.YES, "source": RsvpSource.SMS}
                for a in world["actions"] for p in rng.sample(people, 5) if (a, p) not in taken]
        db.session.execute(insert(Rsvp), rows)

    def check_in():
        taken = set(db.session.execute(select(Attendance.action_id, Attendance.person_id)).all())
        for pid in rng.sample(people, 8):
            if (world["actions"][0], pid) not in taken:
                db.session.add(Attendance(action_id=world["actions"][0], person_id=pid, walk_in=True))

    def texts_bulk():
        db.session.execute(insert(OutboxMessage), [
            {"person_id": pid, "phone": f"+1555010{i:04d}", "body": "Hearing Tuesday", "encoding": "GSM-7",
             "segments": 1, "status": "sent", "sent_at": now - timedelta(days=1)}
            for i, pid in enumerate(rng.sample(people, 12))])

    def status_callback():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id % 2 == 0).values(status="delivered"))

    def reply():
        pid = people[5]
        thread = Conversation(phone="+15550109999", person_id=pid)
        db.session.add(thread)
        db.session.flush()
        db.session.add(InboundMessage(message_sid="SMtest1", conversation_id=thread.id, person_id=pid,
                                      from_phone=thread.phone, keyword="YES"))

    def opt_out():
        db.session.execute(update(Person).where(Person.id.in_(people[6:9]))
                           .values(sms_consent=SmsConsent.OPTED_OUT.value, sms_consent_at=now))

    def move_up():
        ordered = list(db.session.scalars(select(Stage).order_by(Stage.position)))
        for pid in people[10:16]:
            db.session.add(PersonPipeline(person_id=pid, stage_id=ordered[-1].id))
            db.session.add(StageMove(person_id=pid, from_stage_id=ordered[0].id, to_stage_id=ordered[-1].id))

    def join_institution():
        taken = set(db.session.execute(select(Membership.person_id, Membership.institution_id)).all())
        for pid in people[16:22]:
            if (pid, world["churches"][0]) not in taken:
                db.session.add(Membership(person_id=pid, institution_id=world["churches"][0]))

    def import_file():
        lines = "first_name,last_name,neighborhood\n" + "".join(f"Nueva{i},Importada,Alta\n" for i in range(7))
        actor = db.session.get(User, admin.id)
        plan = check_import(actor, lines.encode(), region="US", max_bytes=10**6, max_rows=100)
        assert plan.ok
        import_people(actor, plan, owner=None, file_name="people.csv")

    def raw_sql_delete():
        db.session.execute(text("DELETE FROM attendances WHERE person_id = :p"), {"p": people[3]})

    for change in (add_race, archive, one_to_one, rsvp_core, check_in, texts_bulk, status_callback, reply,
                   opt_out, move_up, join_institution, import_file, raw_sql_delete):
        step(change)

    # An action that starts in a moment counts once it has started, with no write in between:
    # the dashboard cached just before its start is not served after it.
    with app.app_context():
        soon = datetime.now(UTC) + timedelta(seconds=6)
        action = Action(title="Starting now", type=ActionType.HEARING, timezone="UTC", starts_at=soon,
                        ends_at=soon + timedelta(hours=1))
        db.session.add(action)
        db.session.flush()
        for pid in people[20:30]:
            db.session.add(Rsvp(action_id=action.id, person_id=pid, status=RsvpStatus.YES, source=RsvpSource.LEADER))
            db.session.add(Attendance(action_id=action.id, person_id=pid))
        db.session.commit()
    with app.test_request_context():
        query = EquityQuery(default_period(local_today()))
        before_start = equity_report(query).cell("attended", TOTAL).value
        db.session.remove()
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
    assert_same_as_from_scratch(app)
    with app.test_request_context():
        assert equity_report(query).cell("attended", TOTAL).value > before_start
        db.session.remove()
