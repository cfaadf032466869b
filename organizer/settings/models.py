"""The organization's settings row and its managed lists."""

from __future__ import annotations

from sqlalchemy import Boolean, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from organizer.extensions import db
from organizer.people.phones import parse_regions


class Organization(db.Model):
    """The federation itself: one row, read by every area (time zone, phone region, SMS texts)."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="Our Federation")
    timezone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    default_phone_region: Mapped[str] = mapped_column(String(2), default="US")
    #: Where members commonly come from besides home ("MX SV GT", ISO codes): a number typed
    #: without a country code that is valid in several of them is asked about, never guessed.
    member_phone_regions: Mapped[str] = mapped_column(String(120), default="", server_default="")
    sms_help_text: Mapped[str] = mapped_column(Text, default="")
    going_cold_days: Mapped[int] = mapped_column(default=90)
    # Admins and organizers must sign in with an authenticator app as well as their password.
    require_two_factor_for_staff: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Text the person a confirmation (time, place, calendar link) when staff record their yes.
    text_staff_rsvp_confirmations: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    @property
    def member_regions(self) -> list[str]:
        """The member countries' ISO codes besides home, in the order the admin listed them."""
        return [r for r in parse_regions(self.member_phone_regions or "") if r != self.default_phone_region]


class Neighborhood(db.Model):
    """A neighborhood of the metro area, from a list the admins manage."""

    __tablename__ = "neighborhoods"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)

    def __str__(self) -> str:
        return self.name


class Tag(db.Model):
    """A label for people (a team, a skill, an interest), from a managed list."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)

    def __str__(self) -> str:
        return self.name
