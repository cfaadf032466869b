"""What a mobilization's page reports beyond the status counts: what Twilio's error codes
did, our segment and cost estimate beside what Twilio billed, and, while texts wait, why
and until when (quiet hours, retry backoff, pacing, a pause) instead of a bare "0%".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.sms.error_codes import CodeRule, rule_for
from organizer.sms.models import Mobilization, MobilizationStatus, OutboxMessage, OutboxStatus, SenderPace


@dataclass
class ErrorLine:
    code: int
    count: int
    rule: CodeRule


def error_breakdown(mobilization_id: int) -> list[ErrorLine]:
    """Texts of the mobilization by Twilio error code (failed ones and those waiting to be
    retried), most frequent first; unknown codes are marked (``rule.known`` False). One query."""
    rows = db.session.execute(
        select(OutboxMessage.error_code, func.count())
        .where(OutboxMessage.mobilization_id == mobilization_id, OutboxMessage.error_code.is_not(None),
               OutboxMessage.status.in_((OutboxStatus.FAILED, OutboxStatus.UNDELIVERED, OutboxStatus.QUEUED)))
        .group_by(OutboxMessage.error_code)
    ).all()
    lines = [ErrorLine(code, n, rule_for(code)) for code, n in rows]  # type: ignore[arg-type]
    return sorted(lines, key=lambda line: (-line.count, line.code))


@dataclass
class Billing:
    """Our estimate for the texts Twilio took, beside what Twilio reported for them."""

    texts: int = 0
    estimated_segments: int = 0
    estimated_cost: Decimal = Decimal(0)
    reported_texts: int = 0  # texts whose segment count Twilio reported
    actual_segments: int = 0
    priced_texts: int = 0  # texts whose price Twilio reported
    actual_cost: Decimal = Decimal(0)
    price_unit: str | None = None


def billing(mobilization_id: int) -> Billing:
    """Segments and cost, estimated and actual, over the texts Twilio accepted. One query."""
    price = Decimal(str(current_app.config.get("SMS_PRICE_PER_SEGMENT") or "0.0083"))
    texts, estimated, reported, actual, priced, cost, unit = db.session.execute(
        select(func.count(), func.coalesce(func.sum(OutboxMessage.segments), 0),
               func.count(OutboxMessage.provider_segments),
               func.coalesce(func.sum(OutboxMessage.provider_segments), 0),
               func.count(OutboxMessage.price), func.coalesce(func.sum(OutboxMessage.price), 0),
               func.max(OutboxMessage.price_unit))
        .where(OutboxMessage.mobilization_id == mobilization_id, OutboxMessage.sid.is_not(None))
    ).one()
    return Billing(texts=texts, estimated_segments=int(estimated), estimated_cost=price * int(estimated),
                   reported_texts=reported, actual_segments=int(actual), priced_texts=priced,
                   actual_cost=Decimal(str(cost)), price_unit=unit)


@dataclass
class Hold:
    """Why texts of a mobilization are not going out right now, and when they will.

    ``reason``: "paused", "scheduled", "quiet_hours", "retrying", "rate_limited", "pacing"
    or "waiting". ``resumes_at``: when sending resumes by itself (``None``: it needs a person,
    for a pause). ``details``: extra numbers (texts waiting, the auto-pause reason).
    """

    reason: str
    resumes_at: datetime | None = None
    waiting: int = 0
    details: dict = field(default_factory=dict)


def hold_status(mobilization: Mobilization, now: datetime) -> Hold | None:
    """The hold on a broadcast, or ``None`` when texts are going out (or it is over).
    Three queries at most."""
    status = mobilization.status
    if status is MobilizationStatus.PAUSED:
        return Hold("paused", None, _queued(mobilization.id))
    if status is MobilizationStatus.SCHEDULED:
        return Hold("scheduled", mobilization.scheduled_at, mobilization.recipients)
    if status is not MobilizationStatus.SENDING:
        return None
    waiting, due, first_at, note = db.session.execute(
        select(func.count(), func.count().filter(OutboxMessage.not_before <= now), func.min(OutboxMessage.not_before),
               func.min(OutboxMessage.error_message).filter(OutboxMessage.not_before > now))
        .where(OutboxMessage.mobilization_id == mobilization.id, OutboxMessage.status == OutboxStatus.QUEUED)
    ).one()
    if not waiting:
        return None
    if due:
        return _pace(mobilization, now, waiting)
    reason = "waiting"
    if note and note.startswith("deferred: quiet hours"):
        reason = "quiet_hours"
    elif note and note.startswith("retrying"):
        reason = "retrying"
    return Hold(reason, _aware(first_at), waiting)


def _pace(mobilization: Mobilization, now: datetime, waiting: int) -> Hold | None:
    """Texts are due: say whether the sender is held by a rate limit, and how long the pace
    makes the rest take."""
    from organizer.sms import sending

    config = current_app.config
    held_until = db.session.scalar(select(SenderPace.next_slot).where(SenderPace.sender == sending.sender_key(config)))
    if held_until and held_until > now.timestamp() + 1:
        return Hold("rate_limited", datetime.fromtimestamp(held_until, now.tzinfo), waiting)
    rate = sending.segments_per_second(config)
    if rate <= 0:
        return None
    segments = db.session.scalar(
        select(func.coalesce(func.sum(OutboxMessage.segments), 0))
        .where(OutboxMessage.mobilization_id == mobilization.id, OutboxMessage.status == OutboxStatus.QUEUED)
    ) or 0
    seconds = segments / rate
    if seconds < 60:
        return None
    return Hold("pacing", now + timedelta(seconds=seconds), waiting, {"rate": rate, "segments": segments})


def _queued(mobilization_id: int) -> int:
    return db.session.scalar(select(func.count()).where(OutboxMessage.mobilization_id == mobilization_id,
                                                         OutboxMessage.status == OutboxStatus.QUEUED)) or 0


def _aware(moment: datetime | None) -> datetime | None:
    from datetime import UTC

    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
