"""Login throttling that protects without locking people out: atomic counters per (account,
address) and per address, a growing wait for an account attacked from many addresses that its
owner's own address skips, the same work whether or not the email exists, all audited."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from tests.conftest import PASSWORD, AuthActions


def _login(client, email, password, address):
    auth = AuthActions(client)
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": auth.csrf_token("/login")},
                       environ_base={"REMOTE_ADDR": address})


def test_forty_parallel_guesses_against_a_real_server_check_no_more_than_the_limit(app, make_user, live_server):
    """40 browsers, each with its own session and CSRF token, send a wrong password for one
    account at the same moment: only LOGIN_MAX_FAILURES (5) passwords are checked."""
    user = make_user("organizer")
    sessions = []
    for _n in range(40):
        browser = requests.Session()
        page = browser.get(f"{live_server}/login", timeout=10).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        sessions.append((browser, token))
    start = threading.Barrier(40)
    statuses: list[int] = []

    def guess(browser, token, n):
        start.wait()
        response = browser.post(f"{live_server}/login", data={
            "email": user.email, "password": f"guess {n}", "csrf_token": token}, allow_redirects=False, timeout=60)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(b, t, n)) for n, (b, t) in enumerate(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 40
    assert statuses.count(401) == 5  # wrong password: checked
    assert statuses.count(429) == 35  # refused before the password was looked at


def test_the_owner_logs_in_from_their_own_address_while_the_account_is_attacked(client, make_user):
    owner = make_user("organizer")
    assert _login(client, owner.email, PASSWORD, "10.1.1.1").status_code == 302
    AuthActions(client).logout()
    for n in range(30):  # an attacker with many addresses
        _login(client, owner.email, f"guess {n}", f"10.66.{n}.1")
    response = _login(client, owner.email, PASSWORD, "10.1.1.1")
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_new_addresses_wait_longer_and_longer_for_an_attacked_account(app, make_user):
    """After the limit, each try for the account from an address it never signed in from
    doubles the wait before the next one may be checked, tries turned away during the wait
    included (hammering only makes it longer); the password is not looked at during the wait."""
    from organizer.auth.services import LoginThrottled, authenticate
    from organizer.db import utcnow

    user = make_user("organizer")
    limits = {"max_failures": 3, "window_seconds": 900}
    t0 = utcnow()
    with app.app_context():
        for n in range(3):
            assert authenticate(user.email, "wrong", f"10.2.{n}.1", now=t0, **limits) is None
        waits = []
        at = t0
        for n in range(5):
            authenticate(user.email, "wrong", f"10.3.{n}.1", now=at, **limits)  # takes the turn
            with pytest.raises(LoginThrottled) as throttled:  # right away again: must wait
                authenticate(user.email, PASSWORD, f"10.4.{n}.1", now=at, **limits)
            waits.append(throttled.value.retry_after)
            at += timedelta(seconds=throttled.value.retry_after)
        assert waits == [1, 4, 16, 64, 256]  # two tries per round: 2 ** 0, 2 ** 2, ...
        # Once the wait has passed, the owner from a new address gets in with the right password.
        assert authenticate(user.email, PASSWORD, "10.5.5.5", now=at, **limits).id == user.id


@pytest.mark.parametrize("known", [True, False], ids=["existing email", "unknown email"])
def test_the_password_is_hashed_whether_or_not_the_email_has_an_account(client, make_user, monkeypatch, known):
    """So the answer takes as long either way and does not tell which emails have accounts."""
    from werkzeug.security import check_password_hash

    import organizer.auth.services as services

    email = make_user("organizer").email if known else "nobody@example.org"
    checked = []

    def spy(pwhash, password):
        checked.append(pwhash.split("$", 1)[0])
        return check_password_hash(pwhash, password)

    monkeypatch.setattr(services, "check_password_hash", spy)
    assert _login(client, email, "wrong password", "10.7.7.7").status_code == 401
    assert len(checked) == 1
    with client.application.app_context():  # the kind and cost real accounts' hashes have
        assert checked[0] == services.hash_password("anything").split("$", 1)[0]


def test_failures_lock_outs_and_logins_are_audited(app, client, make_user):
    from organizer.audit.models import AuditEvent
    from organizer.extensions import db

    user = make_user("leader")
    assert _login(client, user.email, PASSWORD, "10.8.8.8").status_code == 302
    AuthActions(client).logout()
    for _n in range(5):
        _login(client, user.email, "wrong", "10.8.8.9")
    assert _login(client, user.email, PASSWORD, "10.8.8.9").status_code == 429
    with app.app_context():
        events = db.session.execute(select(AuditEvent.action, AuditEvent.summary, AuditEvent.details)
                                    .order_by(AuditEvent.id)).all()
    actions = [e.action for e in events]
    assert actions == ["login", "logout"] + ["login_failed"] * 5 + ["login_throttled"]
    assert events[-1].summary == user.email and events[-1].details == {"address": "10.8.8.9"}


def test_a_right_password_gives_back_its_try_to_the_address(client, make_user):
    """A busy office behind one address: people signing in do not use up the address's allowance."""
    users = [make_user("leader") for _n in range(25)]
    for user in users:
        assert _login(client, user.email, PASSWORD, "10.9.0.1").status_code == 302
        AuthActions(client).logout()
