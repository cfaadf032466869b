"""SMS tables: mobilizations, the outbox (one row per outgoing text), inbound texts,
conversation threads, webhook deduplication, phone flags and opt-outs by number.

The outbox row is the source of truth for every text: it exists (committed) before
anything is sent, the worker claims it before calling the provider, and the provider's
SID is stored on it afterwards. A mobilization can never text one person or one number
twice: two unique constraints say so, not a check in code.
"""

from __future__ import annotations

import enum
from datetime import datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, Numeric, String, Text, Time, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from organizer.db import UTCDateTime, str_enum, utcnow
from organizer.extensions import db

if TYPE_CHECKING:
    from organizer.actions.models import Action
    from organizer.auth.models import User
    from organizer.people.models import Person


class MobilizationKind(enum.StrEnum):
    """Broadcast: the worker sends to the whole audience. P2P: a leader sends one text at a time."""

    BROADCAST = "broadcast"
    P2P = "p2p"


class MobilizationStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    DONE = "done"
    CANCELED = "canceled"


class OutboxStatus(enum.StrEnum):
    """Twilio's lifecycle as seen from our side, plus ``unknown``.

    ``queued``: waiting in our outbox. ``sending``: claimed by a worker, or accepted by
    Twilio and not yet handed to a carrier (``sid`` tells which). ``unknown``: a send whose
    outcome could not be established; a person decides.
    """

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELED = "canceled"
    UNKNOWN = "unknown"
    #: Waits for staff: the number is shared with a person outside the sender's list (see
    #: ``people.models.PhoneConflict``). Released to ``queued`` or canceled when they decide.
    HELD = "held"


FINAL_STATUSES = frozenset(
    {OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.UNDELIVERED, OutboxStatus.FAILED,
     OutboxStatus.CANCELED, OutboxStatus.UNKNOWN}
)  # fmt: skip


class MessageKind(enum.StrEnum):
    """Why a text is sent; decides which checks apply just before sending."""

    MOBILIZATION = "mobilization"
    REPLY = "reply"  # an organizer or leader answering from a thread
    TEST = "test"  # a test send to the composer's own phone
    AUTO_REPLY = "auto_reply"  # HELP text, RSVP confirmation: answers the person's own text
    OPT_OUT_CONFIRMATION = "opt_out_confirmation"  # the one text allowed after an opt-out
    REMINDER = "reminder"
    # "Reply YES to confirm" to the owner of a number typed on the public sign-up page: not an
    # answer to their own text, so quiet hours apply as for any text we start.
    SIGNUP_CONFIRMATION = "signup_confirmation"
    # "You're confirmed for <action>, <time> at <place>. Calendar: <link>" after a yes (issue 14).
    ACTION_CONFIRMATION = "action_confirmation"


class MobilizationPurpose(enum.StrEnum):
    """What a mobilization asks, when its replies mean something: YES to a "did you make it?"
    text (see ``sms.after_action``) is a claim of attendance for staff to confirm."""

    DID_YOU_MAKE_IT = "did_you_make_it"


