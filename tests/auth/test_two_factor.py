"""Two-factor sign-in: TOTP (RFC 6238) with a server-drawn QR code and hashed one-time
recovery codes; required of staff when the admins say so, open to leaders; throttled, and a
code cannot be used twice."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, AuthActions

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890" (RFC 6238, SHA-1)


@pytest.mark.parametrize("timestamp, code", [(59, "94287082"), (1111111109, "07081804"),
                                             (1234567890, "89005924"), (2000000000, "69279037")])
def test_codes_match_the_rfc_6238_test_vectors(timestamp, code):
    from organizer.auth.totp import code_for_step, step_at

    assert code_for_step(RFC_SECRET, step_at(timestamp), digits=8) == code


def test_a_code_from_the_step_before_or_after_is_accepted_but_not_older():
    from organizer.auth.totp import code_for_step, matching_step

    now = 1_700_000_000.0
    step = int(now // 30)
    assert matching_step(RFC_SECRET, code_for_step(RFC_SECRET, step - 1), now) == step - 1
    assert matching_step(RFC_SECRET, code_for_step(RFC_SECRET, step + 1), now) == step + 1
    assert matching_step(RFC_SECRET, code_for_step(RFC_SECRET, step - 3), now) is None


def _code(secret: str, offset_steps: int = 0) -> str:
    """The code ``offset_steps`` 30-second steps from now. Close to the end of a step, wait for
    the next one first: the server checks the code a moment later, and a step ending in
    between made the previous step's code two steps old (rejected), failing a test now and then."""
    from organizer.auth.totp import code_for_step, step_at

    left = 30 - time.time() % 30
    if left < 2:
        time.sleep(left + 0.05)
    return code_for_step(secret, step_at(time.time()) + offset_steps)


def _enroll(actions: AuthActions) -> tuple[str, list[str]]:
    page = actions.client.get("/account/two-factor").get_data(as_text=True)
    assert re.search(r"<svg[^>]*>.*<path", page, re.S)  # the QR code, drawn on the server
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    actions.token = None
    response = actions.post("/account/two-factor", {"code": _code(secret, -1)})
    assert response.status_code == 200
    codes = re.findall(r"<li>([A-Z0-9]{5}-[A-Z0-9]{5})</li>", response.get_data(as_text=True))
    return secret, codes


def _password_step(client, user, address="10.0.0.1"):
    auth = AuthActions(client)
    return client.post("/login", data={"email": user.email, "password": PASSWORD,
                                       "csrf_token": auth.csrf_token("/login")}, environ_base={"REMOTE_ADDR": address})


def _code_step(client, code):
    auth = AuthActions(client)
    return client.post("/login/code", data={"code": code, "csrf_token": auth.csrf_token("/login/code")})


def test_an_organizer_enrolls_and_then_needs_a_code_after_the_password(app, make_user, login_as):
    from organizer.auth.models import RecoveryCode, User
    from organizer.auth.sealed import keys_from, unseal
    from organizer.extensions import db

    organizer = make_user("organizer")
    secret, codes = _enroll(login_as(organizer))
    assert len(codes) == 10 and len(set(codes)) == 10
    with app.app_context():
        kept = db.session.get(User, organizer.id).totp_secret
        assert kept != secret and unseal(kept, organizer.id, keys_from(app.config)) == secret  # sealed
        stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not {c.replace("-", "") for c in codes} & set(stored)  # hashed

    browser = app.test_client()
    response = _password_step(browser, organizer)
    assert response.headers["Location"] == "/login/code"
    assert browser.get("/people/").status_code == 302  # the password alone does not sign in
    assert _code_step(browser, _code(secret)).headers["Location"] == "/"
    assert browser.get("/people/").status_code == 200


def test_a_used_code_cannot_be_replayed_within_its_window(app, make_user, login_as):
    organizer = make_user("organizer")
    secret, _codes = _enroll(login_as(organizer))
    code = _code(secret)
    first, second = app.test_client(), app.test_client()
    _password_step(first, organizer)
    assert _code_step(first, code).status_code == 302
    _password_step(second, organizer)
    response = _code_step(second, code)
    assert response.status_code == 401
    assert "That code is not right, or was already used." in response.get_data(as_text=True)
    assert second.get("/people/").status_code == 302


def test_a_recovery_code_signs_in_once(app, make_user, login_as):
    organizer = make_user("organizer")
    _secret, codes = _enroll(login_as(organizer))
    first, second = app.test_client(), app.test_client()
    _password_step(first, organizer)
    assert _code_step(first, codes[0].lower()).status_code == 302
    _password_step(second, organizer)
    assert _code_step(second, codes[0]).status_code == 401


def test_wrong_codes_are_throttled(app, make_user, login_as):
    organizer = make_user("organizer")
    secret, _codes = _enroll(login_as(organizer))
    browser = app.test_client()
    _password_step(browser, organizer)
    for n in range(5):
        assert _code_step(browser, f"00000{n}").status_code == 401
    response = _code_step(browser, _code(secret))
    assert response.status_code == 429
    assert browser.get("/people/").status_code == 302


def test_the_admin_setting_sends_staff_without_an_app_to_enroll(app, make_user, login_as):
    admin, organizer, leader = make_user("admin"), make_user("organizer"), make_user("leader")
    admin_browser = login_as(admin)
    response = admin_browser.post("/admin/users/two-factor-policy", {"required": "y"})
    assert "Set up your own authenticator app first." in admin_browser.client.get(response.headers["Location"]).get_data(as_text=True)
    _enroll(admin_browser)
    admin_browser.token = None
    admin_browser.post("/admin/users/two-factor-policy", {"required": "y"})

    staff = app.test_client()
    assert _password_step(staff, organizer).headers["Location"] == "/account/two-factor"
    assert staff.get("/people/").headers["Location"] == "/account/two-factor"  # no way around it
    assert staff.get("/account/two-factor").status_code == 200
    # Leaders are not required, but may opt in.
    assert login_as(leader).client.get("/people/").status_code == 200
    _enroll(login_as(leader))


def test_a_leader_may_opt_in_and_turn_it_off_with_the_password(app, make_user, login_as):
    from organizer.auth.models import User
    from organizer.extensions import db

    leader = make_user("leader")
    actions = login_as(leader)
    _enroll(actions)
    actions.token = None
    actions.post("/account/two-factor/disable", {"password": "wrong"})
    with app.app_context():
        assert db.session.get(User, leader.id).two_factor_enabled
    actions.post("/account/two-factor/disable", {"password": PASSWORD})
    with app.app_context():
        assert not db.session.get(User, leader.id).two_factor_enabled


def test_an_admin_turns_off_two_factor_for_a_lost_phone(app, make_user, login_as):
    from organizer.auth.models import User
    from organizer.extensions import db

    admin, organizer = make_user("admin"), make_user("organizer")
    _enroll(login_as(organizer))
    response = login_as(admin).post(f"/admin/users/{organizer.id}/two-factor/reset")
    assert response.status_code == 302
    with app.app_context():
        assert not db.session.get(User, organizer.id).two_factor_enabled
    assert _password_step(app.test_client(), organizer).headers["Location"] == "/"
