"""Where texting meets actions and RSVPs: merge fields, the RSVP-status audience, "Reply
YES to RSVP", reminders before an action, and RSVP counts.

Everything the SMS area needs from ``organizer.actions`` and ``organizer.campaigns`` goes
through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError

from organizer.actions.models import Action, Rsvp, RsvpSource, RsvpStatus
from organizer.actions.services import record_rsvp, upcoming_actions
from organizer.campaigns.models import Campaign
from organizer.db import utcnow
from organizer.extensions import db
from organizer.people.models import Person

if TYPE_CHECKING:
    from organizer.sms.models import Mobilization

#: How long after a "Reply YES to RSVP" text a lone YES or NO still answers it.
RSVP_REPLY_WINDOW = timedelta(days=14)
CONFIRMATION = _l("Thanks %(first_name)s! You're confirmed for %(action_title)s, %(action_time)s at %(action_place)s.")
REMINDER = _l("%(org)s: reminder, %(action_title)s is %(action_time)s at %(action_place)s. Reply STOP to opt out.")
SIGNUP_CONFIRM = _l("%(org)s: someone signed you up for %(action_title)s, %(action_time)s at %(action_place)s. "
                    "Reply YES to confirm or NO if you are not coming.")
#: How a text writes an action's start, by language.
TIME_PATTERNS = {"en": "EEE MMM d, h:mm a", "es": "EEEE d 'de' MMMM, h:mm a"}


def action_time(action: Action, language: str = "en") -> str:
    """The start in the action's own time zone, as texts write it ("Tue Mar 10, 6:00 PM";
    in Spanish "martes 10 de marzo, 6:00 p.m.")."""
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime

    local = action.starts_at.astimezone(ZoneInfo(action.timezone))
    pattern = TIME_PATTERNS.get(language, TIME_PATTERNS["en"])
    text = format_datetime(local, pattern, locale=language if language in TIME_PATTERNS else "en")
    # CLDR puts no-break spaces in "p. m."; they are not GSM-7 and would double the price.
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def signup_url(action: Action) -> str:
    """The public sign-up page of the action, absolute (``PUBLIC_BASE_URL`` when set)."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not base and has_request_context():
        base = request.host_url.rstrip("/")
    return f"{base}/signup/{action.signup_token}"


def merge_values(action_id: int, language: str = "en") -> dict[str, str] | None:
    """``{action_title}``, ``{action_time}``, ``{action_place}``, ``{rsvp_link}`` for the
    action, or ``None`` when it does not exist. Raises nothing."""
    action = db.session.get(Action, action_id)
    if action is None:
        return None
    return {"action_title": action.title, "action_time": action_time(action, language),
            "action_place": action.location or "", "rsvp_link": signup_url(action)}


def action_summary(action_id: int | None, language: str = "en") -> dict[str, str] | None:
    """Title, time and place of the action, for the mobilization page (in the viewer's ``language``)."""
    if action_id is None:
        return None
    values = merge_values(action_id, language)
    if values is None:
        return None
    return {"title": values["action_title"], "time": values["action_time"], "place": values["action_place"]}


def action_choices(language: str = "en") -> list[tuple[int, str]]:
    """Upcoming actions a mobilization can be for, as select choices (in the viewer's ``language``)."""
    return [(a.id, f"{a.title} ({action_time(a, language)})") for a in upcoming_actions()]


def campaign_choices() -> list[tuple[int, str]]:
    """Campaigns a mobilization can be for, as select choices."""
    return [(c.id, c.name) for c in db.session.scalars(select(Campaign).order_by(Campaign.name))]


def rsvp_condition(action_id: int, status: str) -> ColumnElement[bool]:
    """People whose RSVP to the action is ``status`` ("none": who has not answered)."""
    answered = select(Rsvp.person_id).where(Rsvp.action_id == action_id)
    if status == "none":
        return Person.id.not_in(answered)
    return Person.id.in_(answered.where(Rsvp.status == RsvpStatus(status)))


def ask_to_confirm_signup(rsvp: Rsvp) -> bool:
    """Text the owner of the number a public sign-up matched, asking them to reply YES to
    confirm (registered with the actions area as a sign-up confirmer). Nothing is sent to a
    number that may not be texted, nor when quiet hours last until the action starts.
    Returns whether a text was queued (it goes after the commit). Raises nothing."""
    from organizer.settings.services import get_organization
    from organizer.sms import sending, services
    from organizer.sms.models import MessageKind

    person, action = rsvp.person, rsvp.action
    if rsvp.status is not RsvpStatus.PENDING:  # a new person's yes is confirmed by sms.confirmations
        return False
    if not person.phone or services.blocked_reason(person.phone, person):
        return False
    org = get_organization()
    now = utcnow()
    when = sending.next_send_time(person.phone, now, current_app.config, org.timezone)
    if when >= action.starts_at:
        return False
    values = merge_values(action.id, services.language_of(person)) or {}
    body = services.in_their_language(person, SIGNUP_CONFIRM, org=org.name, **values)
    services.queue_text(person.phone, body, MessageKind.SIGNUP_CONFIRMATION, person=person, not_before=when)
    return True


