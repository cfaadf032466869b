"""Member institutions and people's memberships in them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from organizer.db import UTCDateTime, str_enum, utcnow
from organizer.extensions import db
from organizer.people.models import Person
from organizer.settings.models import Neighborhood


class InstitutionType(enum.StrEnum):
    CONGREGATION = "congregation"
    SCHOOL = "school"
    UNION = "union"
    TENANT_ASSOCIATION = "tenant_association"
    NONPROFIT = "nonprofit"
    OTHER = "other"


class InstitutionStatus(enum.StrEnum):
    """Where the institution stands in the federation."""

    PROSPECT = "prospect"
    MEMBER = "member"
    DUES_PAYING = "dues_paying"
    INACTIVE = "inactive"


class MembershipRole(enum.StrEnum):
    MEMBER = "member"
    CLERGY = "clergy"
    CORE_TEAM = "core_team"
    STAFF = "staff"


class Institution(db.Model):
    """A congregation, school, union, tenant association or other member institution."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    type: Mapped[InstitutionType] = mapped_column(str_enum(InstitutionType))
    faith_tradition: Mapped[str | None] = mapped_column(String(80))
    address: Mapped[str | None] = mapped_column(String(255))
    neighborhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighborhoods.id", ondelete="SET NULL"), index=True
    )
    membership_size: Mapped[int | None] = mapped_column(Integer)
    # One-to-ones a month the institution's leaders promised to hold with its members (its
    # share of a relational campaign): what its accountability is counted against.
    monthly_one_to_one_goal: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[InstitutionStatus] = mapped_column(
        str_enum(InstitutionStatus), default=InstitutionStatus.PROSPECT
    )
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    neighborhood: Mapped[Neighborhood | None] = relationship()
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="institution", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name


class Membership(db.Model):
    """A person belongs to an institution, in a role (member, clergy, core team, staff)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("person_id", "institution_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[MembershipRole] = mapped_column(str_enum(MembershipRole), default=MembershipRole.MEMBER)

    person: Mapped[Person] = relationship(back_populates="memberships")
    institution: Mapped[Institution] = relationship(back_populates="memberships")
