"""Actions, the commitments made for them, RSVPs, attendance, and public sign-up attempts.

Times are stored in UTC; ``Action.timezone`` (an IANA name) says how to show them.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from organizer.auth.models import User
from organizer.campaigns.models import Campaign
from organizer.db import UTCDateTime, str_enum, utcnow
from organizer.extensions import db
from organizer.institutions.models import Institution
from organizer.people.models import Person


class ActionType(enum.StrEnum):
    HEARING = "hearing"
    ACCOUNTABILITY_SESSION = "accountability_session"
    PUBLIC_MEETING = "public_meeting"
    RALLY = "rally"
    HOUSE_MEETING = "house_meeting"
    RESEARCH_MEETING = "research_meeting"
    TRAINING = "training"


class RsvpStatus(enum.StrEnum):
    YES = "yes"
    MAYBE = "maybe"
    NO = "no"
    # A "yes" from the public sign-up page for somebody already on file: anyone can type a
    # phone number, so it counts for nothing until the person (by text) or staff confirm it.
    PENDING = "pending"


#: The answers a person can give (a pending sign-up is not an answer yet).
ANSWERS = (RsvpStatus.YES, RsvpStatus.MAYBE, RsvpStatus.NO)


class RsvpSource(enum.StrEnum):
    """How an RSVP reached us."""

    ORGANIZER = "organizer"
    LEADER = "leader"
    SIGNUP = "signup"
    SMS = "sms"
    WALK_IN = "walk_in"


def new_signup_token() -> str:
    return secrets.token_urlsafe(16)


class Action(db.Model):
    """A public action or meeting with a turnout goal."""

    __tablename__ = "actions"
    __table_args__ = (Index("ix_actions_starts_at", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    type: Mapped[ActionType] = mapped_column(str_enum(ActionType, 30))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"), index=True)
    # A prep meeting (turnout meeting, research meeting, training) held to build a major action.
    prepares_for_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(255), default="")
    turnout_goal: Mapped[int] = mapped_column(default=0)
    description: Mapped[str | None] = mapped_column(Text)
    signup_token: Mapped[str] = mapped_column(String(40), unique=True, default=new_signup_token)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign | None] = relationship()
    prepares_for: Mapped[Action | None] = relationship(remote_side=[id], back_populates="prep_meetings")
    prep_meetings: Mapped[list[Action]] = relationship(back_populates="prepares_for", order_by="Action.starts_at")
    created_by: Mapped[User | None] = relationship()
    commitments: Mapped[list[TurnoutCommitment]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="TurnoutCommitment.id"
    )

    @property
    def has_started(self) -> bool:
        return self.starts_at <= utcnow()

    def __str__(self) -> str:
        return self.title


class TurnoutCommitment(db.Model):
    """A promise of turnout: an institution ("St. Mark's will bring 40") or a leader ("I will bring 8")."""

    __tablename__ = "turnout_commitments"
    __table_args__ = (
        CheckConstraint("number >= 0", name="number_positive"),
        Index("ix_turnout_commitments_action", "action_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    # An institution's commitment has an institution; a leader's own has none.
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    # Who committed: the leader's account, or for an institution the person who spoke for it.
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    committed_by_name: Mapped[str | None] = mapped_column(String(160))
    number: Mapped[int] = mapped_column()
    note: Mapped[str | None] = mapped_column(String(255))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    action: Mapped[Action] = relationship(back_populates="commitments")
    institution: Mapped[Institution | None] = relationship()
    leader: Mapped[User | None] = relationship(foreign_keys=[leader_id])


class Rsvp(db.Model):
    """A person's answer to an action: yes, maybe or no, with where it came from and who recruited them."""

    __tablename__ = "rsvps"
    __table_args__ = (
        UniqueConstraint("action_id", "person_id"),
        # Covers a person's past answers (the turnout prediction reads each RSVP'd person's
        # history: 15,000 rows at a large federation) without a row lookup for the action.
        Index("ix_rsvps_person_status_action", "person_id", "status", "action_id"),
        # Covers the reports' "RSVPed yes to the actions held in the period", and the turnout
        # page's counts by recruiter, without a row lookup.
        Index("ix_rsvps_action_status_person_recruiter", "action_id", "status", "person_id", "recruited_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    status: Mapped[RsvpStatus] = mapped_column(str_enum(RsvpStatus, 10))
    source: Mapped[RsvpSource] = mapped_column(str_enum(RsvpSource, 20))
    recruited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    action: Mapped[Action] = relationship()
    person: Mapped[Person] = relationship()
    recruited_by: Mapped[User | None] = relationship()


class Attendance(db.Model):
    """A person checked in at an action. The unique pair makes two devices count one arrival once."""

    __tablename__ = "attendances"
    __table_args__ = (
        UniqueConstraint("action_id", "person_id"),
        # Covers "which actions did this person come to" (first-timers, actions attended)
        # without a row lookup.
        Index("ix_attendances_person_action", "person_id", "action_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Came without an RSVP "yes" (walk-in form, or found by search at the door).
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False)

    action: Mapped[Action] = relationship()
    person: Mapped[Person] = relationship()


class AttendanceClaim(db.Model):
    """Someone says they came (a YES to the "did you make it?" text) and was not checked in:
    kept for staff to confirm or dismiss, never counted as attendance by itself. One per
    person and action; a later YES refreshes the open one."""

    __tablename__ = "attendance_claims"
    __table_args__ = (UniqueConstraint("action_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: The reply that made the claim, as received.
    reply_text: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(20))  # "confirmed" or "dismissed"
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    action: Mapped[Action] = relationship()
    person: Mapped[Person] = relationship()


class SignupAttempt(db.Model):
    """One submission of a public sign-up form, kept to rate-limit by address and phone (or
    email), and to cap how many sign-ups an action takes in an hour before holding them."""

    __tablename__ = "signup_attempts"
    __table_args__ = (
        Index("ix_signup_attempts_action_address_at", "action_id", "address", "at"),
        Index("ix_signup_attempts_action_outcome_at", "action_id", "outcome", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(64))
    # The phone (E.164) or email typed, so one household's shared address serves many people.
    contact: Mapped[str | None] = mapped_column(String(254))
    outcome: Mapped[str | None] = mapped_column(String(20))  # "accepted", "held", or None (refused, bad form)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HeldSignup(db.Model):
    """A public sign-up that arrived after the action's hourly cap: nothing is created until
    staff accept it (it then goes through the same rules as any sign-up) or discard it."""

    __tablename__ = "held_signups"
    __table_args__ = (Index("ix_held_signups_open", "decided_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80), default="")
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    sms_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(20))  # "accepted" or "discarded"
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    action: Mapped[Action] = relationship()
    decided_by: Mapped[User | None] = relationship()


class CheckinOp(db.Model):
    """One operation queued by a check-in device (possibly offline) and synced later, kept by
    the id the device gave it so that the same operation sent twice is applied once."""

    __tablename__ = "checkin_ops"

    id: Mapped[int] = mapped_column(primary_key=True)
    op_id: Mapped[str] = mapped_column(String(36), unique=True)  # a UUID made on the device
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))  # "check_in", "undo" or "walk_in"
    status: Mapped[str] = mapped_column(String(20))  # what happened the first time: "done", "already", ...
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActionTurnoutCount(db.Model):
    """An action's answers and arrivals, kept by database triggers on ``rsvps`` and
    ``attendances`` (migration ``actions: turnout counts kept by triggers``) in the same
    transaction as every write, from any code path (pages, the door, merges, imports, raw SQL).

    The turnout page reads its totals here, and the prediction the federation's show-up rate
    (yes answers and those who came, over every earlier action): counting the rows each time
    read ~50,000 RSVPs at a large federation. An action nobody answered has no row (zeros).
    """

    __tablename__ = "action_turnout_counts"

    # No foreign key: the row goes with the action's last RSVP and check-in (see the migration).
    action_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    said_yes: Mapped[int] = mapped_column()
    said_maybe: Mapped[int] = mapped_column()
    said_no: Mapped[int] = mapped_column()
    pending: Mapped[int] = mapped_column()
    attended: Mapped[int] = mapped_column()
    walk_ins: Mapped[int] = mapped_column()
    yes_attended: Mapped[int] = mapped_column()  # said yes and were checked in


class PersonTurnoutCount(db.Model):
    """A person's yes answers to any action, and how many of those they came to, kept by the
    same triggers: the prediction takes each answering person's history from here (less their
    answers to the few actions not before the one predicted) instead of reading every earlier
    answer and check-in of thousands of people.

    ``person_id`` has no foreign key on purpose: a merge re-points every link to a person
    (``organizer.people.merging``), and these figures must follow the RSVPs the merge moves (the
    triggers do that), not be moved themselves. A row counting nothing is deleted (a deleted
    person's goes with their RSVPs; a person who never said yes has none).
    """

    __tablename__ = "person_turnout_counts"

    person_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    said_yes: Mapped[int] = mapped_column()
    yes_attended: Mapped[int] = mapped_column()


class ActionInstitutionCount(db.Model):
    """Per action and institution: its members who said yes, and those checked in (a person in
    two institutions counts in both), kept by the same triggers, also on ``memberships``. The
    turnout page's breakdown by institution reads it instead of every member's answer and
    check-in. No foreign keys, as above: a row counting nothing is deleted."""

    __tablename__ = "action_institution_counts"

    action_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    institution_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    said_yes: Mapped[int] = mapped_column()
    attended: Mapped[int] = mapped_column()


class ActionRecruiterCount(db.Model):
    """Per action and recruiter (who entered the RSVP): the yes answers they entered, and those
    checked in, kept by the same triggers for the turnout page's breakdown by recruiter. No
    foreign keys, as above: a row counting nothing is deleted; an account deleted empties the
    RSVPs' recruiter, which the triggers follow."""

    __tablename__ = "action_recruiter_counts"

    action_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    recruiter_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    said_yes: Mapped[int] = mapped_column()
    yes_attended: Mapped[int] = mapped_column()
