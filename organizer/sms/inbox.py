"""The replies inbox: threads (one per person at a number, one per unknown number), who may
read them, reading, replying, assigning, saying who an unknown number is, and reviewing a
text that looked like an opt-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from organizer.audit.services import record
from organizer.auth.models import User
from organizer.db import paged, utcnow
from organizer.extensions import db
from organizer.people.models import ConsentMethod, Person, PhoneConflict, PhoneConflictStatus
from organizer.people.services import people_visible_to
from organizer.sms.consent import blocked_reason, opt_out_phone, reason_label
from organizer.sms.errors import InboxError, MobilizationError
from organizer.sms.models import (
    Conversation,
    InboundMessage,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
)
from organizer.sms.outbox import queue_text


def conversation_for(phone: str, person_id: int | None, now: datetime) -> Conversation:
    """The thread of ``person_id`` at ``phone`` (``None``: the unknown-contact thread of the
    number), created if new. Raises nothing."""
    who = Conversation.person_id == person_id if person_id is not None else Conversation.person_id.is_(None)
    this_thread = select(Conversation).where(Conversation.phone == phone, who)
    conversation = db.session.scalar(this_thread)
    if conversation is None:
        try:
            with db.session.begin_nested():
                conversation = Conversation(phone=phone, person_id=person_id, unread=0, last_message_at=now,
                                            created_at=now)
                db.session.add(conversation)
        except IntegrityError:  # another request created it meanwhile
            conversation = db.session.scalars(this_thread).one()
    return conversation


def conversations_visible_to(user: User) -> ColumnElement[bool]:
    """Threads ``user`` may read: staff all; a leader those of people they own now. Being
    assigned a thread (a P2P text, an organizer's choice) grants nothing more: once the person
    is someone else's, so are their texts. Unknown numbers: staff only."""
    if user.is_staff:
        return Conversation.id.is_not(None)
    return and_(Conversation.person_id.is_not(None),
                Conversation.person_id.in_(select(Person.id).where(people_visible_to(user))))


def inbox(user: User, which: str = "all", page: int = 1, per_page: int = 50) -> tuple[list[Conversation], int]:
    """A page of threads, newest first, and the total (fixed number of queries).

    ``which``: "mine" (assigned to ``user``), "unassigned", "review" (a possible opt-out
    to confirm), "unread" or "all".
    """
    from sqlalchemy.orm import joinedload

    stmt = select(Conversation).where(conversations_visible_to(user))
    if which == "mine":
        stmt = stmt.where(Conversation.assigned_to_id == user.id)
    elif which == "unassigned":
        stmt = stmt.where(Conversation.assigned_to_id.is_(None))
    elif which == "unread":
        stmt = stmt.where(Conversation.unread > 0)
    elif which == "review":
        flagged = select(InboundMessage.conversation_id).where(InboundMessage.needs_review)
        stmt = stmt.where(Conversation.id.in_(flagged))
    one_page, total = paged(stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()), page, per_page)
    threads = db.session.scalars(one_page.options(joinedload(Conversation.person), joinedload(Conversation.assigned_to)))
    return list(threads), total


def unread_total(user: User, *, assigned_to: User | None = None) -> int:
    """Unread texts in the threads ``user`` may read (only those assigned to ``assigned_to``, if
    given). One query."""
    query = select(func.coalesce(func.sum(Conversation.unread), 0)).where(conversations_visible_to(user))
    if assigned_to is not None:
        query = query.where(Conversation.assigned_to_id == assigned_to.id)
    return db.session.scalar(query) or 0


def get_conversation(user: User, conversation_id: int) -> Conversation:
    """The thread if ``user`` may read it.

    :raise NotFound: when there is none or they may not.
    """
    from werkzeug.exceptions import NotFound

    conversation = db.session.scalar(
        select(Conversation).where(Conversation.id == conversation_id, conversations_visible_to(user))
    )
    if conversation is None:
        raise NotFound()
    return conversation


