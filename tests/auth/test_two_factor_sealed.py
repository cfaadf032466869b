"""Two-factor secrets are sealed at rest (organizer/auth/sealed.py): the database alone does
not give anyone the codes. Secrets stored plain before sealing keep working and get sealed;
keys can be replaced without locking anyone out; a sealed secret opens only for its account."""

from __future__ import annotations

from sqlalchemy import update

from organizer.auth.models import User
from organizer.auth.sealed import derived_key, encode_key, keys_from, new_key, seal, unseal
from organizer.extensions import db
from tests.auth.test_two_factor import _code, _code_step, _enroll, _password_step


def _stored(app, user) -> str:
    with app.app_context():
        return db.session.get(User, user.id).totp_secret


def _store(app, user, value: str) -> None:
    with app.app_context():
        db.session.execute(update(User).where(User.id == user.id).values(totp_secret=value))
        db.session.commit()


def _signs_in_with(app, user, secret: str) -> bool:
    browser = app.test_client()
    assert _password_step(browser, user).headers["Location"] == "/login/code"
    return _code_step(browser, _code(secret)).headers.get("Location") == "/"


def test_a_sealed_secret_fits_its_column_and_differs_each_time_it_is_sealed():
    keys = [derived_key("x" * 40)]
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - a test secret
    first, second = seal(secret, 7, keys), seal(secret, 7, keys)
    assert len(first) == 64 and first != second and secret not in first
    assert unseal(first, 7, keys) == unseal(second, 7, keys) == secret


def test_a_secret_stored_plain_before_sealing_still_signs_in_and_is_sealed_then(app, make_user, login_as):
    organizer = make_user("organizer")
    secret, _codes = _enroll(login_as(organizer))
    _store(app, organizer, secret)  # as every secret was stored before this change

    assert _signs_in_with(app, organizer, secret)
    kept = _stored(app, organizer)
    assert kept != secret and unseal(kept, organizer.id, keys_from(app.config)) == secret


def test_a_new_key_put_first_keeps_everyone_signing_in_and_the_command_seals_the_rest(
        app, make_user, login_as):
    first, second = make_user("organizer"), make_user("admin")
    first_secret, _ = _enroll(login_as(first))
    second_secret, _ = _enroll(login_as(second))
    old = encode_key(keys_from(app.config)[0])  # derived from SECRET_KEY: nothing was set
    new = new_key()
    app.config["TOTP_SECRET_KEYS"] = f"{new},{old}"

    assert _signs_in_with(app, first, first_secret)  # opened with the old key, sealed with the new
    result = app.test_cli_runner().invoke(args=["seal-two-factor"])
    assert result.exit_code == 0 and "Sealed 1 two-factor secret(s)" in result.output

    app.config["TOTP_SECRET_KEYS"] = new  # the old key dropped: nobody needed it any more
    assert _signs_in_with(app, second, second_secret)
    with app.app_context():
        assert unseal(_stored(app, first), first.id, keys_from(app.config)) == first_secret


def test_the_command_changes_nothing_when_a_key_was_dropped_too_soon(app, make_user, login_as):
    organizer = make_user("organizer")
    _enroll(login_as(organizer))
    before = _stored(app, organizer)
    app.config["TOTP_SECRET_KEYS"] = new_key()  # the key that sealed it is gone

    result = app.test_cli_runner().invoke(args=["seal-two-factor"])
    assert result.exit_code != 0 and "nothing was changed" in result.output
    assert _stored(app, organizer) == before


def test_a_sealed_secret_copied_onto_another_account_does_not_open_there(app, make_user, login_as):
    owner, other = make_user("organizer"), make_user("organizer")
    secret, _ = _enroll(login_as(owner))
    _, other_codes = _enroll(login_as(other))
    _store(app, other, _stored(app, owner))  # someone with write access to the database

    assert not _signs_in_with(app, other, secret)
    browser = app.test_client()  # the other account's recovery codes still work
    _password_step(browser, other)
    assert _code_step(browser, other_codes[0]).headers.get("Location") == "/"
