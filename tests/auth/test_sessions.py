"""Sessions end: logout, password changes, deactivation and role changes end every session and
remember-me cookie of the user, on every device; the account page changes the password."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, AuthActions


def _login(client, user, *, remember=False):
    auth = AuthActions(client)
    data = {"email": user.email, "password": PASSWORD, "csrf_token": auth.csrf_token("/login")}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, "login failed"
    return AuthActions(client)


def _copy(app, source, *names):
    """Another browser holding copies of ``source``'s cookies ``names`` (a stolen cookie)."""
    thief = app.test_client()
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, f"no {name} cookie to copy"
        thief.set_cookie(name, cookie.value)
    return thief


def _opens_people(client) -> bool:
    return client.get("/people/").status_code == 200


def test_a_copied_session_cookie_stops_working_after_logout(app, client, make_user):
    leader = make_user("leader")
    auth = _login(client, leader)
    thief = _copy(app, client, "session")
    assert _opens_people(thief)
    auth.logout()
    assert not _opens_people(thief)


def test_the_remember_me_cookie_alone_stops_working_after_logout(app, client, make_user):
    leader = make_user("leader")
    auth = _login(client, leader, remember=True)
    thief = _copy(app, client, "remember_token")
    assert _opens_people(thief)  # the remember-me cookie alone signs in
    auth.logout()
    assert not _opens_people(_copy(app, thief, "remember_token"))


def test_logout_ends_the_sessions_on_the_other_devices_too(app, make_user, login_as):
    leader = make_user("leader")
    phone, laptop = login_as(leader), login_as(leader)
    phone.logout()
    assert not _opens_people(laptop.client)


def test_an_admin_setting_a_new_password_ends_every_session_and_remember_me_cookie(app, make_user, login_as):
    admin, leader = make_user("admin"), make_user("leader")
    leader_browser = app.test_client()
    _login(leader_browser, leader, remember=True)
    remembered = _copy(app, leader_browser, "remember_token")
    login_as(admin).post(f"/admin/users/{leader.id}", {
        "name": leader.name, "role": "leader", "active": "y", "password": "a brand new secret"})
    assert not _opens_people(leader_browser)
    assert not _opens_people(remembered)


@pytest.mark.parametrize("change", [{"role": "organizer", "active": "y"}, {"role": "leader"}],
                         ids=["role change", "deactivation"])
def test_a_role_change_or_deactivation_ends_every_session(app, make_user, login_as, change):
    admin, leader = make_user("admin"), make_user("leader")
    leader_browser = app.test_client()
    _login(leader_browser, leader, remember=True)
    remembered = _copy(app, leader_browser, "remember_token")
    response = login_as(admin).post(f"/admin/users/{leader.id}", {"name": leader.name, **change})
    assert response.status_code == 302
    assert not _opens_people(leader_browser)
    assert not _opens_people(remembered)


def test_saving_an_account_unchanged_keeps_its_sessions(app, make_user, login_as):
    admin, leader = make_user("admin"), make_user("leader")
    leader_browser = login_as(leader)
    login_as(admin).post(f"/admin/users/{leader.id}", {"name": leader.name, "role": "leader", "active": "y"})
    assert _opens_people(leader_browser.client)


def test_users_change_their_own_password_with_the_current_one(app, make_user, login_as):
    from organizer.auth.models import User
    from organizer.extensions import db

    leader = make_user("leader")
    here, elsewhere = login_as(leader), login_as(leader)
    page = here.client.get("/account").get_data(as_text=True)
    assert "Change your password" in page and "Sign out everywhere" in page
    response = here.post("/account/password", {"current_password": PASSWORD, "new_password": "a new long secret",
                                                 "confirm": "a new long secret"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, leader.id).check_password("a new long secret")
    assert _opens_people(here.client)  # this browser stays signed in
    assert not _opens_people(elsewhere.client)  # every other one is signed out


def test_a_wrong_current_password_changes_nothing(app, make_user, login_as):
    from organizer.auth.models import User
    from organizer.extensions import db

    leader = make_user("leader")
    here, elsewhere = login_as(leader), login_as(leader)
    response = here.post("/account/password", {"current_password": "not it", "new_password": "a new long secret",
                                                "confirm": "a new long secret"})
    assert response.status_code == 400
    assert "Your current password is not right." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, leader.id).check_password(PASSWORD)
    assert _opens_people(elsewhere.client)


def test_sign_out_everywhere_ends_every_session(make_user, login_as):
    leader = make_user("leader")
    here, elsewhere = login_as(leader), login_as(leader)
    assert here.post("/account/sign-out-everywhere").headers["Location"] == "/login"
    assert not _opens_people(here.client) and not _opens_people(elsewhere.client)


def test_remember_me_lasts_30_days_at_most_http_only_same_site(client, make_user):
    from datetime import datetime, timedelta, timezone
    from email.utils import parsedate_to_datetime

    auth = AuthActions(client)
    response = client.post("/login", data={"email": make_user("leader").email, "password": PASSWORD,
                                           "remember": "y", "csrf_token": auth.csrf_token("/login")})
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    remember = cookies["remember_token"]
    assert "HttpOnly" in remember and "SameSite=Lax" in remember
    expires = parsedate_to_datetime(remember.split("Expires=", 1)[1].split(";")[0])
    assert expires <= datetime.now(timezone.utc) + timedelta(days=30, minutes=1)
    assert "HttpOnly" in cookies["session"] and "SameSite=Lax" in cookies["session"]


def test_production_cookies_are_secure_and_remember_me_short(monkeypatch):
    from datetime import timedelta

    from config import load_config

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    config = load_config("production")
    assert config.REMEMBER_COOKIE_SECURE and config.REMEMBER_COOKIE_HTTPONLY
    assert config.REMEMBER_COOKIE_SAMESITE == "Lax"
    assert config.REMEMBER_COOKIE_DURATION <= timedelta(days=30)
    assert config.SESSION_COOKIE_SECURE


def test_logins_and_logouts_are_audited(app, client, make_user):
    from sqlalchemy import select

    from organizer.audit.models import AuditEvent
    from organizer.extensions import db

    leader = make_user("leader")
    _login(client, leader).logout()
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.user_id == leader.id)
                                     .order_by(AuditEvent.id)).all()
    assert actions == ["login", "logout"]
