"""Account rules: authentication with throttling, creating and changing users."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, Select, bindparam, delete, func, or_, select, update
from sqlalchemy.orm.util import identity_key
from werkzeug.security import check_password_hash

from organizer.audit.services import changes, record, record_changes, snapshot
from organizer.auth import sealed, throttle, totp
from organizer.auth.models import (
    LoginAttempt,
    LoginThrottle,
    RecoveryCode,
    Role,
    User,
    hash_password,
)
from organizer.db import utcnow
from organizer.extensions import db


class LoginThrottled(Exception):
    """Too many recent failures for this account or address; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class UserError(ValueError):
    """A user account change that breaks a rule (duplicate email, bad link)."""


def forget_old_login_records(now: datetime, keep_days: int) -> tuple[int, int]:
    """Delete the login tries older than ``keep_days``, and the throttling counters of keys that
    never signed in and have had no failure, nor a wait running, for as long; returns how many of
    each. A counter that signed in (the owner's own address: never held back) is kept, and so is
    every counter still counting. Commits nothing."""
    cutoff = now - timedelta(days=keep_days)
    attempts = db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff)).rowcount
    seconds = cutoff.timestamp()
    counters = db.session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_success.is_(None), LoginThrottle.last_failure < seconds,
        LoginThrottle.next_try < seconds)).rowcount
    return attempts, counters


def normalize_email(email: str) -> str:
    return email.strip().lower()


def authenticate(
    email: str,
    password: str,
    address: str,
    *,
    max_failures: int,
    window_seconds: int,
    address_max_failures: int | None = None,
    now: datetime | None = None,
) -> User | None:
    """Check a password, throttled per (account, address), per address and per account.

    Returns the user when the password is right and the account active, else ``None``. The
    try is reserved on its counters and **committed** before the password is checked (see
    ``auth.throttle``), so parallel guesses cannot pass the limit; the caller commits the
    rest (the attempt row, audit events). The password is hashed whether or not the email
    has an account, so the answer takes as long either way. ``now`` lets tests move the clock.
    Call ``record_login`` once the user is fully signed in (after a two-factor code if any).
    :raise LoginThrottled: when the pair or the address has had ``max_failures`` (addresses:
        ``address_max_failures``, default four times as many) unproven tries within
        ``window_seconds``, or when the account is under attack from addresses that never
        signed in to it and its growing wait has not passed; the password is then not checked.
    """
    email = normalize_email(email)
    now = now or utcnow()
    t = now.timestamp()
    address_limit = address_max_failures or 4 * max_failures
    pair_key, address_key, account_key = f"pair:{email} {address}", f"address:{address}", f"account:{email}"
    pair = throttle.reserve(pair_key, t, window_seconds)
    by_address = throttle.reserve(address_key, t, window_seconds)
    wait = None
    if pair.failures > max_failures:
        wait = pair.window_start + window_seconds - t
    elif by_address.failures > address_limit:
        wait = by_address.window_start + window_seconds - t
    elif not pair.known:
        # Not the owner's usual address: the account's own counter, with a wait that
        # doubles with each further try (1 s, 2 s, 4 s ... up to the window).
        account = throttle.reserve(account_key, t, window_seconds, sliding=True)
        if account.failures > max_failures:
            hold = min(2.0 ** (account.failures - max_failures - 1), float(window_seconds))
            wait = throttle.claim_turn(account_key, t, hold)
    if wait is not None:
        record(None, "login_throttled", object_type="users", summary=email[:255], details={"address": address})
        db.session.commit()
        raise LoginThrottled(max(int(round(wait)), 1))
    db.session.commit()  # the reservation is visible to parallel tries before the slow hash

    user = db.session.scalar(select(User).where(User.email == email))
    # A dummy hash for unknown emails, so that the time taken does not tell which emails exist.
    password_right = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    succeeded = bool(user and user.active and password_right)
    db.session.add(LoginAttempt(email=email, address=address, succeeded=succeeded, at=now))
    if not succeeded:
        record(None, "login_failed", user, {"address": address}, object_type="users", summary=email[:255])
        return None
    assert user is not None
    throttle.succeeded(pair_key, t)
    throttle.refund(address_key)
    if not pair.known:
        throttle.refund(account_key)
    return user