@dataclass(frozen=True)
class ThreadItem:
    when: datetime
    inbound: bool
    body: str
    status: str
    author: str
    message: InboundMessage | None = None


def thread(conversation: Conversation, limit: int = 200) -> list[ThreadItem]:
    """The last ``limit`` texts both ways of this thread, oldest first (two queries): the
    replies threaded with it, and our texts to its number addressed to its person (to nobody
    in particular, for an unknown contact's thread). Texts to another person sharing the
    number stay in that person's thread, so reading one never shows the other's."""
    from sqlalchemy.orm import joinedload

    inbound = db.session.scalars(
        select(InboundMessage).where(InboundMessage.conversation_id == conversation.id)
        .order_by(InboundMessage.id.desc()).limit(limit)
    ).all()
    addressed = (OutboxMessage.person_id == conversation.person_id if conversation.person_id is not None
                 else OutboxMessage.person_id.is_(None))
    outbound = db.session.scalars(
        select(OutboxMessage).options(joinedload(OutboxMessage.sent_by))
        .where(OutboxMessage.phone == conversation.phone, addressed, OutboxMessage.status != OutboxStatus.CANCELED)
        .order_by(OutboxMessage.id.desc()).limit(limit)
    ).all()
    items = [ThreadItem(m.received_at, True, m.body, m.outcome or "", "", m) for m in inbound]
    items += [ThreadItem(o.created_at, False, o.body, o.status.value, o.sent_by.name if o.sent_by else "")
              for o in outbound]
    return sorted(items, key=lambda i: i.when)[-limit:]


def mark_read(conversation: Conversation) -> None:
    """Reading a thread clears its unread count. Raises nothing."""
    conversation.unread = 0


def reply(conversation: Conversation, actor: User, body: str, now: datetime | None = None) -> OutboxMessage:
    """Answer a thread (one the actor may read: see :func:`get_conversation`): an outbox row
    without a mobilization, sent by the worker, or ``held`` when the thread's person shares
    the number across lists and staff have not decided yet.

    :raise InboxError: when the body is empty or too long, or the number may not be texted.
    """
    now = now or utcnow()
    person = db.session.get(Person, conversation.person_id) if conversation.person_id else None
    reason = blocked_reason(conversation.phone, person)
    if reason:
        raise InboxError(_("This number cannot be texted (%(reason)s).", reason=reason_label(reason)))
    try:
        row = queue_text(conversation.phone, body.strip(), MessageKind.REPLY, person=person, sent_by=actor)
    except MobilizationError as exc:
        raise InboxError(str(exc)) from None
    conversation.last_message_at = now
    conversation.unread = 0
    if conversation.assigned_to_id is None:
        conversation.assigned_to_id = actor.id
    record(actor, "reply", conversation, {"outbox_id": row.id}, summary=f"reply to {conversation.phone}")
    return row


def assignable_users(conversation: Conversation) -> list[User]:
    """Who a thread can be given to: active staff, and the leader who owns the person (a leader
    sees no thread of anybody else's, so giving them one would hide it from everyone)."""
    from organizer.auth.models import Role

    owner_id = conversation.person.owner_id if conversation.person is not None else None
    who = or_(User.role != Role.LEADER, User.id == owner_id) if owner_id else User.role != Role.LEADER
    return list(db.session.scalars(select(User).where(User.active.is_(True), who).order_by(User.name)))


def assign(conversation: Conversation, assignee: User | None, actor: User) -> None:
    """Give a thread to an organizer or leader (or to nobody). Raises nothing."""
    conversation.assigned_to_id = assignee.id if assignee else None
    record(actor, "assign", conversation, {"assigned_to_id": conversation.assigned_to_id},
           summary=f"thread {conversation.phone}")


