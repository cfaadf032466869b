"""Login tries are personal data (an account, an address): kept LOGIN_RECORDS_KEEP_DAYS for
looking into an attack, then forgotten every night with the counters of addresses that never
signed in; the owner's own addresses and every counter still counting are kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from organizer.auth.models import LoginAttempt, LoginThrottle
from organizer.auth.services import forget_old_login_records
from organizer.db import utcnow
from organizer.extensions import db
from tests.conftest import PASSWORD, AuthActions


def _login(client, email, password, address):
    auth = AuthActions(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": auth.csrf_token("/login")},
                       environ_base={"REMOTE_ADDR": address})


def test_the_nightly_task_forgets_old_tries_and_idle_strangers_but_not_the_owners_address(
        app, client, make_user, monkeypatch):
    owner = make_user("organizer")
    _login(client, owner.email, PASSWORD, "198.51.100.7")  # the owner's own address, known from now on
    client.post("/logout", data={"csrf_token": AuthActions(client).csrf_token("/account")})
    _login(client, owner.email, "wrong password", "203.0.113.9")  # a stranger's failure
    now = utcnow()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 2
        keys = set(db.session.scalars(select(LoginThrottle.key)))
        assert any("203.0.113.9" in key for key in keys) and any("198.51.100.7" in key for key in keys)

        # Yesterday's tries and counters stay.
        assert forget_old_login_records(now, keep_days=90) == (0, 0)

        # A hundred days later, from the task itself: the tries and the stranger's idle counters go.
        from organizer.auth import tasks

        app.config["LOGIN_RECORDS_KEEP_DAYS"] = 90
        monkeypatch.setattr("organizer.db.utcnow", lambda: now + timedelta(days=100))
        tasks.forget_old_login_records_daily.call_local()
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0
        left = set(db.session.scalars(select(LoginThrottle.key)))
        assert not any("203.0.113.9" in key for key in left)
        assert any("198.51.100.7" in key for key in left), "the owner's own address is kept"


def test_a_counter_still_counting_is_kept_however_old_its_first_failure(app, make_user):
    now = utcnow()
    with app.app_context():
        t = now.timestamp()
        db.session.add_all([
            LoginThrottle(key="address:192.0.2.1", failures=3, window_start=t - 200 * 86400,
                          last_failure=t - 60, next_try=0.0),  # failed a minute ago
            LoginThrottle(key="account:ana@example.org", failures=9, window_start=t - 200 * 86400,
                          last_failure=t - 200 * 86400, next_try=t + 30),  # its wait still runs
            LoginThrottle(key="address:192.0.2.2", failures=1, window_start=t - 200 * 86400,
                          last_failure=t - 200 * 86400, next_try=0.0),  # idle for 200 days
        ])
        db.session.add(LoginAttempt(email="ana@example.org", address="192.0.2.1", succeeded=False,
                                    at=now - timedelta(days=89)))
        db.session.commit()
        assert forget_old_login_records(now, keep_days=90) == (0, 1)
        db.session.commit()
        assert set(db.session.scalars(select(LoginThrottle.key))) == {"address:192.0.2.1", "account:ana@example.org"}
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 1
