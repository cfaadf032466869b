"""Test texts: where a user's test may go (their own phone, numbers an admin verified for
them), the daily allowance, sending one, and the admin's list of verified numbers."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _
from sqlalchemy import func, select

from organizer.audit.services import record
from organizer.auth.models import User
from organizer.db import utcnow
from organizer.extensions import db
from organizer.sms.compose import check_template, full_body, render
from organizer.sms.consent import blocked_reason, reason_label
from organizer.sms.errors import InboxError, MobilizationError
from organizer.sms.models import MessageKind, Mobilization, OutboxMessage, VerifiedNumber
from organizer.sms.outbox import is_on_hold, queue_text


def test_numbers(user: User) -> list[str]:
    """Where ``user``'s test texts may go: the phone of their own person record (unless it
    waits for staff as a number shared across lists), then the numbers an admin verified for
    them. Never a number typed on the page: a test must not become a way to text strangers.
    Raises nothing."""
    numbers: list[str] = []
    own = user.person
    if own is not None and own.phone and not is_on_hold(own, own.phone):
        numbers.append(own.phone)
    for phone in db.session.scalars(
            select(VerifiedNumber.phone).where(VerifiedNumber.user_id == user.id).order_by(VerifiedNumber.id)):
        if phone not in numbers:
            numbers.append(phone)
    return numbers


def test_sends_left(user: User, now: datetime | None = None) -> int:
    """How many more test texts ``user`` may send now (``SMS_TEST_SENDS_PER_DAY`` in any 24
    hours). One query."""
    from datetime import timedelta

    now = now or utcnow()
    sent = db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.kind == MessageKind.TEST, OutboxMessage.sent_by_id == user.id,
        OutboxMessage.created_at > now - timedelta(hours=24))) or 0
    return max(int(current_app.config.get("SMS_TEST_SENDS_PER_DAY", 10)) - sent, 0)


def test_send(mobilization: Mobilization, actor: User, phone: str, now: datetime | None = None) -> OutboxMessage:
    """Send the text as the first recipient would get it to ``phone``, one of the actor's
    :func:`test_numbers`, within their daily allowance.

    :raise MobilizationError: (field "test_phone") when the number is not one of theirs, the
        allowance is used up, the body cannot be sent or the number may not be texted.
    """
    check_template(mobilization.body, has_action=mobilization.action_id is not None)
    if phone not in test_numbers(actor):
        raise MobilizationError(_("A test goes only to your own phone on file or to a number an admin verified "
                                  "for you."), "test_phone")
    # Taken in turn per user (PostgreSQL), so two tests at once cannot both pass the allowance.
    db.session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    if test_sends_left(actor, now) <= 0:
        raise MobilizationError(_("You have sent the most test texts allowed in 24 hours (%(count)d). Try again "
                                  "later.", count=int(current_app.config.get("SMS_TEST_SENDS_PER_DAY", 10))),
                                "test_phone")
    own = actor.person
    reason = blocked_reason(phone, None)
    if reason:
        raise MobilizationError(_("That number cannot be texted (%(reason)s).", reason=reason_label(reason)),
                                "test_phone")
    first = (own.preferred_name or own.first_name) if own else actor.name.split(" ")[0]
    body = render(full_body(mobilization), {"first_name": first})
    row = queue_text(phone, body, MessageKind.TEST, person=own if own and own.phone == phone else None, sent_by=actor)
    record(actor, "test_send", mobilization, {"phone": phone})
    return row


def verified_numbers() -> list[VerifiedNumber]:
    """Every verified test number, by user (the admin's page). One query."""
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(
        select(VerifiedNumber).options(joinedload(VerifiedNumber.user), joinedload(VerifiedNumber.verified_by))
        .join(User, User.id == VerifiedNumber.user_id).order_by(User.name, VerifiedNumber.id)
    ))


def verify_number(user: User, phone: str, actor: User) -> VerifiedNumber:
    """An admin says ``phone`` (E.164) is ``user``'s: their test texts may go there.

    :raise InboxError: when it is verified for them already.
    """
    if db.session.scalar(select(VerifiedNumber.id).where(VerifiedNumber.user_id == user.id,
                                                         VerifiedNumber.phone == phone)):
        raise InboxError(_("This number is verified for %(name)s already.", name=user.name))
    number = VerifiedNumber(user_id=user.id, phone=phone, verified_by_id=actor.id, verified_at=utcnow())
    db.session.add(number)
    db.session.flush()
    record(actor, "verify_number", number, {"user_id": user.id, "phone": phone}, summary=f"{user.email}: {phone}")
    return number


def remove_verified_number(number: VerifiedNumber, actor: User) -> None:
    """An admin takes a verified test number back. Raises nothing."""
    record(actor, "remove_verified_number", number, {"user_id": number.user_id, "phone": number.phone},
           summary=number.phone)
    db.session.delete(number)