def match_person(conversation: Conversation, person: Person, actor: User) -> Conversation:
    """Say who an unknown number belongs to (staff; the person must be visible to them).
    Its texts join the person's thread at that number (merged into it when there is one).
    Returns the person's thread.

    :raise InboxError: when the person has another phone number on file.
    """
    if person.phone and person.phone != conversation.phone:
        raise InboxError(_("This person has another phone number; change it on their page first."))
    if not person.phone:
        person.phone = conversation.phone
    # Our texts to the number while it was nobody's are now to this person.
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.phone == conversation.phone, OutboxMessage.person_id.is_(None))
        .values(person_id=person.id), execution_options={"synchronize_session": False},
    )
    theirs = db.session.scalar(select(Conversation).where(Conversation.phone == conversation.phone,
                                                          Conversation.person_id == person.id))
    target = conversation
    if theirs is not None and theirs.id != conversation.id:
        target = theirs
        db.session.execute(
            update(InboundMessage).where(InboundMessage.conversation_id == conversation.id)
            .values(conversation_id=theirs.id), execution_options={"synchronize_session": False},
        )
        theirs.unread += conversation.unread
        theirs.last_message_at = max(theirs.last_message_at, conversation.last_message_at)
        if conversation.last_inbound_at and (theirs.last_inbound_at is None
                                             or conversation.last_inbound_at > theirs.last_inbound_at):
            theirs.last_inbound_at = conversation.last_inbound_at
        theirs.assigned_to_id = theirs.assigned_to_id or conversation.assigned_to_id
        db.session.delete(conversation)
    else:
        conversation.person_id = person.id
    db.session.execute(
        update(InboundMessage).where(InboundMessage.conversation_id == target.id)
        .values(person_id=person.id), execution_options={"synchronize_session": False},
    )
    record(actor, "match", target, {"person_id": person.id}, summary=f"thread {target.phone}")
    return target


def review_opt_out(message: InboundMessage, actor: User, *, confirm: bool, now: datetime | None = None) -> None:
    """An organizer decides on a text that looked like "stop texting me".

    Confirming opts the number out everywhere (source: who confirmed). Raises nothing.
    """
    now = now or utcnow()
    message.needs_review = False
    message.reviewed_at = now
    message.reviewed_by_id = actor.id
    if confirm:
        opt_out_phone(message.from_phone, f"reply confirmed by {actor.email}", now,
                      method=ConsentMethod.SMS_REVIEW, actor=actor)
        message.outcome = "opted_out"
    else:
        message.outcome = "not_opt_out"
    record(actor, "review_opt_out", message, {"confirmed": confirm}, object_type="sms_inbound",
           summary=f"{message.from_phone}: {message.body[:60]}")


def pending_reviews(user: User, conversation: Conversation | None = None) -> list[InboundMessage]:
    """Texts that look like an opt-out and wait for an organizer (staff see all)."""
    stmt = (select(InboundMessage).join(Conversation, InboundMessage.conversation_id == Conversation.id)
            .where(InboundMessage.needs_review, conversations_visible_to(user)))
    if conversation is not None:
        stmt = stmt.where(InboundMessage.conversation_id == conversation.id)
    return list(db.session.scalars(stmt.order_by(InboundMessage.id)))


def also_at_number(user: User, conversation: Conversation) -> list[Person]:
    """The other people at a thread's number that ``user`` may see (a household sharing a
    phone): a mobilization's one text to the number was addressed to them too, so its replies
    may be theirs. Records waiting for staff (a number shared across lists) and archived ones
    are left out. One query. Raises nothing."""
    if conversation.person_id is None:
        return []
    held = select(PhoneConflict.person_id).where(PhoneConflict.phone == conversation.phone,
                                                 PhoneConflict.status != PhoneConflictStatus.ALLOWED)
    return list(db.session.scalars(
        select(Person).where(Person.phone == conversation.phone, Person.id != conversation.person_id,
                             Person.archived_at.is_(None), Person.id.not_in(held), people_visible_to(user))
        .order_by(Person.id).limit(10)))
