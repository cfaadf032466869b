"""The schema is built by the migrations alone, and they agree with the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import organizer.models  # noqa: F401
from organizer.extensions import db
from organizer.people.search_index import include_name


def test_upgrade_on_an_empty_database_creates_every_table(database_url):
    # ``database_url`` was empty before the session fixture ran ``flask db upgrade``.
    engine = create_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {t.name for t in db.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            # The search index is left aside as the migrations' env.py does: the models cannot
            # describe it (tests/people/test_search_index.py pins it instead).
            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
            differences = compare_metadata(context, db.metadata)
    finally:
        engine.dispose()
    assert differences == [], f"models differ from migrations; add a revision: {differences}"


# Triggers per table at the head revision. The models cannot describe triggers, so the check
# above cannot see one go missing; and on SQLite a migration that rebuilds a table
# (``batch_alter_table``) drops that table's triggers without a word, after which the reports'
# cache and the turnout counts silently stop following the data. A migration that rebuilds one
# of these tables recreates its triggers; one that adds triggers updates these numbers.
TRIGGERS_AT_HEAD = {
    "sqlite": {"actions": 6, "attendances": 9, "campaign_institutions": 3, "campaign_wins": 3, "memberships": 9,
               "one_to_ones": 6, "people": 9, "person_pipeline": 6, "person_race_ethnicities": 6, "rsvps": 9,
               "sms_inbound": 6, "sms_outbox": 6, "stage_moves": 6, "stages": 6, "turnout_commitments": 3},
    # Statement triggers (one per table for the data version), row triggers for the counts and
    # for the changed people's log (with a statement trigger for TRUNCATE).
    "postgresql": {"actions": 2, "attendances": 5, "campaign_institutions": 1, "campaign_wins": 1,
                   "memberships": 5, "one_to_ones": 3, "people": 3, "person_pipeline": 3,
                   "person_race_ethnicities": 3, "rsvps": 5, "sms_inbound": 3, "sms_outbox": 4, "stage_moves": 3,
                   "stages": 2, "turnout_commitments": 1},
}


def test_every_table_keeps_its_triggers_at_head(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                rows = conn.exec_driver_sql(
                    "SELECT tbl_name, count(*) FROM sqlite_master WHERE type = 'trigger' GROUP BY tbl_name")
            else:
                rows = conn.exec_driver_sql(
                    "SELECT c.relname, count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal GROUP BY c.relname")
            triggers = {table: count for table, count in rows}
    finally:
        engine.dispose()
    assert triggers == TRIGGERS_AT_HEAD[engine.dialect.name], (
        "a migration dropped or added triggers: if it rebuilt a table on SQLite, recreate that table's "
        "triggers in the same migration; if it added some on purpose, update TRIGGERS_AT_HEAD")


def test_the_app_enforces_foreign_keys_on_sqlite_after_migrating_in_the_same_process(tmp_path):
    """The migrations turn SQLite's foreign keys off to rebuild tables; the connection they used
    goes back to the app's pool, so they turn them on again (else a person deleted afterwards
    left their consent history behind, pointing at nobody)."""
    from flask_migrate import upgrade

    from organizer import create_app

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'migrated.sqlite3'}"})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:  # the pool's one connection: the migrations' own
            enforced = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
        db.engine.dispose()
    assert enforced == 1


def test_the_search_key_migration_fills_the_key_of_people_already_there(tmp_path):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from organizer import create_app

    url = f"sqlite:///{tmp_path / 'before.sqlite3'}"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision="56175426aa5b")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO people (first_name, last_name, preferred_name, email, sms_consent, "
                "created_at, updated_at) VALUES ('María', 'Núñez', 'Mari', 'MN@example.org', "
                "'unknown', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ))
        upgrade()
        with db.engine.connect() as conn:
            key = conn.execute(text("SELECT search_key FROM people")).scalar_one()
        db.engine.dispose()
    assert key == "maria nunez | mari | mn@example.org"
