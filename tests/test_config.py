"""Configuration by environment; production refuses to run without a real secret."""

import pytest

from config import load_config
from organizer import create_app


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")


def test_production_refuses_a_short_secret_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "too-short")
    with pytest.raises(RuntimeError):
        load_config("production")


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    config = load_config("production")
    assert config.SESSION_COOKIE_SECURE and config.SESSION_COOKIE_HTTPONLY
    assert config.SESSION_COOKIE_SAMESITE == "Lax"


def test_database_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1/x")
    assert load_config("development").SQLALCHEMY_DATABASE_URI.startswith("postgresql+psycopg://")


def test_unknown_environment_is_an_error():
    with pytest.raises(ValueError, match="unknown ORGANIZER_ENV"):
        load_config("staging")


def test_passwords_outside_the_test_suite_are_hashed_with_scrypt(monkeypatch):
    """Only the suite asks for a cheap hash method; every real environment keeps Werkzeug's scrypt."""
    from organizer.auth.models import User

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    for environment in ("development", "production"):
        app = create_app(environment, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
        assert app.config.get("PASSWORD_HASH_METHOD") is None
        with app.app_context():
            user = User(email="a@example.org", name="A")
            user.set_password("correct horse battery")
        assert user.password_hash.startswith("scrypt:")
        assert user.check_password("correct horse battery")


def test_every_sqlite_connection_shares_the_file_waits_for_writers_and_caches_what_a_view_reads(app):
    """WAL (the web server and the worker at once), a busy timeout, foreign keys, and a page
    cache sized for the pages a view reads (the default 2 MB reread a turnout list's people)."""
    from organizer.db import SQLITE_BUSY_TIMEOUT_MS, SQLITE_CACHE_KIB
    from organizer.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's connection settings")
        with db.engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
            assert pragma("cache_size") == -SQLITE_CACHE_KIB
            if db.engine.url.database not in (None, "", ":memory:"):
                assert pragma("journal_mode") == "wal"
