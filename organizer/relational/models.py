"""One-to-ones, their issues and commitments, pipeline stages and every move between them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, Integer, SmallInteger, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from organizer.db import UTCDateTime, str_enum, utcnow
from organizer.extensions import db

if TYPE_CHECKING:
    from organizer.actions.models import Action
    from organizer.auth.models import User
    from organizer.people.models import Person


class MeetingMode(enum.StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    VIDEO = "video"


class CommitmentKind(enum.StrEnum):
    ATTEND_ACTION = "attend_action"
    HOLD_ONE_TO_ONES = "hold_one_to_ones"
    HOST_HOUSE_MEETING = "host_house_meeting"
    JOIN_TEAM = "join_team"
    OTHER = "other"


class CommitmentStatus(enum.StrEnum):
    """Whether a commitment was kept; ``open`` until someone marks it."""

    OPEN = "open"
    KEPT = "kept"
    NOT_KEPT = "not_kept"


class Stage(db.Model):
    """A step of the leadership pipeline (Contact, Prospect, ... Core leader), managed by admins."""

    __tablename__ = "stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    # The stage that "suggested emerging leaders" proposes people for (Emerging leader).
    suggest_for: Mapped[bool] = mapped_column(Boolean, default=False)

    def __str__(self) -> str:
        return self.name


class Issue(db.Model):
    """An issue people raise in one-to-ones (housing, transit, wages...), from a managed list."""

    __tablename__ = "issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)

    def __str__(self) -> str:
        return self.name


one_to_one_issues = Table(
    "one_to_one_issues",
    db.Model.metadata,
    Column("one_to_one_id", ForeignKey("one_to_ones.id", ondelete="CASCADE"), primary_key=True),
    Column("issue_id", ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class OneToOne(db.Model):
    """A relational meeting: who held it, with whom, what we learned, and what comes next."""

    __tablename__ = "one_to_ones"
    __table_args__ = (
        Index("ix_one_to_ones_person_held_on", "person_id", "held_on"),
        Index("ix_one_to_ones_held_by_held_on", "held_by_id", "held_on"),
        Index("ix_one_to_ones_held_by_follow_up", "held_by_id", "follow_up_done_at", "follow_up_on"),
        # Reports count a period's one-to-ones by person: a range on held_on, covered.
        Index("ix_one_to_ones_held_on_person", "held_on", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    held_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    held_on: Mapped[date] = mapped_column(Date)
    duration_minutes: Mapped[int | None] = mapped_column(SmallInteger)
    mode: Mapped[MeetingMode] = mapped_column(str_enum(MeetingMode, 20), default=MeetingMode.IN_PERSON)
    place: Mapped[str | None] = mapped_column(String(160))
    self_interest: Mapped[str | None] = mapped_column(Text)
    story: Mapped[str | None] = mapped_column(Text)
    assessment: Mapped[int | None] = mapped_column(SmallInteger)  # 1-5
    next_step: Mapped[str | None] = mapped_column(String(500))
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    follow_up_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    person: Mapped[Person] = relationship()
    held_by: Mapped[User] = relationship(foreign_keys=[held_by_id])
    issues: Mapped[list[Issue]] = relationship(secondary=one_to_one_issues, order_by=Issue.name)
    commitments: Mapped[list[Commitment]] = relationship(
        back_populates="one_to_one", cascade="all, delete-orphan", order_by="Commitment.id"
    )


class Commitment(db.Model):
    """Something a person agreed to in a one-to-one; marked kept or not kept later."""

    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(primary_key=True)
    one_to_one_id: Mapped[int] = mapped_column(ForeignKey("one_to_ones.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CommitmentKind] = mapped_column(str_enum(CommitmentKind, 30))
    quantity: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[CommitmentStatus] = mapped_column(
        str_enum(CommitmentStatus, 20), default=CommitmentStatus.OPEN
    )
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    one_to_one: Mapped[OneToOne] = relationship(back_populates="commitments")


class PersonPipeline(db.Model):
    """A person's place in the pipeline, and a summary of their one-to-ones for fast lists.

    One row per person who has moved or met; people without a row are at the first stage
    with no one-to-one. The summary columns are kept by the services that log one-to-ones
    (``refresh_summary``), so boards and follow-up lists never aggregate 300,000 meetings.
    """

    __tablename__ = "person_pipeline"
    __table_args__ = (
        Index("ix_person_pipeline_stage_last", "stage_id", "last_one_to_one_on"),
        Index("ix_person_pipeline_last", "last_one_to_one_on"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="RESTRICT"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_one_to_one_on: Mapped[date | None] = mapped_column(Date)
    last_assessment: Mapped[int | None] = mapped_column(SmallInteger)
    one_to_one_count: Mapped[int] = mapped_column(Integer, default=0)

    stage: Mapped[Stage] = relationship()


class StageMove(db.Model):
    """A person moved from one stage to another: when, by whom and why."""

    __tablename__ = "stage_moves"
    __table_args__ = (
        Index("ix_stage_moves_person_moved_at", "person_id", "moved_at"),
        Index("ix_stage_moves_to_stage_moved_at", "to_stage_id", "moved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    from_stage_id: Mapped[int | None] = mapped_column(ForeignKey("stages.id", ondelete="SET NULL"))
    to_stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="RESTRICT"))
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    moved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(500))

    from_stage: Mapped[Stage | None] = relationship(foreign_keys=[from_stage_id])
    to_stage: Mapped[Stage] = relationship(foreign_keys=[to_stage_id])
    moved_by: Mapped[User | None] = relationship(foreign_keys=[moved_by_id])


class ActionFollowUp(db.Model):
    """A follow-up with someone on an action's turnout list (a no-show, a first-timer), for
    the organizer or leader who holds them. One per person, action and list: pressing "Add
    follow-ups" again adds none twice."""

    __tablename__ = "action_follow_ups"
    __table_args__ = (
        UniqueConstraint("action_id", "person_id", "turnout_list"),
        Index("ix_action_follow_ups_assigned_open", "assigned_to_id", "done_at", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    turnout_list: Mapped[str] = mapped_column(String(20))  # see actions.services.TURNOUT_LISTS
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(255), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    action: Mapped[Action] = relationship()
    person: Mapped[Person] = relationship()
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
