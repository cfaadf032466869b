"""Backups of the embedded SQLite database (organizer/backups/): a copy taken while others
write is whole and checked, readable by its owner only, and old copies are pruned nightly."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select

from organizer.backups.services import BackupError, backup_database, backups_in, prune_backups
from organizer.db import utcnow
from organizer.extensions import db
from organizer.people.models import Person


@pytest.fixture
def on_sqlite(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("backups here are of the embedded SQLite database")
    return app


def _people_in(path) -> int:
    copy = sqlite3.connect(path)
    try:
        return copy.execute("SELECT count(*) FROM people").fetchone()[0]
    finally:
        copy.close()


def test_a_backup_taken_while_another_connection_writes_holds_what_was_committed(on_sqlite, make_person, tmp_path):
    app = on_sqlite
    make_person(first_name="Dolores", last_name="Huerta")
    make_person(first_name="César", last_name="Chávez")
    with app.app_context():
        writer = sqlite3.connect(db.engine.url.database, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # the worker, mid-transaction, holding the write lock
        writer.execute("INSERT INTO people (first_name, last_name, sms_consent, created_at, updated_at, search_key) "
                       "VALUES ('Not', 'Committed', 'unknown', '2026-11-30', '2026-11-30', 'not committed')")
        try:
            path = backup_database(db.engine, tmp_path / "backups", utcnow())
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        committed = db.session.scalar(select(func.count()).select_from(Person))

    assert _people_in(path) == committed == 2
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # everything the federation knows about people
    assert backups_in(tmp_path / "backups") == [path]


def test_the_flask_backup_command_writes_a_copy_that_opens_as_the_app(on_sqlite, make_person, tmp_path):
    app = on_sqlite
    make_person(first_name="Dolores", last_name="Huerta")
    result = app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [path] = backups_in(tmp_path)
    assert str(path) in result.output
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT first_name FROM people").scalars().all() == ["Dolores"]
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        engine.dispose()


def test_the_nightly_task_keeps_the_newest_copies(on_sqlite, tmp_path, monkeypatch):
    app = on_sqlite
    from organizer.backups import tasks

    app.config.update(BACKUP_DIR=str(tmp_path), BACKUP_KEEP=2)
    start = utcnow()
    with app.app_context():  # the worker's task runs in the app it was given (here, the test's)
        for night in range(3):
            monkeypatch.setattr("organizer.db.utcnow", lambda night=night: start + timedelta(days=night))
            tasks.back_up_database_nightly.call_local()
        kept = backups_in(tmp_path)
        assert [p.name for p in kept] == [f"organizer-{start + timedelta(days=d):%Y%m%d-%H%M%S}.sqlite3"
                                          for d in (1, 2)]

        app.config["BACKUP_KEEP"] = 0  # nightly copies turned off
        monkeypatch.setattr("organizer.db.utcnow", lambda: start + timedelta(days=3))
        tasks.back_up_database_nightly.call_local()
    assert backups_in(tmp_path) == kept


def test_a_copy_left_half_written_by_a_crash_is_removed_once_an_hour_old(tmp_path):
    now = utcnow()
    left = tmp_path / "organizer-20261130-024100.sqlite3.partial"
    left.write_bytes(b"half")
    assert prune_backups(tmp_path, keep=14, now=now) == []  # it may still be being written
    os.utime(left, (now.timestamp() - 7200, now.timestamp() - 7200))
    assert prune_backups(tmp_path, keep=14, now=now) == [left] and not left.exists()


def test_postgresql_is_left_to_its_own_tools(app, tmp_path):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        with pytest.raises(BackupError, match="pg_dump"):
            backup_database(db.engine, tmp_path, utcnow())
    result = app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path)])
    assert result.exit_code != 0 and "pg_dump" in result.output
