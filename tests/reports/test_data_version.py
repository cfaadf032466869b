"""Bulk inserts bump the reports' data version once (``reports.data_version.bulk_inserts``):
the version still changes with the data, the triggers are all there afterwards, and a
rolled-back load changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from organizer.db import insert_rows, reserve_ids
from organizer.extensions import db


def _versions() -> tuple:
    return tuple(db.session.execute(text("SELECT slot, version, stamp FROM report_data_versions ORDER BY slot")))


def _triggers() -> list[tuple[str, str]]:
    if db.session.get_bind().dialect.name == "sqlite":
        return list(db.session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")))
    return list(db.session.execute(text(
        "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname")))


def _load(names: list[str]) -> None:
    from organizer.people.models import Person, PersonSource, SmsConsent

    connection = db.session.connection()
    people = Person.__table__
    now = datetime.now(UTC)
    rows = [(pid, name, "Bulk", SmsConsent.UNKNOWN, now, now, PersonSource.IMPORT, name.lower())
            for pid, name in zip(reserve_ids(connection, people, len(names)), names, strict=True)]
    insert_rows(connection, people, ("id", "first_name", "last_name", "sms_consent", "created_at", "updated_at",
                                     "source", "search_key"), rows)


def test_a_bulk_insert_changes_the_version_and_leaves_every_trigger_in_place(app):
    from organizer.reports.data_version import bulk_inserts

    with app.app_context():
        triggers, before = _triggers(), _versions()
        assert triggers, "the migration installs the reports' triggers"
        with bulk_inserts(db.session.connection(), ("people",)):
            _load(["Ana", "Beto", "Chen"])
        db.session.commit()
        assert _versions() != before
        assert _triggers() == triggers
        assert db.session.scalar(select(func.count()).select_from(text("people"))) == 3

        # The triggers work again after the block: a single insert bumps the version as always.
        after = _versions()
        _load(["Dana"])
        db.session.commit()
        assert _versions() != after


def test_a_bulk_insert_rolled_back_leaves_no_row_no_bump_and_every_trigger(app):
    from organizer.reports.data_version import bulk_inserts

    with app.app_context():
        _load(["Zoe"])  # a version row to compare
        db.session.commit()
        triggers, before = _triggers(), _versions()
        with pytest.raises(RuntimeError, match="a row is wrong"), \
                bulk_inserts(db.session.connection(), ("people", "person_race_ethnicities")):
            _load(["Ana", "Beto"])
            raise RuntimeError("a row is wrong")
        db.session.rollback()
        assert _versions() == before
        assert _triggers() == triggers
        assert db.session.scalar(select(func.count()).select_from(text("people"))) == 1


def test_rows_written_in_bulk_read_back_as_the_orm_writes_them(app, make_person):
    """``insert_rows`` converts timestamps and enums as the ORM does (once per distinct value)."""
    from organizer.people.models import Person, PersonSource, SmsConsent

    when = datetime(2026, 11, 29, 18, 30, tzinfo=UTC)
    written = make_person(first_name="Orm", sms_consent=SmsConsent.OPTED_IN, sms_consent_at=when,
                          source=PersonSource.IMPORT)
    with app.app_context():
        _load(["Bulk"])
        connection = db.session.connection()
        insert_rows(connection, Person.__table__, ("id", "first_name", "last_name", "sms_consent", "sms_consent_at",
                                                   "created_at", "updated_at", "source", "search_key"),
                    [(pid, "Bulk2", "", SmsConsent.OPTED_IN, when, when, when, PersonSource.IMPORT, "bulk2")
                     for pid in reserve_ids(connection, Person.__table__, 1)])
        db.session.commit()
        raw = "SELECT sms_consent, sms_consent_at, source FROM people WHERE first_name = :name"
        assert (db.session.execute(text(raw), {"name": "Bulk2"}).one()
                == db.session.execute(text(raw), {"name": "Orm"}).one())
        bulk = db.session.scalar(select(Person).where(Person.first_name == "Bulk2"))
        assert bulk.sms_consent is SmsConsent.OPTED_IN and bulk.sms_consent_at == when
        ids = db.session.scalars(select(Person.id).order_by(Person.id)).all()
        assert len(set(ids)) == 3 and written.id in ids