def send_signup_confirmations() -> None:
    """Hand the confirmation texts queued by :func:`ask_to_confirm_signup` to the worker, after
    the sign-up's commit. The task module is imported here, not when the app is built: with
    that import in ``create_app`` (which the worker runs inside a task), the restarted worker of
    tests/sms/test_crash.py left its mobilization unfinished (3 runs of 3; why is not known)."""
    from organizer.sms.tasks import dispatch_noted

    dispatch_noted()


def _pending_signup(person: Person, now: datetime) -> Rsvp | None:
    """The person's latest sign-up waiting for confirmation, for an action not yet started."""
    return db.session.scalar(
        select(Rsvp).join(Action, Action.id == Rsvp.action_id)
        .where(Rsvp.person_id == person.id, Rsvp.status == RsvpStatus.PENDING, Action.starts_at > now,
               Action.archived_at.is_(None), Rsvp.updated_at >= now - RSVP_REPLY_WINDOW)
        .order_by(Rsvp.updated_at.desc(), Rsvp.id.desc()).limit(1)
    )


def asked_about(person: Person, now: datetime) -> tuple[Action, Rsvp | None] | None:
    """The action ``person`` was last asked to answer, within two weeks and not started: a
    mobilization's "Reply YES to RSVP", or a sign-up waiting for their confirmation (then
    returned with it), whichever came later; ``None`` when there is none. Two queries."""
    from organizer.sms.models import Mobilization, OutboxMessage

    pending = _pending_signup(person, now)
    asked_row = db.session.execute(
        select(Action, OutboxMessage.created_at)
        .join(Mobilization, Mobilization.action_id == Action.id)
        .join(OutboxMessage, OutboxMessage.mobilization_id == Mobilization.id)
        .where(
            Mobilization.rsvp_prompt,
            OutboxMessage.sid.is_not(None),
            (OutboxMessage.person_id == person.id) | (OutboxMessage.phone == person.phone),
            OutboxMessage.created_at >= now - RSVP_REPLY_WINDOW,
            Action.starts_at > now,
            Action.archived_at.is_(None),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    if pending is not None and (asked_row is None or pending.updated_at >= asked_row[1]):
        return pending.action, pending
    return (asked_row[0], None) if asked_row is not None else None


def confirmation_reply(person: Person, action: Action) -> str:
    """The "You're confirmed" text answering a yes, in the person's language."""
    from organizer.sms.services import in_their_language, language_of

    values = merge_values(action.id, language_of(person)) or {}
    return in_their_language(person, CONFIRMATION, first_name=person.preferred_name or person.first_name, **values)


def answer_rsvp(person: Person, yes: bool, now: datetime) -> str | None:
    """Record a YES/NO text as an RSVP (source: SMS) to the action the person was last
    asked about (:func:`asked_about`): YES confirms a sign-up waiting for them, NO turns it
    into a "no".

    Returns the confirmation to text back ("" for none after a NO), or ``None`` when the
    text was not an RSVP answer. Raises nothing.
    """
    asked = asked_about(person, now)
    if asked is None:
        return None
    action, pending = asked
    # A sign-up's source stays: the text only confirms (or denies) what the form said.
    record_rsvp(action, person, RsvpStatus.YES if yes else RsvpStatus.NO, pending.source if pending else RsvpSource.SMS)
    return confirmation_reply(person, action) if yes else ""


def rsvp_yes_count(mobilization: Mobilization) -> int:
    """How many people texted by ``mobilization`` have said yes to its action."""
    if mobilization.action_id is None:
        return 0
    from organizer.sms.models import OutboxMessage

    texted = select(OutboxMessage.person_id).where(OutboxMessage.mobilization_id == mobilization.id,
                                                   OutboxMessage.sid.is_not(None))
    return db.session.scalar(
        select(func.count()).select_from(Rsvp).where(
            Rsvp.action_id == mobilization.action_id, Rsvp.status == RsvpStatus.YES, Rsvp.person_id.in_(texted))
    ) or 0


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
    from organizer.settings.services import get_organization
    from organizer.sms import sending, services
    from organizer.sms.models import MessageKind, ReminderSent

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
                    marker.outcome, marker.outbox_id = _reminder(person, action, org, now, sending, services,
                                                                 MessageKind)
                else:
                    marker.outcome = "superseded"
                queued += marker.outcome == "queued"
    return queued


def _reminder(person, action, org, now, sending, services, kind) -> tuple[str, int | None]:
    if not person.phone:
        return "skipped: no phone", None
    reason = services.blocked_reason(person.phone, person)
    if reason:
        return f"skipped: {reason}"[:40], None
    when = sending.next_send_time(person.phone, now, current_app.config, org.timezone, person)
    if when >= action.starts_at:
        return "skipped: quiet hours", None
    values = merge_values(action.id, services.language_of(person)) or {}
    body = services.in_their_language(person, REMINDER, org=org.name, **values)
    row = services.queue_text(person.phone, body, kind.REMINDER, person=person, not_before=when)
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
    from organizer.people.models import SmsConsent
    from organizer.sms.models import PhoneFlag, PhoneOptOut, ReminderSent

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
