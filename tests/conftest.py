"""Shared fixtures: a migrated database per test run, an app per test, clients, factories, logins.

The database is built once per run by the Alembic migrations (so every run also proves
they work) and emptied after each test. Tests use real commits: pages commit once per
request, and the worker and browser tests use other threads and processes, so a
rolled-back savepoint would hide exactly what they test.

Set ``DATABASE_URL`` to a PostgreSQL database to run the whole suite there.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from organizer import create_app
from organizer import models as every_model  # noqa: F401 - every mapper known before a test module builds a query at import
from organizer.extensions import db

#: Fixtures for every test: every page with a fixture's rows behind its URLs (``rows``), for the
#: tests that visit them all; the fake Twilio and an app texting through it.
pytest_plugins = ["tests.support.pages", "tests.support.twilio"]

PASSWORD = "correct horse battery"  # noqa: S105 - test accounts only


def _compile_each_url_builder_once() -> None:
    """Every test makes its own app, and most of ``create_app``'s time went to Werkzeug compiling
    a URL builder per route from an AST: the same 400-odd builders, test after test. A builder
    depends only on the rule's parsed parts and defaults (it takes the rule itself as an argument,
    for its converters), so one compiled per distinct rule serves every app of the run.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    compiled: dict[tuple, Any] = {}

    def once(self: Rule, append_unknown: bool = True) -> Any:
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown)
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = once  # type: ignore[method-assign]


_compile_each_url_builder_once()


# --- the database ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to the newest revision: PostgreSQL from ``DATABASE_URL``, else SQLite."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    yield url


def _empty_all_tables(app: Flask) -> None:
    with app.app_context():
        import organizer.models  # noqa: F401

        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                for table in tables:
                    conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - our own table names
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(database_url: str, tmp_path) -> Iterator[Flask]:
    """The app under test, on the migrated database, emptied afterwards."""
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "LOGIN_MAX_FAILURES": 5,
            "SERVER_NAME": None,
        },
    )
    _seed_reference_data(app)
    yield app
    _empty_all_tables(app)


def _seed_reference_data(app: Flask) -> None:
    """What the migrations seed (pipeline stages, one-to-one issues, state quiet hours), since tests empty every table."""
    from organizer.relational.services import seed_defaults
    from organizer.sms.local_time import seed_state_rules

    with app.app_context():
        seed_defaults()
        seed_state_rules()
        db.session.commit()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture(autouse=True)
