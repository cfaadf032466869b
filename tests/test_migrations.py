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