def record_login(user: User, address: str, now: datetime | None = None) -> None:
    """Note a completed sign-in (password, and the two-factor code if the user has one)."""
    user.last_login_at = now or utcnow()
    record(user, "login", user, {"address": address})


@cache
def _dummy_hash() -> str:
    """A hash made the same way as real ones (same method and cost), checked for unknown emails."""
    return hash_password(secrets.token_urlsafe(16))


def create_user(
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
    person_id: int | None = None,
    monthly_one_to_one_goal: int | None = None,
    actor: User | None = None,
) -> User:
    """Create an account (the caller commits).

    :raise UserError: when the email is taken, or ``person_id`` is linked to another account.
    """
    email = normalize_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise UserError(_("An account with the email %(email)s already exists.", email=email))
    _check_person_link(person_id, None)
    user = User(email=email, name=name.strip(), role=role, person_id=person_id, active=True,
                monthly_one_to_one_goal=monthly_one_to_one_goal)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record(actor, "create", user, {"role": role.value})
    return user


def update_user(
    user: User,
    *,
    name: str,
    role: Role,
    active: bool,
    person_id: int | None,
    monthly_one_to_one_goal: int | None,
    password: str | None,
    actor: User,
) -> User:
    """Change an account (the caller commits).

    :raise UserError: when the admin would deactivate or demote themselves, or link a
        person already linked to another account.
    """
    if user.id == actor.id and (not active or role is not Role.ADMIN):
        raise UserError(_("You cannot deactivate your own account or remove your own admin role."))
    _check_person_link(person_id, user.id)
    fields = ("name", "role", "active", "person_id", "monthly_one_to_one_goal")
    before = snapshot(user, fields)
    user.name, user.role, user.active = name.strip(), role, active
    user.person_id, user.monthly_one_to_one_goal = person_id, monthly_one_to_one_goal
    after = snapshot(user, fields)
    if password:
        user.set_password(password)
        # Never a hash in the log: only that it changed.
        after["password"] = "changed"
    if {"role", "active", "password"} & changes(before, after).keys():
        # What the account may do changed: every open session must sign in again.
        end_sessions(user)
        extra = {"sessions": "ended"}
    else:
        extra = None
    record_changes(actor, user, before, after, extra=extra)
    return user


# --- sessions --------------------------------------------------------------------------


def end_sessions(user: User) -> None:
    """End every session and remember-me cookie of ``user`` on every device (the caller commits).

    Both carry ``user.get_id()``, which includes the session version; once it is raised the
    user loader turns the old cookies away.
    """
    user.session_version = (user.session_version or 1) + 1


def change_own_password(user: User, current_password: str, new_password: str) -> None:
    """A user sets a new password (the caller commits). Their other sessions end; the caller
    signs the current one in again with the new session version.

    :raise UserError: when ``current_password`` is not the user's password.
    """
    if not check_password_hash(user.password_hash, current_password):
        raise UserError(_("Your current password is not right."))
    user.set_password(new_password)
    end_sessions(user)
    record(user, "password_changed", user)


# --- two-factor sign-in ----------------------------------------------------------------

RECOVERY_CODE_COUNT = 10


def two_factor_policy() -> bool:
    """Whether the admins require an authenticator app of every admin and organizer."""
    from organizer.settings.services import get_organization

    return bool(get_organization().require_two_factor_for_staff)


def two_factor_required(user: User) -> bool:
    """Staff must use an authenticator app when the admins said so; leaders may opt in."""
    return user.is_staff and two_factor_policy()


def two_factor_issuer() -> str:
    """The name authenticator apps show next to the code: the organization's."""
    from organizer.settings.services import get_organization

    return get_organization().name


