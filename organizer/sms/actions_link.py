"""Where texting meets actions and RSVPs, read side: merge fields of an action, the
RSVP-status audience, an RSVP answered by text, and RSVP counts.

Everything the SMS area reads from ``organizer.actions`` and ``organizer.campaigns`` goes
through here. The texts about actions (reminders, sign-up confirmations) are in
``organizer.sms.reminders`` and ``organizer.sms.signups``: they queue texts, and the modules
that queue texts use this one, not the other way round.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, select

from organizer.actions.models import Action, Rsvp, RsvpStatus
from organizer.actions.services import upcoming_actions
from organizer.campaigns.models import Campaign
from organizer.extensions import db
from organizer.people.models import Person
from organizer.sms.outbox import in_their_language, language_of, taken_to

if TYPE_CHECKING:
    from organizer.sms.models import Mobilization


#: How long after a "Reply YES to RSVP" text a lone YES or NO still answers it.
RSVP_REPLY_WINDOW = timedelta(days=14)


CONFIRMATION = _l("Thanks %(first_name)s! You're confirmed for %(action_title)s, %(action_time)s at %(action_place)s.")


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
            taken_to(person),
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
    values = merge_values(action.id, language_of(person)) or {}
    return in_their_language(person, CONFIRMATION, first_name=person.preferred_name or person.first_name, **values)


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

