"""Campaigns, targets (decision-makers), their positions over time, and who among us can reach them."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from organizer.auth.models import User
from organizer.db import UTCDateTime, str_enum, utcnow
from organizer.extensions import db
from organizer.institutions.models import Institution
from organizer.people.models import Person


class CampaignStatus(enum.StrEnum):
    RESEARCH = "research"
    ACTIVE = "active"
    WON = "won"
    LOST = "lost"
    PAUSED = "paused"


class Position(enum.StrEnum):
    """Where a target stands on our demand, from most to least favourable."""

    CHAMPION = "champion"
    ALLY = "ally"
    UNDECIDED = "undecided"
    OPPONENT = "opponent"
    HOSTILE = "hostile"


class RelationshipKind(enum.StrEnum):
    """How one of our people (or institutions) is connected to a target."""

    CONSTITUENT = "constituent"
    CONGREGANT = "congregant"
    ACQUAINTANCE = "acquaintance"
    WORKED_WITH = "worked_with"
    OTHER = "other"


class TieKind(enum.StrEnum):
    """How one target is connected to another: who influences whom among the powerful."""

    DONOR = "donor"  # from donates to to
    APPOINTED = "appointed"  # from appointed to
    EMPLOYER = "employer"  # from employs to
    MENTOR = "mentor"  # from mentors to
    FAMILY = "family"
    ALLY = "ally"
    BUSINESS_PARTNER = "business_partner"
    RIVAL = "rival"
    OTHER = "other"


#: Kinds that read one way (A appointed B); the others read the same both ways and are stored
#: with the lower target id first, so "A family of B" and "B family of A" are one row.
DIRECTED_TIES = frozenset({TieKind.DONOR, TieKind.APPOINTED, TieKind.EMPLOYER, TieKind.MENTOR})


campaign_institutions = Table(
    "campaign_institutions",
    db.Model.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("institution_id", ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Campaign(db.Model):
    """An issue campaign (transit, wages, housing) that actions belong to."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    issue: Mapped[str] = mapped_column(String(160), default="")
    goal: Mapped[str | None] = mapped_column(Text)
    status: Mapped[CampaignStatus] = mapped_column(str_enum(CampaignStatus, 20), default=CampaignStatus.RESEARCH)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    lead_organizer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lead_organizer: Mapped[User | None] = relationship()
    institutions: Mapped[list[Institution]] = relationship(
        secondary=campaign_institutions, order_by=Institution.name
    )
    targets: Mapped[list[CampaignTarget]] = relationship(back_populates="campaign", cascade="all, delete-orphan")

    def __str__(self) -> str:
        return self.name


class Target(db.Model):
    """A decision-maker: an alderperson, an agency head, a board member."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    title: Mapped[str] = mapped_column(String(160), default="")
    body: Mapped[str] = mapped_column(String(160), default="")  # "City Council, District 3"
    contact: Mapped[str | None] = mapped_column(String(255))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaigns: Mapped[list[CampaignTarget]] = relationship(back_populates="target")
    relationships: Mapped[list[TargetRelationship]] = relationship(
        back_populates="target", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name


class CampaignTarget(db.Model):
    """A target on one campaign's power map: current position and influence (1 to 5)."""

    __tablename__ = "campaign_targets"
    __table_args__ = (
        UniqueConstraint("campaign_id", "target_id"),
        CheckConstraint("influence BETWEEN 1 AND 5", name="influence_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"), index=True)
    position: Mapped[Position] = mapped_column(str_enum(Position, 20), default=Position.UNDECIDED)
    influence: Mapped[int] = mapped_column(default=3)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="targets")
    target: Mapped[Target] = relationship(back_populates="campaigns")
    history: Mapped[list[PositionChange]] = relationship(
        back_populates="campaign_target", cascade="all, delete-orphan",
        order_by="PositionChange.changed_at.desc()",
    )


class PositionChange(db.Model):
    """Every change of a target's position on a campaign, kept with its date and a note."""

    __tablename__ = "position_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_target_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_targets.id", ondelete="CASCADE"), index=True
    )
    previous: Mapped[Position | None] = mapped_column(str_enum(Position, 20))
    position: Mapped[Position] = mapped_column(str_enum(Position, 20))
    note: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    campaign_target: Mapped[CampaignTarget] = relationship(back_populates="history")
    changed_by: Mapped[User | None] = relationship()


class TargetRelationship(db.Model):
    """One of our people, or one of our institutions, can reach a target."""

    __tablename__ = "target_relationships"
    __table_args__ = (
        CheckConstraint(
            "(person_id IS NULL) <> (institution_id IS NULL)", name="person_or_institution"
        ),
        Index("ix_target_relationships_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    kind: Mapped[RelationshipKind] = mapped_column(str_enum(RelationshipKind, 20))
    note: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    target: Mapped[Target] = relationship(back_populates="relationships")
    person: Mapped[Person | None] = relationship()
    institution: Mapped[Institution | None] = relationship()


class TargetTie(db.Model):
    """A relationship between two targets (a donor, an appointee, family): who influences whom.

    Targets are shared by campaigns, so a tie is too: it shows on every power map that has both.
    """

    __tablename__ = "target_ties"
    __table_args__ = (
        UniqueConstraint("from_target_id", "to_target_id", "kind"),
        CheckConstraint("from_target_id <> to_target_id", name="not_self"),
        CheckConstraint("strength BETWEEN 1 AND 3", name="strength_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_target_id: Mapped[int] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    to_target_id: Mapped[int] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[TieKind] = mapped_column(str_enum(TieKind, 20))
    strength: Mapped[int] = mapped_column(default=2)  # 1 weak, 2 moderate, 3 strong
    note: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    from_target: Mapped[Target] = relationship(foreign_keys=[from_target_id])
    to_target: Mapped[Target] = relationship(foreign_keys=[to_target_id])
    created_by: Mapped[User | None] = relationship()

    @property
    def directed(self) -> bool:
        return self.kind in DIRECTED_TIES

    def other_end(self, target_id: int) -> int:
        return self.to_target_id if self.from_target_id == target_id else self.from_target_id

    def __str__(self) -> str:
        return f"{self.from_target_id} {self.kind.value} {self.to_target_id}"