def set_two_factor_policy(required: bool, actor: User) -> None:
    """Require (or stop requiring) two-factor sign-in of admins and organizers (the caller commits).

    :raise UserError: when the admin turning it on has not set up an authenticator app
        themselves (they would be sent to set one up on their next page anyway).
    """
    from organizer.settings.models import Organization
    from organizer.settings.services import get_organization

    if required and not actor.two_factor_enabled:
        raise UserError(_("Set up your own authenticator app first."))
    org = db.session.get(Organization, 1) or get_organization()
    if bool(org.require_two_factor_for_staff) == required:
        return
    org.require_two_factor_for_staff = required
    db.session.add(org)
    record(actor, "update", org, {"require_two_factor_for_staff": required}, summary="two-factor policy")


def enroll_two_factor(user: User, secret: str, code: str, now: datetime | None = None) -> list[str]:
    """Turn on two-factor sign-in with ``secret`` once the app's ``code`` proves it has it
    (the caller commits). Returns the new recovery codes, to be shown once.

    :raise UserError: when the code does not match the secret now.
    """
    now = now or utcnow()
    step = totp.matching_step(secret, code, now.timestamp())
    if step is None:
        raise UserError(_("That code is not right. Check the time on your phone and type the newest code."))
    user.totp_secret = sealed.seal(secret, user.id, sealed.keys_from(current_app.config))
    user.totp_last_step = step
    codes = _new_recovery_codes(user)
    record(user, "two_factor_enabled", user)
    return codes


def disable_two_factor(user: User, actor: User, password: str | None = None) -> None:
    """Turn two-factor sign-in off (the caller commits): by the user with their password, or
    by an admin for someone who lost their phone (who then signs in again everywhere).

    :raise UserError: when the user's password is wrong, or the policy requires it of them.
    """
    if actor.id == user.id:
        if password is None or not check_password_hash(user.password_hash, password):
            raise UserError(_("Your current password is not right."))
        if two_factor_required(user):
            raise UserError(_("Two-factor sign-in is required for your role; it cannot be turned off."))
    user.totp_secret = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    end_sessions(user)
    record(actor, "two_factor_disabled", user)


def verify_second_factor(
    user: User, code: str, *, max_failures: int, window_seconds: int, now: datetime | None = None
) -> bool:
    """Check a sign-in code: the app's current code (not one already used) or an unused
    recovery code, which is then spent. Throttled like passwords; the reservation is
    committed before checking, the caller commits the rest.

    :raise LoginThrottled: after ``max_failures`` wrong codes within ``window_seconds``.
    """
    now = now or utcnow()
    t = now.timestamp()
    key = f"code:{user.id}"
    count = throttle.reserve(key, t, window_seconds)
    if count.failures > max_failures:
        record(user, "login_throttled", user, {"step": "code"})
        db.session.commit()
        raise LoginThrottled(max(int(count.window_start + window_seconds - t), 1))
    db.session.commit()
    accepted = _accept_app_code(user, code, t) or _spend_recovery_code(user, code, now)
    if accepted:
        throttle.succeeded(key, t)
    else:
        record(user, "login_failed", user, {"step": "code"})
    return accepted


def _accept_app_code(user: User, code: str, t: float) -> bool:
    """The code is the app's for a step after the last one used; that step becomes the last
    (one conditional UPDATE, so the same code sent twice at once is accepted only once). A
    secret stored plain, or sealed with a key no longer first, is sealed anew in that UPDATE."""
    stored = user.totp_secret
    if stored is None:
        return False
    keys = sealed.keys_from(current_app.config)
    try:
        secret, stale = sealed.opened(stored, user.id, keys)
    except sealed.SealError as error:
        # Recovery codes still work; the admins must restore the key (see organizer.auth.sealed).
        current_app.logger.error("two-factor secret of user %s: %s", user.id, error)
        return False
    step = totp.matching_step(secret, code, t)
    if step is None:
        return False
    values: dict[str, Any] = {"totp_last_step": step}
    if stale:
        values["totp_secret"] = sealed.seal(secret, user.id, keys)
    taken = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(**values)
        .returning(User.id)
    ).first()
    return taken is not None


