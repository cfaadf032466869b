"""A launch writes its texts without loading its audience (issue 11): the database judges who
may be texted and writes the text of everyone alone at their number; only the numbers several
people of the audience share, or that wait for staff, are loaded. These tests pin that the rows
are exactly what the audience rules (``resolve_audience``, which the preview shows) say, and that
a launch runs the same statements whatever the size of its audience."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from organizer.auth.models import User
from organizer.db import in_values
from organizer.extensions import db
from organizer.people.models import Person, PhoneConflict, PhoneConflictStatus, SmsConsent
from organizer.sms import encoding, services
from organizer.sms.audiences import AudienceFilter, launch_audience, resolve_audience
from organizer.sms.compose import full_body, render
from organizer.sms.models import (
    Mobilization,
    MobilizationKind,
    OutboxMessage,
    OutboxStatus,
    PhoneFlag,
    PhoneOptOut,
)

HOME, ROSAS, SHARED_HELD, LONE_HELD, STOPPED, FLAGGED = (f"+1312555{n:04d}" for n in range(9001, 9007))
# 144 characters and the name: "Ana" fits one segment, "Bartholomew-Alexander" needs two.
LONG_BODY = "Hearing at City Hall on Tuesday at 6pm about the bus lines; bring a neighbor, we need the room full " \
            "and loud. Reply if you need a ride, please, {first_name}"


def _add(*people: Person) -> list[int]:
    db.session.add_all(people)
    db.session.flush()
    return [p.id for p in people]


def _crowd(n: int) -> None:
    """``n`` people alone at their number, and one of every other case a launch must get right."""
    db.session.add_all(Person(first_name=f"Pat{i}", last_name="Resident", phone=f"+1773555{i:04d}",
                              sms_consent=SmsConsent.OPTED_IN) for i in range(n))
    ids = _add(
        Person(first_name="Robert", preferred_name="Bob", last_name="Preferred", phone="+17735559001"),
        Person(first_name="Blank", preferred_name="", last_name="Preferred", phone="+17735559002"),
        Person(first_name="Huong", preferred_name="Nguyễn", last_name="Ucs", phone="+17735559003"),
        Person(first_name="Bartholomew-Alexander", last_name="Long", phone="+17735559004"),
        Person(first_name="Opted", last_name="Self", phone="+17735559005", sms_consent=SmsConsent.OPTED_OUT),
        # A number its other holder opted out (STOP): nobody at it is texted.
        Person(first_name="Stopper", last_name="Holder", phone=STOPPED, sms_consent=SmsConsent.OPTED_OUT),
        Person(first_name="Sharer", last_name="Holder", phone=STOPPED, sms_consent=SmsConsent.OPTED_IN),
        Person(first_name="Nophone", last_name="None", phone=None),
        Person(first_name="Flagged", last_name="Number", phone=FLAGGED),
        Person(first_name="María", last_name="López", phone=HOME),
        Person(first_name="José", last_name="López", phone=HOME),
        Person(first_name="Rosa", last_name="Twice", phone=ROSAS),
        Person(first_name="ROSA", last_name="Twice", phone=ROSAS),
        Person(first_name="Free", last_name="Holder", phone=SHARED_HELD),
        Person(first_name="Held", last_name="Copy", phone=SHARED_HELD),
        Person(first_name="Waiting", last_name="Alone", phone=LONE_HELD),
        Person(first_name="Gone", last_name="Archived", phone="+17735559009", archived_at=func.now()),
    )
    held_copy, waiting = ids[14], ids[15]
    db.session.add_all([
        PhoneOptOut(phone=STOPPED, source="SMS STOP reply"),
        PhoneFlag(phone=FLAGGED, reason="invalid", error_code=21211),
        PhoneConflict(person_id=held_copy, phone=SHARED_HELD, status=PhoneConflictStatus.OPEN),
        PhoneConflict(person_id=waiting, phone=LONE_HELD, status=PhoneConflictStatus.OPEN),
    ])
    db.session.commit()


def _draft(actor: User, body: str = "Hi {first_name}, hearing Tuesday!", **audience) -> Mobilization:
    mobilization = services.save_mobilization(None, title="Hearing", body=body, audience=AudienceFilter(**audience),
                                              actor=actor)
    db.session.commit()
    return mobilization


def _rows(mobilization_id: int) -> set[tuple]:
    return set(db.session.execute(
        select(OutboxMessage.person_id, OutboxMessage.phone, OutboxMessage.body, OutboxMessage.encoding,
               OutboxMessage.segments, OutboxMessage.status)
        .where(OutboxMessage.mobilization_id == mobilization_id)).all())


def _expected_rows(mobilization: Mobilization, actor: User) -> tuple[services.AudienceCount, set[tuple]]:
    """What the audience rules say the launch writes, from ``resolve_audience``'s recipients."""
    audience = resolve_audience(actor, AudienceFilter.from_json(mobilization.audience), mobilization.id)
    template = full_body(mobilization)
    rows = set()
    for r in audience.recipients:
        body = render(template, {"first_name": r.greeting_name})
        info = encoding.analyze(body)
        rows.add((r.person_id, r.phone, body, info.encoding, info.segments,
                  OutboxStatus.HELD if r.held else OutboxStatus.QUEUED))
    return audience, rows


