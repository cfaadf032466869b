"""What an incoming text does (the webhook's effects): find its thread, act on a keyword
(opt-out, opt-in, HELP, an RSVP answer, a possible opt-out flagged for review), answer, and
keep a text whose processing failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from organizer.db import utcnow
from organizer.extensions import db
from organizer.people.models import Person
from organizer.people.services import phones_on_hold
from organizer.settings.services import get_organization
from organizer.sms import after_action, rsvp_replies
from organizer.sms.consent import blocked_reason, opt_in_phone, opt_out_phone
from organizer.sms.inbox import conversation_for
from organizer.sms.keywords import Keyword, classify, from_opt_out_type, twilio_auto_replies
from organizer.sms.models import InboundMessage, MessageKind, OutboxMessage, OutboxStatus
from organizer.sms.outbox import in_their_language, queue_text


def person_for_phone(phone: str) -> int | None:
    """Whose thread a text from ``phone`` goes to: among the people with that number who are
    free to be texted at it (a record waiting for staff as a number shared across lists is
    left out, so typing someone else's number opens none of their replies), the one we
    texted last from a thread or a mobilization, else the oldest record not archived.
    ``None`` when there is nobody: the number is an unknown contact, for staff. Three queries.
    Raises nothing."""
    holders = db.session.execute(
        select(Person.id, Person.archived_at).where(Person.phone == phone).order_by(Person.id)
    ).all()
    if not holders:
        return None
    on_hold = {pid for pid, held_phone in phones_on_hold([h.id for h in holders]) if held_phone == phone}
    free = [h for h in holders if h.id not in on_hold]
    if not free:
        return None
    texted = db.session.scalar(
        select(OutboxMessage.person_id)
        .where(OutboxMessage.phone == phone, OutboxMessage.person_id.in_([h.id for h in free]),
               OutboxMessage.status.not_in([OutboxStatus.CANCELED, OutboxStatus.HELD]))
        .order_by(OutboxMessage.id.desc()).limit(1)
    )
    if texted:
        return texted
    active = [h.id for h in free if h.archived_at is None]
    return active[0] if active else None


OPT_OUT_CONFIRMATION = _("%(org)s: you are unsubscribed and will get no more texts. Reply START to resubscribe.")


DEFAULT_HELP = _("%(org)s: texts about our actions. Reply STOP to opt out.")


@dataclass
class InboundResult:
    message: InboundMessage | None
    duplicate: bool = False


def receive(message_sid: str, from_phone: str, to_phone: str, body: str,
            now: datetime | None = None, *, opt_out_type: str | None = None) -> InboundResult:
    """Record an inbound text and act on it: opt-out, opt-in, HELP, an RSVP answer, or a
    possible opt-out flagged for an organizer. Deduplicated on ``message_sid`` (Twilio
    retries webhooks): a second delivery changes nothing.

    Replies go out as outbox rows, never twice for one keyword: none where Twilio answers
    the keyword itself (STOP, HELP... on a standard number), and an opt-out confirmation
    only when the opt-out is new. ``opt_out_type``: Twilio's Advanced Opt-Out verdict
    (STOP, START, HELP) for words the federation configured there; it decides over our
    own keyword lists, and Twilio has sent the reply. The body is kept for the inbox either
    way. Raises nothing.
    """
    now = now or utcnow()
    if db.session.scalar(select(InboundMessage.id).where(InboundMessage.message_sid == message_sid)):
        return InboundResult(None, duplicate=True)
    conversation = conversation_for(from_phone, person_for_phone(from_phone), now)
    advanced = from_opt_out_type(opt_out_type)
    keyword = advanced or classify(body)
    message = InboundMessage(
        message_sid=message_sid, conversation_id=conversation.id, person_id=conversation.person_id,
        from_phone=from_phone, to_phone=to_phone, body=body, keyword=keyword.value, received_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:  # the same webhook, delivered twice at once
        return InboundResult(None, duplicate=True)
    conversation.unread += 1
    conversation.last_message_at = now
    conversation.last_inbound_at = now
    person = db.session.get(Person, conversation.person_id) if conversation.person_id else None
    org = get_organization()
    twilio_answered = advanced is not None or twilio_auto_replies(body)

    if keyword is Keyword.OPT_OUT:
        changed = opt_out_phone(from_phone, "SMS STOP reply", now)
        message.outcome = "opted_out"
        if changed and not twilio_answered:
            queue_text(from_phone, in_their_language(person, OPT_OUT_CONFIRMATION, org=org.name),
                       MessageKind.OPT_OUT_CONFIRMATION, person=person)
    elif keyword is Keyword.OPT_IN:
        opt_in_phone(from_phone, "SMS START reply")
        message.outcome = "opted_in"
    elif keyword in (Keyword.YES, Keyword.NO) and person is not None and after_action.answer_made_it(person, message, now):
        pass  # a reply to "did you make it?": for staff to confirm, never an RSVP (sms.after_action)
    elif keyword in (Keyword.YES, Keyword.NO):
        answered = rsvp_replies.answer(message, person, now) if person else None
        if answered is not None:
            if answered:
                queue_text(from_phone, answered, MessageKind.AUTO_REPLY, person=person)
        elif keyword is Keyword.YES and blocked_reason(from_phone, person) == "opted out":
            opt_in_phone(from_phone, "SMS YES reply")
            message.outcome = "opted_in"
    elif keyword is Keyword.HELP:
        message.outcome = "help"
        if advanced is None and blocked_reason(from_phone, person) != "opted out":
            queue_text(from_phone, org.sms_help_text or in_their_language(person, DEFAULT_HELP, org=org.name),
                       MessageKind.AUTO_REPLY, person=person)
    elif keyword is Keyword.POSSIBLE_OPT_OUT:
        message.needs_review = True
        message.outcome = "flagged"
    elif keyword is Keyword.OTHER and person is not None:
        answered = rsvp_replies.answer(message, person, now)
        if answered:
            queue_text(from_phone, answered, MessageKind.AUTO_REPLY, person=person)
    db.session.flush()
    return InboundResult(message)


def keep_unprocessed(message_sid: str, from_phone: str, to_phone: str, body: str, now: datetime, *,
                     opt_out_type: str | None = None) -> InboundMessage | None:
    """Store a text whose processing failed (``receive`` raised), so that it is never lost:
    Twilio does not deliver an incoming message again after an error answer. It goes to the
    staff-only thread of its number, flagged for review; a STOP in it still opts the number
    out, since that is what the person asked. ``None`` when it was stored already. The caller
    commits."""
    if db.session.scalar(select(InboundMessage.id).where(InboundMessage.message_sid == message_sid)):
        return None
    keyword = from_opt_out_type(opt_out_type) or classify(body)
    conversation = conversation_for(from_phone, None, now)
    message = InboundMessage(
        message_sid=message_sid, conversation_id=conversation.id, person_id=None, from_phone=from_phone,
        to_phone=to_phone, body=body, keyword=keyword.value, received_at=now, needs_review=True,
        outcome="unprocessed",
    )
    db.session.add(message)
    conversation.unread += 1
    conversation.last_message_at = conversation.last_inbound_at = now
    if keyword is Keyword.OPT_OUT:
        opt_out_phone(from_phone, "SMS STOP reply", now)
        message.outcome = "opted_out"
    db.session.flush()
    return message