def no_outside_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to somewhere other than this machine fails the test (no real Twilio, ever)."""
    real_connect = socket.socket.connect

    def guarded_connect(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and sock.family in (socket.AF_INET, socket.AF_INET6):
            if not (host.startswith("127.") or host in ("::1", "localhost")):
                raise AssertionError(f"Code tried to reach {address!r} over the network")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


# --- factories -------------------------------------------------------------------------

_serial = count(1)


def _save(app: Flask, obj: Any) -> Any:
    """Commit ``obj`` in a short app context of its own and hand it back loaded (detached)."""
    with app.app_context():
        db.session.add(obj)
        db.session.commit()
        db.session.refresh(obj)
        db.session.expunge(obj)
    return obj


@pytest.fixture
def make_user(app: Flask):
    """``make_user(role="leader", **overrides)``: an active account with the test password."""
    from organizer.auth.models import Role, User

    def make(role: str = "organizer", **overrides: Any) -> User:
        n = next(_serial)
        user = User(
            email=overrides.pop("email", f"{role}{n}@example.org"),
            name=overrides.pop("name", f"{role.title()} {n}"),
            role=Role(role),
            active=overrides.pop("active", True),
            **overrides,
        )
        with app.app_context():  # the test config's cheap hash method
            user.set_password(PASSWORD)
        return _save(app, user)

    return make


@pytest.fixture
def make_person(app: Flask):
    """``make_person(owner=user, **overrides)``: a resident, owned by ``owner`` if given."""
    from organizer.people.models import Person

    def make(owner: Any = None, **overrides: Any) -> Person:
        n = next(_serial)
        person = Person(
            first_name=overrides.pop("first_name", f"Pat{n}"),
            last_name=overrides.pop("last_name", f"Resident{n}"),
            owner_id=owner.id if owner is not None else overrides.pop("owner_id", None),
            **overrides,
        )
        return _save(app, person)

    return make


@pytest.fixture
def make_institution(app: Flask):
    from organizer.institutions.models import Institution, InstitutionType

    def make(**overrides: Any) -> Institution:
        n = next(_serial)
        institution = Institution(
            name=overrides.pop("name", f"Congregation {n}"),
            type=overrides.pop("type", InstitutionType.CONGREGATION),
            **overrides,
        )
        return _save(app, institution)

    return make


@pytest.fixture
def make_action(app):
    """``make_action(days=7, **overrides)``: an action starting ``days`` from now (negative: past)."""
    from organizer.actions.models import Action, ActionType

    def make(days: float = 7, **overrides: Any) -> Action:
        from datetime import timedelta

        from organizer.db import utcnow

        starts = overrides.pop("starts_at", utcnow() + timedelta(days=days))
        action = Action(
            title=overrides.pop("title", "Hearing on the bus"), type=overrides.pop("type", ActionType.HEARING),
            starts_at=starts, ends_at=overrides.pop("ends_at", starts + timedelta(hours=2)),
            timezone=overrides.pop("timezone", "America/Chicago"), turnout_goal=overrides.pop("turnout_goal", 50),
            **overrides,
        )
        with app.app_context():
            db.session.add(action)
            db.session.commit()
            db.session.refresh(action)
            db.session.expunge(action)
        return action

    return make


@pytest.fixture
def add_rsvp(app):
    """``add_rsvp(action, person, "yes", came=False, recruited_by=None)``: straight into the database."""
    from organizer.actions.models import Attendance, Rsvp, RsvpSource, RsvpStatus

    def add(action, person, status: str = "yes", *, came: bool = False, recruited_by=None) -> None:
        with app.app_context():
            db.session.add(Rsvp(action_id=action.id, person_id=person.id, status=RsvpStatus(status),
                                source=RsvpSource.ORGANIZER, recruited_by_id=recruited_by.id if recruited_by else None))
            if came:
                db.session.add(Attendance(action_id=action.id, person_id=person.id, walk_in=status != "yes"))
            db.session.commit()

    return add


# --- logging in ------------------------------------------------------------------------


class AuthActions:
    """Log a test client in and send forms with the session's CSRF token (flaskr's pattern)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token: str | None = None

    def login(self, user_or_email: Any, password: str = PASSWORD, *, follow: bool = False):
        email = getattr(user_or_email, "email", user_or_email)
        response = self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": self.csrf_token("/login")},
            follow_redirects=follow,
        )
        self.token = None  # the session changed; fetch a fresh token next time
        return response

    def logout(self):
        return self.post("/logout")

    def csrf_token(self, page: str = "/login") -> str:
        if self.token is None:
            html = self.client.get(page).get_data(as_text=True)
            match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
                r'value="([^"]+)"[^>]*name="csrf_token"', html
            )
            assert match, f"no CSRF token on {page}"
            self.token = match.group(1)
        return self.token

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any):
        """POST a form as a browser would, CSRF token included."""
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.csrf_token("/" if self.client.get_cookie("session") else "/login"))
        return self.client.post(url, data=payload, **kwargs)


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def login_as(app: Flask):
    """``login_as(user)``: a fresh client logged in as ``user`` (several users in one test)."""

    def login(user: Any) -> AuthActions:
        actions = AuthActions(app.test_client())
        response = actions.login(user)
        assert response.status_code == 302, f"login failed for {user.email}"
        return actions

    return login


# --- counting queries ------------------------------------------------------------------


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask):
    """``with count_queries() as q: client.get(...)``; then ``q.count`` is the SQL statements run."""
    import contextlib

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @contextlib.contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("PRAGMA", "SAVEPOINT", "RELEASE")):
                counter.statements.append(statement)

        event.listen(Engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(Engine, "before_cursor_execute", before)

    return counting


# --- real Chromium ---------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches Debian's Chromium; a browser is never downloaded."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must install Debian's chromium")
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app under test served on a free 127.0.0.1 port in a thread; yields its base URL."""
    from tests.support.live import serve

    server = serve(app)
    yield server.url
    server.shutdown()


@pytest.fixture
def cached_app(app):
    """``app`` with the reports' caches on (the testing config turns them off), emptied before and after."""
    from organizer.reports import cache

    app.config["REPORTS_CACHE"] = True
    cache.clear()
    yield app
    cache.clear()
