"""Writing one text to the outbox, and handing it to the worker after the commit.

Services never send: they write outbox rows and note them with :func:`note_dispatch`; after
its commit the view (or task) calls ``organizer.sms.tasks.dispatch_noted()``, so nothing goes
out for a transaction that rolled back. Also here: the language an automatic text is written
in, a person's latest texts, and a person's decision about a text whose fate is unknown.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _
from sqlalchemy import ColumnElement, Integer, Row, Select, and_, bindparam, or_, select

from organizer.audit.services import record
from organizer.auth.models import User
from organizer.db import utcnow
from organizer.extensions import db
from organizer.people.models import Person
from organizer.people.services import phone_on_hold
from organizer.sms import encoding
from organizer.sms.errors import MobilizationError
from organizer.sms.models import MessageKind, OutboxMessage, OutboxStatus


def note_dispatch(kind: str, ident: int) -> None:
    """Remember that outbox row ``ident`` (kind "row") or mobilization ``ident`` (kind
    "mobilization") should be handed to the worker once the transaction commits."""
    db.session.info.setdefault("sms_dispatch", []).append((kind, ident))


def take_noted_dispatches() -> list[tuple[str, int]]:
    """The dispatches noted since the last call (and forget them)."""
    return db.session.info.pop("sms_dispatch", [])


def sendable(body: str) -> encoding.BodyInfo:
    """The encoding and segments of a rendered text.

    :raise MobilizationError: when it is empty or longer than a text can carry.
    """
    if not body.strip():
        raise MobilizationError(_("Write the text to send."), "body")
    info = encoding.analyze(body)
    if info.too_long:
        raise MobilizationError(_("A text can carry at most %(max)d characters.", max=encoding.MAX_BODY_CHARS),
                                "body")
    return info


#: Texts that answer the number's own text (they go to whoever wrote): never held.
ANSWER_KINDS = frozenset({MessageKind.AUTO_REPLY, MessageKind.OPT_OUT_CONFIRMATION})


def is_on_hold(person: Person | None, phone: str) -> bool:
    """Whether texts to ``person`` at ``phone`` wait for staff (a number shared across lists
    that staff have not allowed). One query, none without a person."""
    return person is not None and phone_on_hold(person.id, phone)


def queue_text(phone: str, body: str, kind: MessageKind, *, person: Person | None = None,
               sent_by: User | None = None, mobilization_id: int | None = None,
               not_before: datetime | None = None) -> OutboxMessage:
    """Write one outbox row (a reply, a test, an automatic answer) and note it for dispatch;
    a text to a person whose number is on hold is written ``held`` and not dispatched.

    :raise MobilizationError: when the body is empty or too long.
    """
    info = sendable(body)
    now = utcnow()
    held = kind not in ANSWER_KINDS and is_on_hold(person, phone)
    row = OutboxMessage(
        mobilization_id=mobilization_id, person_id=person.id if person else None, phone=phone, body=body,
        encoding=info.encoding, segments=info.segments, kind=kind,
        status=OutboxStatus.HELD if held else OutboxStatus.QUEUED, attempts=0,
        not_before=not_before or now, created_at=now, updated_at=now, sent_by_id=sent_by.id if sent_by else None,
    )
    db.session.add(row)
    db.session.flush()
    if not held:
        note_dispatch("row", row.id)
    return row


def language_of(person: Person | None) -> str:
    """The language to text ``person`` in: theirs when the app speaks it, else English."""
    language = person.preferred_language if person is not None else None
    return language if language in current_app.config.get("LANGUAGES", {}) else "en"


def in_their_language(person: Person | None, message: Any, **values: str) -> str:
    """An automatic text (``message``: a lazy string with ``%(name)s`` fields) in the
    person's language. Works in the worker too (no request needed). Raises nothing."""
    from flask_babel import force_locale

    with force_locale(language_of(person)):
        return str(message) % values


def taken_to(person: Person) -> ColumnElement[bool]:
    """Texts Twilio took (they have a SID) addressed to ``person``, or to their number
    addressed to someone else there (a household's one text), in SQL. Raises nothing.

    The SID's condition is repeated in the number's branch: SQLite chooses an index for each
    branch of an OR by that branch alone, and the index of taken texts by number
    (``ix_sms_outbox_phone_created``) holds only texts with a SID."""
    taken = OutboxMessage.sid.is_not(None)
    return and_(taken, or_(OutboxMessage.person_id == person.id, and_(OutboxMessage.phone == person.phone, taken)))


def recent_texts(person_id: int, limit: int = 5) -> list[Row[Any]]:
    """The latest texts to a person (for their page), newest first: their time
    (``created_at``), ``status`` and ``body``. One query, built once."""
    return list(db.session.execute(_recent_texts_statement(), {"person_id": person_id, "limit": limit}))


@cache
def _recent_texts_statement() -> Select[Any]:
    """Built once per process, of the table's columns: plain rows, without the ORM's steps."""
    outbox = OutboxMessage.__table__.c
    return (select(outbox.created_at, outbox.status, outbox.body)
            .where(outbox.person_id == bindparam("person_id", type_=Integer))
            .order_by(outbox.id.desc()).limit(bindparam("limit", type_=Integer)))


def resolve_unknown(row: OutboxMessage, actor: User, *, resend: bool, now: datetime | None = None) -> None:
    """A person decides about a text whose outcome is unknown: send it again (they checked
    it did not arrive) or count it as sent.

    :raise MobilizationError: when the text is not in the unknown state.
    """
    if row.status is not OutboxStatus.UNKNOWN:
        raise MobilizationError(_("This text is not waiting for a decision."))
    now = now or utcnow()
    if resend:
        row.status = OutboxStatus.QUEUED
        row.not_before = now
        row.error_message = f"resent by {actor.email}"[:255]
        note_dispatch("row", row.id)
    else:
        row.status = OutboxStatus.SENT
        row.error_message = f"marked sent by {actor.email}"[:255]
    record(actor, "resolve_unknown", row, {"resend": resend}, object_type="sms_outbox", summary=row.phone)