@pytest.mark.parametrize("body", ["Hi {first_name}, hearing Tuesday!", LONG_BODY])
def test_a_launch_writes_exactly_what_the_audience_rules_say(app, make_user, body):
    organizer = make_user("organizer")
    with app.app_context():
        _crowd(30)
        actor = db.session.get(User, organizer.id)
        mobilization = _draft(actor, body)
        expected, expected_rows = _expected_rows(mobilization, actor)

        launched = services.launch(mobilization, actor)
        db.session.commit()

        rows = _rows(mobilization.id)
        assert rows == expected_rows
        assert len({phone for _id, phone, *_ in rows}) == len(rows) == expected.count == 30 + 8
        m = db.session.get(Mobilization, mobilization.id)
        assert (m.recipients, m.excluded_opted_out, m.excluded_no_phone, m.excluded_invalid,
                m.excluded_duplicate) == (expected.count, expected.opted_out, expected.no_phone,
                                          expected.invalid_phone, expected.duplicate) == (38, 3, 1, 1, 1)
        assert (launched.matched, launched.shared, launched.held) == (expected.matched, expected.shared, 1)
        by_phone = {phone: (text, enc, segments, status) for _id, phone, text, enc, segments, status in rows}
        greeting = body.replace("{first_name}", "María & José")
        assert by_phone[HOME][0] == greeting and by_phone[ROSAS][0] == body.replace("{first_name}", "Rosa")
        assert by_phone["+17735559001"][0] == body.replace("{first_name}", "Bob")
        assert by_phone["+17735559002"][0] == body.replace("{first_name}", "Blank")
        assert by_phone["+17735559003"][1] == "UCS-2"
        assert by_phone[SHARED_HELD][3] is OutboxStatus.QUEUED and by_phone[LONE_HELD][3] is OutboxStatus.HELD
        assert STOPPED not in by_phone and FLAGGED not in by_phone and "+17735559005" not in by_phone
        if body == LONG_BODY:
            assert (by_phone["+17735550000"][2], by_phone["+17735559004"][2]) == (1, 2)


def test_a_second_launch_writes_nothing_and_the_audience_then_counts_everyone_texted(app, make_user):
    organizer = make_user("organizer")
    with app.app_context():
        _crowd(5)
        actor = db.session.get(User, organizer.id)
        mobilization = _draft(actor)
        services.launch(mobilization, actor)
        db.session.commit()
        before = _rows(mobilization.id)

        with pytest.raises(services.MobilizationError):
            services.launch(mobilization, actor)
        db.session.rollback()
        assert _rows(mobilization.id) == before

        again = launch_audience(mobilization, actor).count
        reference = resolve_audience(actor, AudienceFilter.from_json(mobilization.audience), mobilization.id)
        assert (again.count, again.matched, again.duplicate, again.opted_out, again.no_phone, again.invalid_phone) == (
            reference.count, reference.matched, reference.duplicate, reference.opted_out, reference.no_phone,
            reference.invalid_phone) == (0, 21, 16, 3, 1, 1)


def test_leaders_reach_only_their_own_people(app, make_user, make_person):
    leader, other = make_user("leader"), make_user("leader")
    mine = [make_person(owner=leader, phone=f"+1773555{i:04d}").id for i in range(3)]
    make_person(owner=other, phone="+17735550100")
    make_person(phone="+17735550101")
    organizer = make_user("organizer")
    with app.app_context():
        # The leader's own text (one at a time, P2P) counts their list only.
        p2p = _draft(db.session.get(User, leader.id))
        assert p2p.kind is MobilizationKind.P2P
        assert services.launch(p2p, db.session.get(User, organizer.id)).count == 3
        db.session.commit()
        assert db.session.get(Mobilization, p2p.id).recipients == 3
        assert _rows(p2p.id) == set()
        # Staff texting that leader's list write their people's texts only.
        staff = db.session.get(User, organizer.id)
        broadcast = _draft(staff, owner_id=leader.id)
        services.launch(broadcast, staff)
        db.session.commit()
        assert sorted(person_id for person_id, *_ in _rows(broadcast.id)) == sorted(mine)


