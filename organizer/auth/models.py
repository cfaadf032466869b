"""User accounts and login attempts."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from organizer.db import UTCDateTime, str_enum, utcnow
from organizer.extensions import db

if TYPE_CHECKING:
    from organizer.people.models import Person


def hash_password(password: str) -> str:
    """A password hash made with the configured method (Werkzeug's scrypt unless told otherwise).

    Slow on purpose; only the test suite asks for a cheap method (it makes thousands of accounts
    and logins). The method is stored in the hash, so checking needs no setting.
    """
    method = current_app.config.get("PASSWORD_HASH_METHOD") if has_app_context() else None
    return generate_password_hash(password, method=method) if method else generate_password_hash(password)


class Role(enum.StrEnum):
    """What a user may do. Admins and organizers see the whole federation; leaders their own people."""

    ADMIN = "admin"
    ORGANIZER = "organizer"
    LEADER = "leader"


class User(UserMixin, db.Model):
    """Somebody who logs in: an admin, a professional organizer, or a resident leader."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, 20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    # A leader's account is linked to their own person record.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL", use_alter=True), unique=True
    )
    monthly_one_to_one_goal: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of the login cookie's id (``get_id``): raising it ends every session and
    # remember-me cookie of this user at once (logout, password or role change, deactivation).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Two-factor sign-in (RFC 6238): the base32 secret shared with the authenticator app, and
    # the last 30-second step a code was accepted for, so a code is never accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])

    def get_id(self) -> str:
        """What the session and the remember-me cookie carry: the id and the session version."""
        return f"{self.id}:{self.session_version}"

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_secret is not None

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_staff(self) -> bool:
        """Organizers and admins: they see the whole federation."""
        return self.role in (Role.ADMIN, Role.ORGANIZER)

    @property
    def is_leader(self) -> bool:
        return self.role is Role.LEADER

    @property
    def can_see_sensitive(self) -> bool:
        """Race/ethnicity and organizer notes are for organizers and admins only."""
        return self.is_staff

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


class LoginAttempt(db.Model):
    """One login try, kept for throttling repeated failures by account or address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginThrottle(db.Model):
    """A failure counter for one key ("pair:<email> <address>", "address:<address>",
    "account:<email>", "code:<user id>"), changed only by single atomic UPSERT/UPDATE
    statements so that parallel guesses cannot slip past the limit (see ``auth.throttle``).

    Times are seconds since the epoch (floats), so the statements can do their arithmetic
    the same way on SQLite and PostgreSQL.
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[float] = mapped_column(Float)
    last_failure: Mapped[float] = mapped_column(Float)
    # The earliest time the next try may be made (the account's growing wait).
    next_try: Mapped[float] = mapped_column(Float, default=0.0)
    # When this key last signed in successfully: a (account, address) pair that has is the
    # owner's own, and not held back when the account is under attack from elsewhere.
    last_success: Mapped[float | None] = mapped_column(Float)


class RecoveryCode(db.Model):
    """A one-time code to sign in without the authenticator app, stored hashed."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(128))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
