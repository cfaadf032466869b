"""Who may be texted: consent, opt-outs by number and numbers Twilio called invalid.

``Person.sms_consent`` ``opted_out`` is never texted; ``unknown`` and ``opted_in`` are (a person
who gave the federation their number may get its texts until they say stop). A number in
``sms_opt_outs`` (it texted STOP, maybe before it belonged to anyone) or in ``sms_phone_flags``
(Twilio called it invalid or not mobile) is never texted, whoever it belongs to.
Services here only flush; the caller commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import delete, literal, select, update

from organizer.auth.models import User
from organizer.db import utcnow
from organizer.extensions import db
from organizer.people.models import ConsentMethod, Person, SmsConsent
from organizer.people.services import set_sms_consent
from organizer.sms.models import MessageKind, OutboxMessage, OutboxStatus, PhoneFlag, PhoneOptOut


def blocked_reason(phone: str, person: Person | None) -> str | None:
    """Why ``phone`` (of ``person``) may not be texted now, or ``None`` if it may.

    Checks the person's consent, the opt-outs by number and the invalid-number flags.
    Raises nothing.
    """
    if person is not None and person.sms_consent is SmsConsent.OPTED_OUT:
        return "opted out"
    found = db.session.execute(
        select(literal("opted out")).where(PhoneOptOut.phone == phone)
        .union_all(select(literal("invalid number: ") + PhoneFlag.reason).where(PhoneFlag.phone == phone))
    ).first()
    return found[0] if found else None


def reason_label(reason: str | None) -> Any:
    """A blocked reason from :func:`blocked_reason` in the reader's language."""
    if reason is None:
        return ""
    if reason == "opted out":
        return _("opted out")
    if reason.startswith("invalid number"):
        return _("invalid number")
    return reason


def opt_out_phone(phone: str, source: str, now: datetime | None = None, *,
                  method: ConsentMethod = ConsentMethod.SMS_STOP, actor: User | None = None) -> bool:
    """Opt ``phone`` out everywhere: the number, every person with it, and every text to it
    still waiting in the outbox (except the opt-out confirmation itself). Each person's
    consent history notes ``method`` (a STOP text, an organizer's review) and ``actor``.

    Returns True when this changed anything (False for a repeated STOP). Raises nothing.
    """
    now = now or utcnow()
    changed = False
    if not db.session.scalar(select(PhoneOptOut.id).where(PhoneOptOut.phone == phone)):
        db.session.add(PhoneOptOut(phone=phone, source=source[:80], opted_out_at=now))
        changed = True
    for person in db.session.scalars(select(Person).where(Person.phone == phone)):
        if person.sms_consent is not SmsConsent.OPTED_OUT:
            set_sms_consent(person, SmsConsent.OPTED_OUT, method=method, actor=actor, detail=source, now=now)
            changed = True
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.phone == phone,
            OutboxMessage.status == OutboxStatus.QUEUED,
            # Always so for a queued text (a requeued one forgets its SID); says so to the
            # database, whose index of unsent texts by number finds them.
            OutboxMessage.sid.is_(None),
            OutboxMessage.kind != MessageKind.OPT_OUT_CONFIRMATION,
        )
        .values(status=OutboxStatus.CANCELED, error_message="opted out", updated_at=now),
        execution_options={"synchronize_session": False},
    )
    db.session.flush()
    return changed


def opt_in_phone(phone: str, source: str, *, method: ConsentMethod = ConsentMethod.SMS_START) -> bool:
    """Undo an opt-out for ``phone`` (the person texted START or UNSTOP themselves).

    Returns True when this changed anything. Raises nothing.
    """
    changed = bool(db.session.execute(delete(PhoneOptOut).where(PhoneOptOut.phone == phone)).rowcount)
    for person in db.session.scalars(select(Person).where(Person.phone == phone)):
        if person.sms_consent is not SmsConsent.OPTED_IN:
            set_sms_consent(person, SmsConsent.OPTED_IN, method=method, detail=source)
            changed = True
    db.session.flush()
    return changed


def flag_phone(phone: str, reason: str, code: int | None) -> None:
    """Mark ``phone`` as not textable (Twilio said invalid or not a mobile). Raises nothing."""
    if not db.session.scalar(select(PhoneFlag.id).where(PhoneFlag.phone == phone)):
        db.session.add(PhoneFlag(phone=phone, reason=reason[:255], error_code=code))
        db.session.flush()