class Mobilization(db.Model):
    """A text sent to an audience, for an action, a campaign or on its own."""

    __tablename__ = "sms_mobilizations"
    __table_args__ = (Index("ix_sms_mobilizations_status_scheduled", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[MobilizationKind] = mapped_column(str_enum(MobilizationKind, 20), default=MobilizationKind.BROADCAST)
    status: Mapped[MobilizationStatus] = mapped_column(
        str_enum(MobilizationStatus, 20), default=MobilizationStatus.DRAFT
    )
    body: Mapped[str] = mapped_column(Text)
    # What the body is written in: the automatic parts (RSVP prompt, {action_time}) follow it.
    text_language: Mapped[str] = mapped_column(String(10), default="en", server_default="en")
    #: The audience filters (see ``audiences.AudienceFilter``), stored as given.
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rsvp_prompt: Mapped[bool] = mapped_column(Boolean, default=False)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"), index=True)
    purpose: Mapped[MobilizationPurpose | None] = mapped_column(str_enum(MobilizationPurpose, 30))
    #: The action a purposeful text asks about (a "did you make it?" text's past action).
    purpose_action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"), index=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_reason: Mapped[str | None] = mapped_column(String(255))
    #: Last sign of life of a worker sending this mobilization (the sweep restarts stale ones).
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    excluded_opted_out: Mapped[int] = mapped_column(Integer, default=0)
    excluded_no_phone: Mapped[int] = mapped_column(Integer, default=0)
    excluded_invalid: Mapped[int] = mapped_column(Integer, default=0)
    excluded_duplicate: Mapped[int] = mapped_column(Integer, default=0)

    created_by: Mapped[User | None] = relationship()

    @property
    def excluded_total(self) -> int:
        return self.excluded_opted_out + self.excluded_no_phone + self.excluded_invalid + self.excluded_duplicate

    def __str__(self) -> str:
        return self.title


class OutboxMessage(db.Model):
    """One outgoing text, written before it is sent."""

    __tablename__ = "sms_outbox"
    __table_args__ = (
        # NULL mobilization (replies, tests, reminders) is never "equal", so these
        # constraints only bind texts of the same mobilization.
        UniqueConstraint("mobilization_id", "person_id", name="uq_sms_outbox_mobilization_person"),
        UniqueConstraint("mobilization_id", "phone", name="uq_sms_outbox_mobilization_phone"),
        # Partial indexes: a launch writes tens of thousands of rows at once, and each full index
        # whose order is not the rows' (a person's, a number's) takes them all over its pages.
        # The indexes over texts' history hold only texts Twilio took (``sid``) or sent
        # (``sent_at``): a launch's rows join them one at a time, as they are sent. The queries
        # they serve carry the same condition (``tests/sms/test_outbox_indexes.py`` pins them).
        # A SID is Twilio's for one text. Unsent texts (NULL) are left out: a launch writes its
        # rows without touching it, and SQLite cannot take it to look for ``sid IS NULL``.
        Index("uq_sms_outbox_sid", "sid", unique=True,
              sqlite_where=text("sid IS NOT NULL"), postgresql_where=text("sid IS NOT NULL")),
        # Texts not yet taken by Twilio (queued, claimed, held; and canceled ones), for the sweep.
        Index("ix_sms_outbox_status_not_before", "status", "not_before",
              sqlite_where=text("sid IS NULL"), postgresql_where=text("sid IS NULL")),
        # Covers the per-mobilization counts (status, and whether Twilio took it) without table reads.
        Index("ix_sms_outbox_mobilization_status_sid", "mobilization_id", "status", "sid"),
        # The texts Twilio took, by number: what an inbound reply answers (RSVP, "did you make it?").
        Index("ix_sms_outbox_phone_created", "phone", "created_at",
              sqlite_where=text("sid IS NOT NULL"), postgresql_where=text("sid IS NOT NULL")),
        # The texts not yet taken, by number: what an opt-out cancels, a send still in flight.
        Index("ix_sms_outbox_phone_unsent", "phone",
              sqlite_where=text("sid IS NULL"), postgresql_where=text("sid IS NULL")),
        # The texts of an unknown contact's thread (no person to look them up by).
        Index("ix_sms_outbox_phone_no_person", "phone",
              sqlite_where=text("person_id IS NULL"), postgresql_where=text("person_id IS NULL")),
        # Covers the equity dashboard's per-person texting facts (texted, delivered in a period)
        # in person order, so the aggregate reads no table rows and needs no sort. Texts sent only:
        # every person's texts, whatever their state, are found through ix_sms_outbox_person_id.
        Index("ix_sms_outbox_person_sent_status", "person_id", "sent_at", "status",
              sqlite_where=text("sent_at IS NOT NULL"), postgresql_where=text("sent_at IS NOT NULL")),
        # The monthly chart on /sms/ counts each status's texts in each month's range of
        # sending times from this index alone (a year of a large federation is a million texts).
        Index("ix_sms_outbox_status_sent", "status", "sent_at",
              sqlite_where=text("sent_at IS NOT NULL"), postgresql_where=text("sent_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mobilization_id: Mapped[int | None] = mapped_column(ForeignKey("sms_mobilizations.id", ondelete="CASCADE"))
    #: Indexed whole (narrow, so a launch's rows touch few of its pages): every text of a person
    #: (their page and thread, a person deleted or merged), whatever its state.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    body: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(8))
    segments: Mapped[int] = mapped_column(Integer)  # our estimate (encoding.analyze)
    #: What Twilio billed: its ``num_segments`` and the price (positive, in ``price_unit``),
    #: when its answer or a status callback carried them.
    provider_segments: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 5))
    price_unit: Mapped[str | None] = mapped_column(String(3))
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind, 30), default=MessageKind.MOBILIZATION)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, 20), default=OutboxStatus.QUEUED)
    provider_status: Mapped[str | None] = mapped_column(String(20))
    sid: Mapped[str | None] = mapped_column(String(64))  # unique: uq_sms_outbox_sid
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Not to be sent before this moment (schedule, quiet hours, retry backoff).
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    mobilization: Mapped[Mobilization | None] = relationship()
    person: Mapped[Person | None] = relationship()
    sent_by: Mapped[User | None] = relationship()


