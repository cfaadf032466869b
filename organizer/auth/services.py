"""Account rules: authentication with throttling, creating and changing users."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from organizer.audit.services import record, record_changes, snapshot
from organizer.auth.models import LoginAttempt, Role, User
from organizer.db import utcnow
from organizer.extensions import db


class LoginThrottled(Exception):
    """Too many recent failures for this account or address; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class UserError(ValueError):
    """A user account change that breaks a rule (duplicate email, bad link)."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def authenticate(
    email: str,
    password: str,
    address: str,
    *,
    max_failures: int,
    window_seconds: int,
    now: datetime | None = None,
) -> User | None:
    """Check a login and record the attempt (the caller commits, whatever the outcome).

    Returns the user on success, ``None`` on a wrong email or password or an inactive account.
    ``now`` defaults to the current time (tests move the clock).
    :raise LoginThrottled: when the account or the address has had ``max_failures``
        failed tries within ``window_seconds``; the password is then not even checked.
    """
    email = normalize_email(email)
    now = now or utcnow()
    since = now - timedelta(seconds=window_seconds)
    recent_failures = select(func.count(), func.min(LoginAttempt.at)).where(
        LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since
    )
    for clause in (LoginAttempt.email == email, LoginAttempt.address == address):
        count, oldest = db.session.execute(recent_failures.where(clause)).one()
        if count >= max_failures:
            retry_after = int((oldest + timedelta(seconds=window_seconds) - now).total_seconds())
            raise LoginThrottled(max(retry_after, 1))

    user = db.session.scalar(select(User).where(User.email == email))
    succeeded = bool(user and user.active and user.check_password(password))
    db.session.add(LoginAttempt(email=email, address=address, succeeded=succeeded, at=now))
    if not succeeded:
        return None
    assert user is not None
    user.last_login_at = now
    return user


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
    record_changes(actor, user, before, after)
    return user


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


def leaders() -> list[User]:
    """Active leader accounts, by name."""
    return list(
        db.session.scalars(
            select(User).where(User.active.is_(True), User.role == Role.LEADER).order_by(User.name)
        )
    )