def seal_two_factor_secrets() -> int:
    """Seal every two-factor secret with the first key of ``TOTP_SECRET_KEYS`` (plain ones from
    before sealing, and those sealed with an older key); returns how many changed. The caller
    commits. :raise sealed.SealError: when a secret opens with none of the keys (nothing is
    changed then)."""
    keys = sealed.keys_from(current_app.config)
    # Every secret opened first: one that opens with no key raises before anything changes.
    stale = []
    for user in db.session.scalars(select(User).where(User.totp_secret.is_not(None))):
        secret, again = sealed.opened(user.totp_secret, user.id, keys)
        if again:
            stale.append((user, secret))
    for user, secret in stale:
        user.totp_secret = sealed.seal(secret, user.id, keys)
    return len(stale)


def _spend_recovery_code(user: User, code: str, now: datetime) -> bool:
    """Use up an unused recovery code (one conditional UPDATE: a code works once)."""
    spent = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash_recovery_code(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .returning(RecoveryCode.id)
    ).first()
    if spent is not None:
        record(user, "recovery_code_used", user)
    return spent is not None


def _new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones (50 random bits each), stored hashed."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off paper
    codes = []
    for _n in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(alphabet) for _i in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_recovery_code(raw)))
    return codes


def _hash_recovery_code(code: str) -> str:
    """SHA-256 of the code without dashes, spaces or case: the codes are random and long
    enough that a slow password hash adds nothing but a wait at every try."""
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalized.encode()).hexdigest()


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(_codes_left_statement(), {"user_id": user.id}) or 0


@cache
def _codes_left_statement() -> Select[tuple[int]]:
    """Built once per process: building a statement costs more than running it."""
    return select(func.count()).where(RecoveryCode.user_id == bindparam("user_id", type_=Integer),
                                      RecoveryCode.used_at.is_(None))


def user_by_id(user_id: int) -> User | None:
    """The user with ``user_id`` (every request's signed-in user), as ``session.get`` finds it.

    Read in one statement (built once) with the organization row, which every page then reads
    (its name, time zone and two-factor policy): one statement less on every page.
    """
    from organizer.settings.services import remember_organization

    if identity_key(User, user_id) in db.session.identity_map:
        return db.session.get(User, user_id)  # no query, unless it expired or was deleted
    row = db.session.execute(_user_and_organization_statement(), {"user_id": user_id}).first()
    if row is None:
        return None
    user, organization = row
    remember_organization(organization)
    return user


@cache
def _user_and_organization_statement() -> Select[Any]:
    from organizer.settings.models import Organization
    from organizer.settings.services import ORGANIZATION_ID

    return (select(User, Organization).select_from(User)
            .outerjoin(Organization, Organization.id == ORGANIZATION_ID)
            .where(User.id == bindparam("user_id", type_=Integer)))


def _check_person_link(person_id: int | None, user_id: int | None) -> None:
    """:raise UserError: when there is no such person, or they are another account's."""
    if person_id is None:
        return
    from organizer.people.models import Person

    if db.session.get(Person, person_id) is None:
        raise UserError(_("There is no person with id %(id)s.", id=person_id))
    other = db.session.scalar(select(User.id).where(User.person_id == person_id))
    if other is not None and other != user_id:
        raise UserError(_("That person is already linked to another account."))


def list_users() -> list[User]:
    """Every account, for the admin page, with linked people loaded in the same query."""
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(select(User).options(joinedload(User.person)).order_by(User.name)))


def staff_and_leaders() -> list[User]:
    """Active users who can hold relationships (owners of people), by name."""
    return list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))


def user_choices(*roles: Role) -> list[tuple[int, str]]:
    """(id, name) of the active users (of ``roles``, else all), by name: what a picker or a
    filter shows, two columns instead of whole accounts (hundreds of leaders on a large
    federation). Cached on ``g`` per set of roles: a page asks once."""
    from flask import g, has_app_context

    key = "user_choices_" + "_".join(sorted(role.value for role in roles))
    if has_app_context() and key in g:
        return g.get(key)
    stmt = select(User.id, User.name).where(User.active.is_(True)).order_by(User.name)
    if roles:
        stmt = stmt.where(User.role.in_(roles))
    choices = [(user_id, name) for user_id, name in db.session.execute(stmt)]
    if has_app_context():
        setattr(g, key, choices)
    return choices


