"""Logging in and out: passwords, throttling, inactive accounts, safe redirects, CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, AuthActions


def _login(client, email, password, address="10.0.0.1", next_=None):
    auth = AuthActions(client)
    url = "/login" + (f"?next={next_}" if next_ is not None else "")
    return client.post(
        url,
        data={"email": email, "password": password, "csrf_token": auth.csrf_token("/login")},
        environ_base={"REMOTE_ADDR": address},
    )


def test_right_password_logs_in_and_goes_home(client, make_user):
    user = make_user("leader")
    response = _login(client, user.email, PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_email_is_matched_whatever_its_case_and_spaces(client, make_user):
    make_user("leader", email="rosa@example.org")
    assert _login(client, "  Rosa@Example.ORG ", PASSWORD).status_code == 302


def test_wrong_password_is_refused_with_a_message(client, make_user):
    user = make_user("leader")
    response = _login(client, user.email, "not the password")
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client):
    response = _login(client, "nobody@example.org", PASSWORD)
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_inactive_account_cannot_log_in(client, make_user):
    user = make_user("organizer", active=False)
    assert _login(client, user.email, PASSWORD).status_code == 401
    assert client.get("/").status_code == 302


def test_deactivated_user_is_logged_out_on_the_next_request(app, login_as, make_user):
    from organizer.auth.models import User
    from organizer.extensions import db

    user = make_user("organizer")
    actions = login_as(user)
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    response = actions.client.get("/people/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_passwords_are_stored_hashed(app, make_user):
    from organizer.auth.models import User
    from organizer.extensions import db

    user = make_user("admin")
    with app.app_context():
        stored = db.session.get(User, user.id).password_hash
    assert PASSWORD not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))


def test_throttled_after_repeated_failures_for_one_account_from_one_address(client, make_user):
    user = make_user("leader")
    for _n in range(5):  # LOGIN_MAX_FAILURES
        assert _login(client, user.email, "wrong", address="10.0.1.1").status_code == 401
    response = _login(client, user.email, PASSWORD, address="10.0.1.1")
    assert response.status_code == 429
    assert 850 <= int(response.headers["Retry-After"]) <= 900  # until the first failure leaves the window
    assert "Too many failed logins. Try again in 15 minutes." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in, even with the right password


def test_throttled_after_repeated_failures_from_one_address(app, client, make_user):
    app.config["LOGIN_ADDRESS_MAX_FAILURES"] = 5
    victim = make_user("organizer")
    for n in range(5):
        assert _login(client, f"guess{n}@example.org", "wrong", address="10.9.9.9").status_code == 401
    response = _login(client, victim.email, PASSWORD, address="10.9.9.9")
    assert response.status_code == 429
    assert "Too many failed logins" in response.get_data(as_text=True)
    # The same account from another address is not blocked.
    assert _login(client, victim.email, PASSWORD, address="10.9.9.10").status_code == 302


def test_the_throttle_expires_after_the_window(app, make_user):
    from organizer.auth.services import LoginThrottled, authenticate
    from organizer.db import utcnow
    from organizer.extensions import db

    user = make_user("leader")
    start = utcnow()
    limits = {"max_failures": 3, "window_seconds": 600}
    with app.app_context():
        for n in range(3):
            at = start + timedelta(seconds=n)
            assert authenticate(user.email, "wrong", "10.1.1.1", now=at, **limits) is None
        db.session.commit()
        with pytest.raises(LoginThrottled) as throttled:
            authenticate(user.email, PASSWORD, "10.1.1.1", now=start + timedelta(seconds=60), **limits)
        assert throttled.value.retry_after == 540  # until the oldest failure leaves the window
        later = start + timedelta(seconds=601)
        assert authenticate(user.email, PASSWORD, "10.1.1.1", now=later, **limits).id == user.id


def test_every_attempt_is_recorded(app, client, make_user):
    from organizer.auth.models import LoginAttempt
    from organizer.extensions import db

    user = make_user("leader")
    _login(client, user.email, "wrong", address="10.3.3.3")
    _login(client, user.email, PASSWORD, address="10.3.3.3")
    with app.app_context():
        attempts = db.session.scalars(select(LoginAttempt).order_by(LoginAttempt.id)).all()
        assert [(a.email, a.address, a.succeeded) for a in attempts] == [
            (user.email, "10.3.3.3", False), (user.email, "10.3.3.3", True)]


@pytest.mark.parametrize(
    "target", ["//evil.com", "https://evil.com", "/\\evil.com", "\\\\evil.com", "http:evil.com", " //evil.com",
               "javascript:alert(1)"],
)
def test_next_never_leads_off_site(client, make_user, target):
    user = make_user("leader")
    response = _login(client, user.email, PASSWORD, next_=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_to_a_local_page_is_followed(client, make_user):
    user = make_user("leader")
    response = _login(client, user.email, PASSWORD, next_="/people/?q=ana")
    assert response.headers["Location"] == "/people/?q=ana"


def test_a_protected_page_sends_to_login_and_back(client, make_user):
    user = make_user("leader")
    response = client.get("/institutions/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    response = _login(client, user.email, PASSWORD, next_="/institutions/")
    assert response.headers["Location"] == "/institutions/"


def test_logout_needs_a_post(login_as, make_user):
    actions = login_as(make_user("leader"))
    assert actions.client.get("/logout").status_code == 405
    assert actions.client.get("/").status_code == 200


def test_logout_without_csrf_token_is_refused(login_as, make_user):
    actions = login_as(make_user("leader"))
    assert actions.client.post("/logout").status_code == 400
    assert actions.client.get("/").status_code == 200


def test_logout_with_the_token_logs_out(login_as, make_user):
    actions = login_as(make_user("leader"))
    response = actions.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert actions.client.get("/").status_code == 302


# Twilio's webhooks carry no CSRF token; an X-Twilio-Signature protects them instead.
SIGNED_WEBHOOKS = {"sms.inbound", "sms.status_callback"}


def test_every_form_without_a_csrf_token_is_refused(app, login_as, make_user):
    """Every POST route, signed in as an admin (who may use them all): no token, 400."""
    actions = login_as(make_user("admin"))
    posts = [r for r in app.url_map.iter_rules() if "POST" in r.methods]
    assert posts and SIGNED_WEBHOOKS <= {r.endpoint for r in posts}
    for rule in posts:
        url = rule.build({arg: _any_valid(rule, arg) for arg in rule.arguments}, append_unknown=False)[1]
        response = actions.client.post(url, data={"name": "x"})
        if rule.endpoint in SIGNED_WEBHOOKS:
            assert response.status_code == 403, f"unsigned POST {url} gave {response.status_code}"
            continue
        assert response.status_code == 400, f"POST {url} without a CSRF token gave {response.status_code}"
        assert "The form expired" in response.get_data(as_text=True)


def _any_valid(rule, arg):
    """A value the URL accepts: 1 for ids, a listed word for ``<any(...):arg>``."""
    choices = getattr(rule._converters[arg], "items", None)
    return sorted(choices)[0] if choices else 1


def test_login_form_without_a_csrf_token_is_refused(client, make_user):
    user = make_user("leader")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302