def test_a_launch_runs_the_same_statements_whatever_the_audiences_size(app, make_user, count_queries):
    organizer = make_user("organizer")
    statements = {}
    with app.app_context():
        actor = db.session.get(User, organizer.id)
        _crowd(4)
        for size in (4, 60):
            if size == 60:
                db.session.add_all(Person(first_name=f"More{i}", last_name="Resident", phone=f"+1708555{i:04d}")
                                   for i in range(size - 4))
                db.session.commit()
            mobilization = _draft(actor)
            with count_queries() as q:
                launched = services.launch(mobilization, actor)
            db.session.commit()
            assert launched.count == size + 8
            # The statements themselves, not only their number: no list of ids or numbers grows
            # with the audience (ids differ only as bound values).
            statements[size] = q.statements
    assert statements[4] == statements[60]
    assert len(statements[4]) <= 12, statements[4]


def test_in_values_binds_any_number_of_values_as_one_parameter(app, make_person):
    wanted = [make_person(phone=f"+1773555{i:04d}") for i in range(3)]
    other = make_person(phone="+17735550100")
    # More values than SQLite allows parameters in one statement.
    phones = [p.phone for p in wanted] + [f"+1312{i:07d}" for i in range(40_000)]
    with app.app_context():
        found = set(db.session.scalars(select(Person.id).where(in_values(Person.phone, phones))))
        assert found == {p.id for p in wanted}
        assert set(db.session.scalars(select(Person.id).where(~in_values(Person.phone, phones)))) == {other.id}
        assert set(db.session.scalars(select(Person.id).where(in_values(Person.phone, [])))) == set()


def test_an_audience_without_shared_numbers_is_read_once_before_its_texts_are_written(app, make_user,
                                                                                       count_queries):
    organizer = make_user("organizer")
    with app.app_context():
        _add(*(Person(first_name=f"Pat{i}", last_name="Resident", phone=f"+1773555{i:04d}") for i in range(5)),
             Person(first_name="Opted", last_name="Self", phone="+17735559005", sms_consent=SmsConsent.OPTED_OUT))
        db.session.commit()
        actor = db.session.get(User, organizer.id)
        mobilization = _draft(actor)
        expected, expected_rows = _expected_rows(mobilization, actor)
        with count_queries() as q:
            launched = services.launch(mobilization, actor)
        db.session.commit()
        assert _rows(mobilization.id) == expected_rows
        assert (launched.count, launched.opted_out, launched.matched) == (expected.count, 1, 6) == (5, 1, 6)
        # One statement reads the people (the aggregate of the judged audience), one writes
        # their texts; no GROUP BY phone looks for households where there are none.
        reading_people = [s for s in q.statements if "FROM people " in s or "FROM people\n" in s]
        assert len(reading_people) == 2, reading_people
        assert reading_people[1].lstrip().startswith("INSERT INTO sms_outbox")
        assert not any("GROUP BY" in s for s in q.statements)


@pytest.mark.parametrize("alone_too", [False, True])
def test_a_name_only_a_household_member_goes_by_is_judged_in_the_households_text(app, make_user, alone_too):
    """The one pass over the audience names everyone free to text, a household's members
    too. A name only a household member goes by whose own text would be too long must not
    refuse the launch when the household's text (addressed to a name that folds the same)
    fits; the same name on someone alone at their number does."""
    organizer = make_user("organizer")
    first, same_folded = "Großstraßenmann", "Grossstrassenmann"  # 15 and 17 characters, one fold
    body = "x" * (encoding.MAX_BODY_CHARS - len(first)) + "{first_name}"  # exactly full for the first
    with app.app_context():
        _add(Person(first_name=first, last_name="Home", phone=HOME),
             Person(first_name=same_folded, last_name="Home", phone=HOME),
             Person(first_name="Ana", last_name="Alone", phone="+17735550001"))
        if alone_too:
            _add(Person(first_name=same_folded, last_name="Alone", phone="+17735550002"))
        db.session.commit()
        actor = db.session.get(User, organizer.id)
        mobilization = _draft(actor, body)
        if alone_too:
            with pytest.raises(services.MobilizationError, match=same_folded):
                services.launch(mobilization, actor)
            return
        expected, expected_rows = _expected_rows(mobilization, actor)
        launched = services.launch(mobilization, actor)
        db.session.commit()
        assert _rows(mobilization.id) == expected_rows
        assert (launched.count, launched.shared) == (expected.count, expected.shared) == (2, 1)
        assert len(body.replace("{first_name}", first)) == encoding.MAX_BODY_CHARS
