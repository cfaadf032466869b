"""Merging two records of one person keeps every related row of both, and an admin's undo puts
every table back exactly as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from organizer.extensions import db

# The merge's own record and its audit trail, and the reports' data version and change log (kept by
# triggers on every write: bookkeeping, not data).
SKIP_IN_DUMP = {"audit_events", "person_merges", "report_data_versions", "report_changes", "report_change_horizon"}


def _dump() -> dict[str, list[tuple]]:
    """Every row of every table, sorted: what "exactly as it was" is compared on."""
    dumped = {}
    for table in db.Model.metadata.sorted_tables:
        if table.name in SKIP_IN_DUMP:
            continue
        rows = [tuple(repr(v) for v in r) for r in db.session.execute(select(table))]
        dumped[table.name] = sorted(rows)
    return dumped


def _related_counts(ids: list[int]) -> dict[tuple[str, str], int]:
    from organizer.people.merging import person_foreign_keys

    return {(t.name, c.name): db.session.scalar(select(func.count()).select_from(t).where(c.in_(ids)))
            for t, c in person_foreign_keys()}


@pytest.fixture
def demo(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


def _busiest_pair():
    """The two people with the most related rows (the demo gives them RSVPs, texts, meetings...)."""
    from organizer.people.merging import person_foreign_keys
    from organizer.people.models import Person

    totals: dict[int, int] = {}
    for table, column in person_foreign_keys():
        for person_id, n in db.session.execute(select(column, func.count()).group_by(column)):
            if person_id is not None:
                totals[person_id] = totals.get(person_id, 0) + n
    staff_people = [p for p in db.session.scalars(select(Person).where(Person.archived_at.is_(None)))]
    ranked = sorted((p.id for p in staff_people), key=lambda pid: -totals.get(pid, 0))
    return db.session.get(Person, ranked[0]), db.session.get(Person, ranked[1])


def test_every_foreign_key_to_people_is_re_pointed(app, demo):
    """A new table with a person column is covered without being listed: the merge reads the
    metadata. Nothing in any table may still point at the merged-away person."""
    from organizer.auth.models import Role, User
    from organizer.people.merging import merge_people, person_foreign_keys

    with app.app_context():
        every_fk = {(t.name, fk.parent.name) for t in db.Model.metadata.sorted_tables for fk in t.foreign_keys
                    if fk.column.table.name == "people"}
        assert {(t.name, c.name) for t, c in person_foreign_keys()} == every_fk
        admin = db.session.scalar(select(User).where(User.role == Role.ADMIN))
        kept, other = _busiest_pair()
        other_id = other.id
        merge_people(kept, other, {}, admin)
        db.session.commit()
        for table_name, column_name in every_fk:
            table = db.Model.metadata.tables[table_name]
            assert db.session.scalar(select(func.count()).select_from(table)
                                     .where(table.c[column_name] == other_id)) == 0, table_name


def test_merge_keeps_every_related_row_and_undo_restores_every_table(app, demo):
    from organizer.actions.models import Attendance, Rsvp, RsvpSource, RsvpStatus
    from organizer.auth.models import Role, User
    from organizer.institutions.models import Membership
    from organizer.people.merging import merge_people, undo_merge
    from organizer.people.models import Person, PersonMerge

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.role == Role.ADMIN))
        kept, other = _busiest_pair()
        kept_id, other_id = kept.id, other.id
        # Conflicts under unique constraints: both answered the same action, the other said yes.
        action_id = db.session.scalar(select(Rsvp.action_id).where(Rsvp.person_id == kept_id).limit(1))
        if action_id is None:
            action_id = db.session.scalar(select(Rsvp.action_id).limit(1))
            db.session.add(Rsvp(action_id=action_id, person_id=kept_id, status=RsvpStatus.NO,
                                source=RsvpSource.ORGANIZER))
        db.session.execute(Rsvp.__table__.update().where(Rsvp.action_id == action_id, Rsvp.person_id == kept_id)
                           .values(status=RsvpStatus.NO))
        db.session.execute(Rsvp.__table__.delete().where(Rsvp.action_id == action_id, Rsvp.person_id == other_id))
        db.session.add(Rsvp(action_id=action_id, person_id=other_id, status=RsvpStatus.YES,
                            source=RsvpSource.ORGANIZER))
        if not db.session.scalar(select(Attendance.id).where(Attendance.action_id == action_id,
                                                             Attendance.person_id == kept_id)):
            db.session.add(Attendance(action_id=action_id, person_id=kept_id))
        if not db.session.scalar(select(Attendance.id).where(Attendance.action_id == action_id,
                                                             Attendance.person_id == other_id)):
            db.session.add(Attendance(action_id=action_id, person_id=other_id))
        institution_id = db.session.scalar(select(Membership.institution_id).limit(1))
        for pid in (kept_id, other_id):
            if not db.session.scalar(select(Membership.id).where(Membership.person_id == pid,
                                                                 Membership.institution_id == institution_id)):
                db.session.add(Membership(person_id=pid, institution_id=institution_id))
        db.session.commit()

        before = _dump()
        counts_before = _related_counts([kept_id, other_id])
        assert sum(1 for n in counts_before.values() if n) >= 8  # the demo pair touches many tables
        kept, other = db.session.get(Person, kept_id), db.session.get(Person, other_id)
        merge = merge_people(kept, other, {"first_name": "other"}, admin)
        db.session.commit()
        merge_id = merge.id

        assert db.session.get(Person, other_id) is None
        counts_after = _related_counts([kept_id])
        for (table, column), n in counts_before.items():
            if table == "person_pipeline":
                continue  # one row per person, recomputed for the merged person
            # Every row of both is on the kept person, but a twin that a unique constraint allows
            # once (kept whole in the merge record) or a link emptied where the row must stay.
            dropped = sum(1 for d in merge.changes["dropped"] if d["table"] == table
                          and d["row"][column] in (kept_id, other_id))
            unlinked = sum(1 for m in merge.changes["moved"] if m["table"] == table and m["column"] == column
                           and m["new"] is None)
            assert counts_after[(table, column)] + dropped + unlinked == n, table
        # The other's "yes" told more than the kept person's "no": it is the one kept.
        assert db.session.scalar(select(Rsvp.status).where(Rsvp.action_id == action_id,
                                                           Rsvp.person_id == kept_id)) == RsvpStatus.YES
        assert db.session.scalar(select(func.count()).select_from(Attendance).where(
            Attendance.action_id == action_id, Attendance.person_id == kept_id)) == 1
        assert db.session.get(Person, kept_id).first_name == before_first_name(before, other_id)

        undo_merge(db.session.get(PersonMerge, merge_id), admin)
        db.session.commit()
        after = _dump()
        for name in before:
            assert after[name] == before[name], name


def before_first_name(dump: dict[str, list[tuple]], person_id: int) -> str:
    from organizer.people.models import Person

    columns = [c.name for c in Person.__table__.columns]
    for row in dump["people"]:
        if row[columns.index("id")] == repr(person_id):
            return eval(row[columns.index("first_name")])  # noqa: S307 - our own repr of a str
    raise AssertionError(person_id)


def test_undo_is_refused_after_thirty_days(app, make_user, make_person):
    from organizer.people.merging import MergeError, merge_people, undo_merge
    from organizer.people.models import Person, PersonMerge

    admin = make_user("admin")
    a, b = make_person(first_name="Ana", last_name="Lopez"), make_person(first_name="Ana", last_name="López")
    with app.app_context():
        from organizer.auth.models import User

        actor = db.session.get(User, admin.id)
        merge = merge_people(db.session.get(Person, a.id), db.session.get(Person, b.id), {}, actor)
        merge.merged_at = merge.merged_at - timedelta(days=31)
        db.session.commit()
        with pytest.raises(MergeError):
            undo_merge(db.session.get(PersonMerge, merge.id), actor)
