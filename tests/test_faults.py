"""Faults get a clear answer: a branded, translated page for 500 and 503 that needs no database,
503 with Retry-After while the database is unreachable, and background work that waits for
the database instead of dying."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError

from organizer import create_app
from organizer.tasks import retry_on_database_loss
from tests.conftest import PASSWORD

# A connection killed with its server is only noticed when it is garbage-collected.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _unreachable_app(tmp_path: Path, **config) -> Flask:
    """The app pointed at a database that cannot be opened (its folder does not exist)."""
    missing = tmp_path / "no-such-folder" / "organizer.sqlite3"
    return create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{missing}", "SERVER_NAME": None,
                                  **config})


def test_unreachable_database_answers_503_asking_to_try_again(tmp_path):
    client = _unreachable_app(tmp_path).test_client()
    response = client.get("/login", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    page = response.get_data(as_text=True)
    assert "The database cannot be reached right now." in page
    assert "Please try again in a moment." in page
    assert 'href="/login"' in page  # "Try again" reloads the same page


def test_fault_page_speaks_the_browsers_language(tmp_path):
    response = _unreachable_app(tmp_path).test_client().get("/login", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "No se puede acceder a la base de datos en este momento." in page
    assert "Vuelve a intentarlo en un momento." in page


def test_signed_in_user_gets_503_not_500_when_their_account_cannot_be_loaded(app, make_user, tmp_path):
    user = make_user("organizer")
    working = app.test_client()
    working.post("/login", data={"email": user.email, "password": PASSWORD,
                                 "csrf_token": _csrf(working)})
    assert working.get("/").status_code == 200
    broken = _unreachable_app(tmp_path).test_client()
    broken.set_cookie("session", working.get_cookie("session").value)
    response = broken.get("/people/")
    assert response.status_code == 503
    assert "Organizer" in response.get_data(as_text=True)


def test_webhook_answers_503_not_500_while_the_database_is_down(tmp_path):
    from tests.sms.conftest import PUBLIC, TOKEN, signed_post

    client = _unreachable_app(tmp_path, TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=PUBLIC).test_client()
    response = signed_post(client, "/sms/inbound", {"MessageSid": "SMdown", "From": "+13125550100",
                                                    "To": "+13125550199", "Body": "STOP"})
    assert response.status_code == 503


def test_unexpected_error_gets_a_branded_500_page_without_the_database(tmp_path):
    app = _unreachable_app(tmp_path, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("a bug")

    response = app.test_client().get("/boom", headers={"Accept-Language": "es"})
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Algo salió mal de nuestro lado." in page
    assert "Internal Server Error" not in page
    assert "Retry-After" not in response.headers


def test_error_page_runs_no_query(app, count_queries):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("a bug")

    with count_queries() as queries:
        response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert queries.statements == []


def test_background_work_waits_for_the_database_to_come_back(app):
    attempts: list[int] = []
    pauses: list[float] = []

    def work() -> str:
        attempts.append(1)
        if len(attempts) < 4:
            raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))
        return "sent"

    with app.app_context():
        assert retry_on_database_loss(work, sleep=pauses.append) == "sent"
    assert len(attempts) == 4
    assert pauses == [0.5, 1.0, 2.0]  # growing pauses, seconds not minutes


def test_background_work_gives_up_after_the_last_pause(app):
    def work() -> str:
        raise OperationalError("SELECT 1", {}, ConnectionError("refused"))

    with app.app_context(), pytest.raises(OperationalError):
        retry_on_database_loss(work, delays=(0.0, 0.0), sleep=lambda _: None)


def _csrf(client) -> str:
    import re

    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


# --- a real PostgreSQL, stopped and started again ---------------------------------------------


@pytest.fixture
def throwaway_postgres():
    """A PostgreSQL server of this test's own, migrated, that the test may stop and start."""
    import os

    from flask_migrate import upgrade

    from organizer.extensions import db
    from tests.support.postgres import ThrowawayPostgres, can_run

    why_not = can_run()
    if why_not:
        if os.environ.get("CI"):
            pytest.fail(why_not)
        pytest.skip(why_not)
    server = ThrowawayPostgres()
    try:
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": server.url})
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield server
    finally:
        server.remove()


@pytest.mark.slow
def test_postgresql_restart_gets_503_then_recovers_by_itself(throwaway_postgres):
    from sqlalchemy import func, select

    from organizer.auth.models import Role, User
    from organizer.extensions import db

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": throwaway_postgres.url, "SERVER_NAME": None})
    with app.app_context():
        user = User(email="organizer@example.org", name="Org", role=Role.ORGANIZER, active=True)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "organizer@example.org", "password": PASSWORD, "csrf_token": _csrf(client)})
    assert client.get("/people/").status_code == 200

    throwaway_postgres.stop()
    down = client.get("/people/", headers={"Accept-Language": "es"})
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "10"
    assert "Vuelve a intentarlo en un momento." in down.get_data(as_text=True)

    throwaway_postgres.start()
    assert client.get("/people/").status_code == 200  # the same app, no restart: dead connections replaced

    # A background task that loses the database mid-way waits for it instead of dying.
    import threading
    import time

    throwaway_postgres.stop()
    restart = threading.Timer(2.0, throwaway_postgres.start)
    restart.start()
    started = time.monotonic()
    with app.app_context():
        users = retry_on_database_loss(lambda: db.session.scalar(select(func.count()).select_from(User)))
    restart.join()
    assert users == 1
    assert time.monotonic() - started < 20
    with app.app_context():
        db.engine.dispose()
    import gc

    gc.collect()  # connections the restart killed are closed here, not in a later test
