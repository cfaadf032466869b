"""RSVPs from replies: read a yes, no or maybe out of what a person texted back, record it
(source: text reply), and let the thread show it, undo it, or record one by hand.

Which action a reply answers:

- a lone YES or NO (a keyword) answers the action the person was last *asked* about
  (:func:`organizer.sms.actions_link.asked_about`: "Reply YES to RSVP", or their sign-up
  waiting for confirmation), as it always has;
- a reply in words ("Sí, ahí estaré") answers the action they were last *texted* about
  (:func:`last_texted_action`): a mobilization for an action, a reminder, or a pending
  sign-up, within two weeks, for an action not yet started.

Never over the person's own answer. When the person already told us something else
themselves (by text, or on the sign-up page), a reply in words is recorded only when it says
they changed their mind ("ya no puedo", "changed my mind, I'll be there"); otherwise it is
left unsure, for an organizer to read. A lone YES or NO right after the ask is clear enough
to replace it, as before. An answer staff recorded for them (an organizer, a leader, a
walk-in) gives way to the person's own clear reply: they know best.

Every RSVP recorded from a reply keeps a :class:`ReplyRsvp` row with the answer it replaced,
so the thread can show "Recorded: yes for <action>" and Undo puts the earlier answer back
(both audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from organizer.actions.models import ANSWERS, Action, Rsvp, RsvpSource, RsvpStatus
from organizer.actions.services import record_rsvp, upcoming_actions
from organizer.audit.services import record
from organizer.auth.models import User
from organizer.db import utcnow
from organizer.extensions import db
from organizer.people.models import Person
from organizer.sms import actions_link
from organizer.sms.models import (
    InboundMessage,
    Mobilization,
    OutboxMessage,
    ReminderSent,
    ReplyRsvp,
)
from organizer.sms.outbox import taken_to
from organizer.sms.rsvp_intent import Intent, changes_answer, read_intent

#: Answers the person gave us themselves (a reply in words does not overrule these lightly).
OWN_SOURCES = frozenset({RsvpSource.SMS, RsvpSource.SIGNUP})
#: What ``InboundMessage.outcome`` says of a reply that looked like an answer but was unclear.
UNSURE = "rsvp_unsure"
#: Replies that were a consent keyword or could not be processed: never an RSVP.
_NOT_ANSWERS = frozenset({"opted_out", "opted_in", "help", "flagged", "unprocessed"})


class ReplyRsvpError(ValueError):
    """An RSVP from a reply that cannot be recorded or undone (the message says why)."""


def last_texted_action(person: Person, now: datetime) -> tuple[Action, Rsvp | None] | None:
    """The upcoming action ``person`` was last texted about within two weeks: a sent
    mobilization text for an action, a reminder, or their sign-up waiting for confirmation
    (then returned with it). ``None`` when there is none. Three queries. Raises nothing."""
    since = now - actions_link.RSVP_REPLY_WINDOW
    upcoming = (Action.starts_at > now) & Action.archived_at.is_(None)
    texted = db.session.execute(
        select(Mobilization.action_id, OutboxMessage.created_at)
        .join(OutboxMessage, OutboxMessage.mobilization_id == Mobilization.id)
        .join(Action, Action.id == Mobilization.action_id)
        .where(taken_to(person), OutboxMessage.created_at >= since, upcoming)
        .order_by(OutboxMessage.id.desc()).limit(1)
    ).first()
    reminded = db.session.execute(
        select(ReminderSent.action_id, ReminderSent.created_at)
        .join(Action, Action.id == ReminderSent.action_id)
        .where(ReminderSent.person_id == person.id, ReminderSent.outcome == "queued",
               ReminderSent.created_at >= since, upcoming)
        .order_by(ReminderSent.id.desc()).limit(1)
    ).first()
    pending = actions_link._pending_signup(person, now)
    candidates = [(row[1], row[0], None) for row in (texted, reminded) if row is not None]
    if pending is not None:
        candidates.append((pending.updated_at, pending.action_id, pending))
    if not candidates:
        return None
    _when, action_id, rsvp = max(candidates, key=lambda c: c[0])
    return db.session.get(Action, action_id), rsvp


def _current(action: Action, person: Person) -> Rsvp | None:
    return db.session.scalar(select(Rsvp).where(Rsvp.action_id == action.id, Rsvp.person_id == person.id))


def _record(message: InboundMessage, person: Person, action: Action, status: RsvpStatus,
            actor: User | None) -> ReplyRsvp:
    """Record ``status`` from ``message`` and keep what it replaced. A sign-up waiting for
    confirmation keeps its source (the reply confirms what the form said); otherwise the
    source is the text reply."""
    current = _current(action, person)
    previous = (current.status, current.source) if current is not None else (None, None)
    source = current.source if current is not None and current.status is RsvpStatus.PENDING else RsvpSource.SMS
    record_rsvp(action, person, status, source, actor=actor)
    link = ReplyRsvp(inbound_id=message.id, action_id=action.id, person_id=person.id, status=status.value,
                     previous_status=previous[0].value if previous[0] else None,
                     previous_source=previous[1].value if previous[1] else None,
                     recorded_by_id=actor.id if actor else None, created_at=utcnow())
    db.session.add(link)
    message.outcome = f"rsvp_{status.value}"
    db.session.flush()
    return link


def answer(message: InboundMessage, person: Person, now: datetime) -> str | None:
    """Read ``message`` (an inbound reply of ``person`` that is not STOP, START or HELP) as
    an RSVP and record it when it is clear (see the module docstring for which action and
    when an earlier answer may be replaced). An unclear one gets the outcome "rsvp_unsure".

    Returns the confirmation to text back after a yes, "" when nothing is to be texted
    back, ``None`` when the reply was not recorded as an RSVP. The caller commits.
    Raises nothing.
    """
    exact = message.keyword in (Intent.YES.value, Intent.NO.value)
    intent = Intent(message.keyword) if exact else read_intent(message.body)
    if intent is Intent.NONE:
        return None
    if intent is Intent.UNSURE:
        message.outcome = UNSURE
        return None
    target = actions_link.asked_about(person, now) if exact else last_texted_action(person, now)
    if target is None:
        return None
    action = target[0]
    status = RsvpStatus(intent.value)
    current = _current(action, person)
    if (not exact and current is not None and current.status in ANSWERS and current.status is not status
            and current.source in OWN_SOURCES and not changes_answer(message.body)):
        message.outcome = UNSURE
        return None
    _record(message, person, action, status, None)
    return actions_link.confirmation_reply(person, action) if status is RsvpStatus.YES else ""


def may_record_from(message: InboundMessage) -> bool:
    """Whether staff may record an RSVP from ``message`` by hand: a reply of a known person
    that was not a consent keyword and has no RSVP recorded from it now. Raises nothing."""
    return message.person_id is not None and message.outcome not in _NOT_ANSWERS and (
        message.keyword in ("yes", "no", "other"))


def live_link(message_id: int) -> ReplyRsvp | None:
    """The RSVP recorded from the reply and not undone, if any. One query."""
    return db.session.scalar(select(ReplyRsvp).where(ReplyRsvp.inbound_id == message_id,
                                                     ReplyRsvp.undone_at.is_(None)))


def record_from_thread(message: InboundMessage, action: Action, status: RsvpStatus, actor: User) -> ReplyRsvp:
    """Staff (or the person's leader) read an unclear reply and record its answer with one
    tap. The caller checked that ``actor`` may read the thread, and commits.

    :raise ReplyRsvpError: when the reply is not one an RSVP can come from, one is already
        recorded from it, the answer is not yes, no or maybe, or the action is archived or over.
    """
    if status not in ANSWERS:
        raise ReplyRsvpError(_("Choose yes, no or maybe."))
    if not may_record_from(message):
        raise ReplyRsvpError(_("No RSVP can be recorded from this text."))
    if live_link(message.id) is not None:
        raise ReplyRsvpError(_("An RSVP is already recorded from this text. Undo it first."))
    if action.archived_at is not None or action.ends_at <= utcnow():
        raise ReplyRsvpError(_("This action is over."))
    person = db.session.get(Person, message.person_id)
    link = _record(message, person, action, status, actor)
    record(actor, "rsvp_from_reply", message.conversation, {"inbound_id": message.id, "action_id": action.id,
                                                            "to": status.value},
           summary=f"{person.display_name}: {status.value} to {action.title}, from their text"[:255])
    return link


def undo(link: ReplyRsvp, actor: User) -> None:
    """Put back the answer the person had before this reply was recorded (none: their RSVP
    goes), and note the undo (audited). The caller checked that ``actor`` may read the
    thread, and commits.

    :raise ReplyRsvpError: when it was undone already, or the RSVP changed since (somebody
        recorded another answer: undoing would overwrite theirs).
    """
    if link.undone_at is not None:
        raise ReplyRsvpError(_("This was undone already."))
    action = db.session.get(Action, link.action_id)
    person = db.session.get(Person, link.person_id)
    rsvp = _current(action, person)
    if rsvp is None or rsvp.status.value != link.status:
        raise ReplyRsvpError(_("The RSVP has changed since this text: change it on the action's page."))
    before = rsvp.status.value
    if link.previous_status is None:
        db.session.delete(rsvp)
    else:
        rsvp.status, rsvp.source = RsvpStatus(link.previous_status), RsvpSource(link.previous_source)
        rsvp.updated_at = utcnow()
    link.undone_at, link.undone_by_id = utcnow(), actor.id
    link.inbound.outcome = None
    record(actor, "rsvp_reply_undone", rsvp, {"action_id": action.id, "person_id": person.id, "inbound_id":
                                              link.inbound_id, "from": before, "to": link.previous_status},
           summary=f"{person.display_name}: RSVP from their text undone ({action.title})"[:255])
    db.session.flush()


@dataclass
class ThreadRsvps:
    """What the thread shows under each reply: the RSVP recorded from it (by reply id), which
    replies can get one by hand, the action to preselect and the ones to choose from."""

    recorded: dict[int, ReplyRsvp]
    recordable: set[int]
    preselected: int | None
    actions: list[Action]


def for_thread(messages: list[InboundMessage], person_id: int | None, now: datetime | None = None) -> ThreadRsvps:
    """The RSVP parts of a thread whose replies are ``messages`` (a fixed number of queries):
    buttons go under the last two weeks' replies of a known person with nothing recorded."""
    now = now or utcnow()
    ids = [m.id for m in messages]
    recorded = {link.inbound_id: link for link in db.session.scalars(
        select(ReplyRsvp).options(joinedload(ReplyRsvp.action))
        .where(ReplyRsvp.inbound_id.in_(ids), ReplyRsvp.undone_at.is_(None)))} if ids else {}
    if person_id is None:
        return ThreadRsvps(recorded, set(), None, [])
    # Older replies are not answers to anything still open; buttons under each would only clutter.
    since = now - actions_link.RSVP_REPLY_WINDOW
    recordable = {m.id for m in messages if m.id not in recorded and may_record_from(m) and m.received_at >= since}
    actions = upcoming_actions() if recordable else []
    person = db.session.get(Person, person_id)
    last = last_texted_action(person, now) if recordable and person is not None else None
    preselected = last[0].id if last else (actions[0].id if actions else None)
    return ThreadRsvps(recorded, recordable if actions else set(), preselected, actions)
