"""Reminders before an action: when they go (``SMS_REMINDER_OFFSETS``), the plan an action's
page shows, and queueing the ones due (the worker's periodic task)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from organizer.actions.models import Action, Rsvp, RsvpStatus
from organizer.db import utcnow
from organizer.extensions import db
from organizer.people.models import Person, SmsConsent
from organizer.settings.services import get_organization
from organizer.sms import consent, outbox, sending
from organizer.sms.actions_link import merge_values
from organizer.sms.models import MessageKind, PhoneFlag, PhoneOptOut, ReminderSent

REMINDER = _l("%(org)s: reminder, %(action_title)s is %(action_time)s at %(action_place)s. Reply STOP to opt out.")


def reminder_offsets(config) -> list[int]:
    """``SMS_REMINDER_OFFSETS`` ("24h,2h", "90m") in minutes, largest first."""
    offsets = []
    for part in str(config.get("SMS_REMINDER_OFFSETS") or "").split(","):
        part = part.strip().lower()
        if not part:
            continue
        unit = {"h": 60, "m": 1, "d": 1440}.get(part[-1])
        offsets.append(int(float(part[:-1]) * unit) if unit else int(part))
    return sorted(set(offsets), reverse=True)


def queue_reminders(now: datetime | None = None) -> int:
    """Queue the reminders that are due: each yes-RSVP of an upcoming action, once per
    offset (a ``sms_reminders_sent`` row, unique per action, person and offset, is written
    first). When two offsets are due (a late RSVP), only the nearer one is sent. A reminder
    that falls in quiet hours waits for their end if that is still before the action, and
    is skipped otherwise. Returns how many texts were queued. The caller commits.
    """
    now = now or utcnow()
    offsets = reminder_offsets(current_app.config)
    if not offsets:
        return 0
    horizon = now + timedelta(minutes=offsets[0])
    actions = db.session.scalars(
        select(Action).where(Action.archived_at.is_(None), Action.starts_at > now, Action.starts_at <= horizon)
    ).all()
    org = get_organization()
    queued = 0
    for action in actions:
        due = [o for o in offsets if action.starts_at - timedelta(minutes=o) <= now]
        if not due:
            continue
        current = min(due)
        done = {(p, o) for p, o in db.session.execute(
            select(ReminderSent.person_id, ReminderSent.offset_minutes).where(ReminderSent.action_id == action.id))}
        people = db.session.scalars(
            select(Person).join(Rsvp, Rsvp.person_id == Person.id)
            .where(Rsvp.action_id == action.id, Rsvp.status == RsvpStatus.YES, Person.archived_at.is_(None))
        ).all()
        for person in people:
            for offset in due:
                if (person.id, offset) in done:
                    continue
                # The marker row first: if another sweep wrote it, this one sends nothing.
                marker = ReminderSent(action_id=action.id, person_id=person.id, offset_minutes=offset,
                                      outcome="pending", created_at=now)
                try:
                    with db.session.begin_nested():
                        db.session.add(marker)
                except IntegrityError:
                    continue
                if offset == current:
                    marker.outcome, marker.outbox_id = _reminder(person, action, org, now)
                else:
                    marker.outcome = "superseded"
                queued += marker.outcome == "queued"
    return queued


def _reminder(person, action, org, now) -> tuple[str, int | None]:
    if not person.phone:
        return "skipped: no phone", None
    reason = consent.blocked_reason(person.phone, person)
    if reason:
        return f"skipped: {reason}"[:40], None
    when = sending.next_send_time(person.phone, now, current_app.config, org.timezone, person)
    if when >= action.starts_at:
        return "skipped: quiet hours", None
    values = merge_values(action.id, outbox.language_of(person)) or {}
    body = outbox.in_their_language(person, REMINDER, org=org.name, **values)
    row = outbox.queue_text(person.phone, body, MessageKind.REMINDER, person=person, not_before=when)
    return "queued", row.id


@dataclass
class ReminderSlot:
    """One reminder of an action: how long before, when it goes out (UTC), and to how many.

    ``recipients`` counts yes-RSVPs with a phone that may be texted (not archived, not opted
    out, number not flagged) for a reminder still to come; for one already due it counts the
    reminders actually queued.
    """

    offset_minutes: int
    sends_at: datetime
    recipients: int
    due: bool


def reminder_plan(action: Action, config, now: datetime | None = None) -> list[ReminderSlot]:
    """The reminder schedule of ``action`` from ``SMS_REMINDER_OFFSETS``, largest offset
    first, in two queries. Quiet hours can still delay a text. Raises nothing."""
    now = now or utcnow()
    offsets = reminder_offsets(config)
    if not offsets:
        return []
    textable = db.session.scalar(
        select(func.count()).select_from(Rsvp).join(Person, Person.id == Rsvp.person_id).where(
            Rsvp.action_id == action.id, Rsvp.status == RsvpStatus.YES, Person.archived_at.is_(None),
            Person.phone.is_not(None), Person.phone != "", Person.sms_consent != SmsConsent.OPTED_OUT,
            ~select(PhoneOptOut.phone).where(PhoneOptOut.phone == Person.phone).exists(),
            ~select(PhoneFlag.phone).where(PhoneFlag.phone == Person.phone).exists(),
        )
    ) or 0
    queued = dict(db.session.execute(
        select(ReminderSent.offset_minutes, func.count())
        .where(ReminderSent.action_id == action.id, ReminderSent.outcome == "queued")
        .group_by(ReminderSent.offset_minutes)
    ).all())
    slots = []
    for offset in offsets:
        sends_at = action.starts_at - timedelta(minutes=offset)
        due = sends_at <= now
        slots.append(ReminderSlot(offset, sends_at, queued.get(offset, 0) if due else textable, due))
    return slots