class Conversation(db.Model):
    """The thread of texts with one person at one number, or with an unknown number until
    staff match it.

    A thread belongs to a person, not to a number: a household phone shared by two people
    (or typed twice) has a thread per person, and whoever may see a person reads that
    person's texts only.
    """

    __tablename__ = "sms_conversations"
    __table_args__ = (
        Index("ix_sms_conversations_last_message", "last_message_at"),
        UniqueConstraint("phone", "person_id", name="uq_sms_conversations_phone_person"),
        # NULLs are distinct in the constraint above: one unknown-contact thread per number.
        Index("uq_sms_conversations_unknown_phone", "phone", unique=True,
              sqlite_where=text("person_id IS NULL"), postgresql_where=text("person_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    unread: Mapped[int] = mapped_column(Integer, default=0)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person | None] = relationship()
    assigned_to: Mapped[User | None] = relationship()


class InboundMessage(db.Model):
    """A text someone sent us (deduplicated on Twilio's MessageSid)."""

    __tablename__ = "sms_inbound"
    # Covers the equity dashboard's "replied in the period" per person without table reads.
    __table_args__ = (Index("ix_sms_inbound_person_received", "person_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("sms_conversations.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    from_phone: Mapped[str] = mapped_column(String(20))
    to_phone: Mapped[str] = mapped_column(String(20), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    keyword: Mapped[str] = mapped_column(String(20))
    #: What the app did with it: opted_out, opted_in, rsvp_yes, rsvp_no, help, flagged...
    outcome: Mapped[str | None] = mapped_column(String(30))
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    conversation: Mapped[Conversation] = relationship()
    person: Mapped[Person | None] = relationship()


class StatusEvent(db.Model):
    """A status callback received (one per SID and status: Twilio retries and duplicates)."""

    __tablename__ = "sms_status_events"
    __table_args__ = (UniqueConstraint("message_sid", "status", name="uq_sms_status_events_sid_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[int | None] = mapped_column(Integer)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("sms_outbox.id", ondelete="SET NULL"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PhoneFlag(db.Model):
    """A number Twilio said cannot take texts (invalid, landline, nonexistent, blocked: see
    ``error_codes.RULES``): later mobilizations leave it out until staff clear the flag."""

    __tablename__ = "sms_phone_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    reason: Mapped[str] = mapped_column(String(255))
    error_code: Mapped[int | None] = mapped_column(Integer)
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PhoneOptOut(db.Model):
    """A number that opted out. Kept apart from people, so a number that texted STOP before
    it belonged to anyone is never texted when it later becomes a person's."""

    __tablename__ = "sms_opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    source: Mapped[str] = mapped_column(String(80))
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SenderPace(db.Model):
    """The next free sending slot of a sender, shared by every worker (pacing)."""

    __tablename__ = "sms_sender_pace"

    sender: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Unix time (seconds) of the next free slot.
    next_slot: Mapped[float] = mapped_column(Float, default=0.0)


class ReminderSent(db.Model):
    """A reminder before an action, one per person and offset: the unique constraint is what
    keeps a reminder from going out twice."""

    __tablename__ = "sms_reminders_sent"
    __table_args__ = (
        UniqueConstraint("action_id", "person_id", "offset_minutes", name="uq_sms_reminders_sent_action_person_offset"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    offset_minutes: Mapped[int] = mapped_column(Integer)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("sms_outbox.id", ondelete="SET NULL"))
    #: "queued", or why it was skipped (quiet hours until the action, opted out, no phone).
    outcome: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VerifiedNumber(db.Model):
    """A number an admin checked belongs to a user: their test texts may go there.

    Test sends go only to the user's own phone on file or to these, never to a number
    typed on the compose page, so an account cannot text strangers from our number.
    """

    __tablename__ = "sms_verified_numbers"
    __table_args__ = (UniqueConstraint("user_id", "phone", name="uq_sms_verified_numbers_user_phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])


class StateQuietHours(db.Model):
    """A US state's own window for texts, in the recipient's local time (stricter than the
    federation's ``SMS_QUIET_HOURS``). Seeded from ``local_time.DEFAULT_STATE_RULES``; admins
    edit them."""

    __tablename__ = "sms_state_quiet_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(2), unique=True)  # USPS code: FL, OK, MD...
    #: Texts may be delivered from ``allowed_from`` to ``allowed_until`` local time.
    allowed_from: Mapped[time] = mapped_column(Time)
    allowed_until: Mapped[time] = mapped_column(Time)
    source: Mapped[str] = mapped_column(String(255), default="")


class ReplyRsvp(db.Model):
    """An RSVP recorded from an inbound reply (read automatically, or with a tap in the
    thread), with the answer it replaced so that Undo can put that back.

    ``previous_status`` ``None``: the person had no RSVP to the action before. An undone row
    stays (with ``undone_at``) as the history of the thread; at most one row per reply is live.
    """

    __tablename__ = "sms_reply_rsvps"

    id: Mapped[int] = mapped_column(primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("sms_inbound.id", ondelete="CASCADE"), index=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    previous_status: Mapped[str | None] = mapped_column(String(10))
    previous_source: Mapped[str | None] = mapped_column(String(20))
    #: ``None``: read from the reply by the app; else who tapped "Record".
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    inbound: Mapped[InboundMessage] = relationship()
    action: Mapped[Action] = relationship("Action")
