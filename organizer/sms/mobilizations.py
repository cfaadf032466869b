"""A mobilization after its draft: which ones a user sees, launching (the outbox rows of a
broadcast), its lifecycle (cancel, pause, resume, finish), its progress, and P2P texts a leader
sends one at a time. Services only flush; the caller commits and then dispatches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import ColumnElement, and_, case, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from organizer.audit.services import record
from organizer.auth.models import User
from organizer.db import in_values, utcnow
from organizer.extensions import db
from organizer.people.models import Person
from organizer.sms import actions_link, encoding
from organizer.sms.audiences import (
    AudienceCount,
    AudienceFilter,
    LaunchAudience,
    Recipient,
    greeting_name,
    launch_audience,
    resolve_audience,
)
from organizer.sms.compose import check_template, full_body, render
from organizer.sms.errors import MobilizationError
from organizer.sms.inbox import conversation_for
from organizer.sms.models import (
    InboundMessage,
    MessageKind,
    Mobilization,
    MobilizationKind,
    MobilizationStatus,
    OutboxMessage,
    OutboxStatus,
)
from organizer.sms.outbox import note_dispatch, sendable


def visible_mobilizations(user: User):
    """Mobilizations ``user`` may see: staff all, a leader their own."""
    stmt = select(Mobilization)
    if not user.is_staff:
        stmt = stmt.where(Mobilization.created_by_id == user.id)
    return stmt


def get_mobilization(user: User, mobilization_id: int) -> Mobilization:
    """The mobilization if ``user`` may see it.

    :raise NotFound: when there is none or it is not theirs.
    """
    from werkzeug.exceptions import NotFound

    mobilization = db.session.scalar(visible_mobilizations(user).where(Mobilization.id == mobilization_id))
    if mobilization is None:
        raise NotFound()
    return mobilization


def launch(mobilization: Mobilization, actor: User, *, now: datetime | None = None,
           schedule_at: datetime | None = None) -> AudienceCount:
    """Launch a draft now or at ``schedule_at``: every recipient's outbox row is written in
    this transaction (the caller commits, then dispatches), exclusions are counted.

    A P2P mobilization writes no rows: its leader sends one text at a time.

    :raise MobilizationError: when the body cannot be sent, the schedule is in the past,
        the audience is empty after exclusions, or it was launched already (a second
        click, another tab): the status changes with a conditional UPDATE, so two
        launches cannot both pass.
    """
    now = now or utcnow()
    check_template(mobilization.body, has_action=mobilization.action_id is not None)
    if schedule_at is not None and schedule_at <= now:
        raise MobilizationError(_("The scheduled time has passed; choose a later time."), "schedule_at")
    target = MobilizationStatus.SCHEDULED if schedule_at else MobilizationStatus.SENDING
    moved = db.session.execute(
        update(Mobilization)
        .where(Mobilization.id == mobilization.id, Mobilization.status == MobilizationStatus.DRAFT)
        .values(status=target, launched_at=now, scheduled_at=schedule_at),
        execution_options={"synchronize_session": False},
    ).rowcount
    if moved != 1:
        raise MobilizationError(_("This mobilization was launched already."))
    db.session.refresh(mobilization)
    split = launch_audience(mobilization, actor)
    audience = split.count
    if not audience.count:
        raise MobilizationError(_("Nobody in this audience can be texted."))
    if mobilization.kind is MobilizationKind.BROADCAST:
        insert_outbox_rows(mobilization, split, schedule_at or now, now)
        if target is MobilizationStatus.SENDING:
            note_dispatch("mobilization", mobilization.id)
    mobilization.recipients = audience.count
    mobilization.excluded_opted_out = audience.opted_out
    mobilization.excluded_no_phone = audience.no_phone
    mobilization.excluded_invalid = audience.invalid_phone
    mobilization.excluded_duplicate = audience.duplicate
    record(actor, "schedule" if schedule_at else "launch", mobilization,
           {"recipients": audience.count, "excluded": audience.excluded})
    return audience


def insert_outbox_rows(mobilization: Mobilization, audience: LaunchAudience, not_before: datetime,
                       now: datetime) -> int:
    """Write one row per recipient of ``audience``: ``queued``, or ``held`` for a number
    waiting for staff. Returns how many rows were written.

    Bodies differ only by the name, so each distinct name is rendered and measured (encoding,
    segments) once here; the rows of the people alone at their number are written by the
    database, ``INSERT ... SELECT`` from ``people`` with the body rendered by ``replace()`` and
    the encoding and segments chosen by name: one statement, whatever the audience's size.
    The texts to shared or held numbers (few) are rendered here, addressed to everyone there.

    :raise MobilizationError: when a rendered text is longer than a text can carry.
    """
    template = full_body(mobilization)
    infos: dict[str, encoding.BodyInfo] = {}
    for name in audience.unlisted_names:
        info = encoding.analyze(render(template, {"first_name": name}))
        if info.too_long:
            if not audience.goes_by(name):
                continue  # only someone at a shared number goes by it: judged with the others there
            raise _too_long(name)
        infos[name] = info
    written = _insert_listed_rows(mobilization, template, audience.count.recipients, not_before, now)
    table = OutboxMessage.__table__
    columns = ["mobilization_id", "person_id", "phone", "body", "encoding", "segments", "kind", "status",
               "attempts", "not_before", "created_at", "updated_at", "sent_by_id"]
    if infos:
        name = greeting_name()
        rows = select(
            literal(mobilization.id), Person.id, Person.phone, func.replace(literal(template), "{first_name}", name),
            _by_name(name, {n: i.encoding for n, i in infos.items()}, table.c.encoding.type),
            _by_name(name, {n: i.segments for n, i in infos.items()}, table.c.segments.type),
            literal(MessageKind.MOBILIZATION, table.c.kind.type), literal(OutboxStatus.QUEUED, table.c.status.type),
            literal(0), literal(not_before, table.c.not_before.type), literal(now, table.c.created_at.type),
            literal(now, table.c.updated_at.type), literal(None, table.c.sent_by_id.type),
        ).where(audience.unlisted_condition)
        db.session.execute(insert(table).from_select(columns, rows))
    # Counted by the query that judged the audience, in this transaction (psycopg reports no
    # rowcount for an INSERT ... SELECT built by SQLAlchemy).
    return written + audience.count.unlisted


def _by_name(name: ColumnElement[str], values: dict[str, Any], type_: Any) -> ColumnElement[Any]:
    """The value of a column that depends on the name, ``values[name]``, for the database to
    write: the value most names have is a literal, or a CASE's ELSE with the other values told
    by their names (usually no CASE at all: one encoding, one segment count). Raises nothing."""
    names_by_value: dict[Any, list[str]] = {}
    for n, value in values.items():
        names_by_value.setdefault(value, []).append(n)
    common, *others = sorted(names_by_value, key=lambda value: len(names_by_value[value]), reverse=True)
    if not others:
        return literal(common, type_)
    return case(*((in_values(name, names_by_value[value]), literal(value, type_)) for value in others),
                else_=literal(common, type_))


def _analyzed(template: str, name: str) -> encoding.BodyInfo:
    """The encoding and segments of the text to ``name``.

    :raise MobilizationError: when it is longer than a text can carry."""
    info = encoding.analyze(render(template, {"first_name": name}))
    if info.too_long:
        raise _too_long(name)
    return info


def _too_long(name: str) -> MobilizationError:
    return MobilizationError(_("The text for %(name)s is longer than %(max)d characters.",
                               name=name, max=encoding.MAX_BODY_CHARS), "body")


def _insert_listed_rows(mobilization: Mobilization, template: str, recipients: Sequence[Recipient],
                        not_before: datetime, now: datetime) -> int:
    """The texts to shared or held numbers: few (households, numbers waiting for staff), so
    rendered here, each addressed to everyone of the audience at its number. The row belongs
    to the first person, so replies thread with them (``person_for_phone``); a held
    recipient's text is written but waits for staff."""
    if not recipients:
        return 0
    rows = []
    for r in recipients:
        name = r.greeting_name
        info = _analyzed(template, name)
        rows.append({
            "mobilization_id": mobilization.id, "person_id": r.person_id, "phone": r.phone,
            "body": render(template, {"first_name": name}), "encoding": info.encoding, "segments": info.segments,
            "kind": MessageKind.MOBILIZATION, "status": OutboxStatus.HELD if r.held else OutboxStatus.QUEUED,
            "attempts": 0, "not_before": not_before, "created_at": now, "updated_at": now, "sent_by_id": None,
        })
    db.session.execute(insert(OutboxMessage.__table__), rows)
    return len(rows)


def cancel(mobilization: Mobilization, actor: User, now: datetime | None = None) -> int:
    """Stop a mobilization: every text not yet handed to Twilio is canceled (a worker that
    claimed one re-checks before sending). Returns how many were canceled.

    :raise MobilizationError: when it is already done or canceled.
    """
    now = now or utcnow()
    if mobilization.status in (MobilizationStatus.DONE, MobilizationStatus.CANCELED):
        raise MobilizationError(_("This mobilization is finished already."))
    mobilization.status = MobilizationStatus.CANCELED
    mobilization.canceled_at = now
    canceled = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.mobilization_id == mobilization.id, OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.CANCELED, error_message="mobilization canceled", updated_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    record(actor, "cancel", mobilization, {"canceled_texts": canceled})
    return canceled


def resume(mobilization: Mobilization, actor: User) -> None:
    """Resume a paused mobilization (after an automatic pause, once the cause is understood).

    :raise MobilizationError: when it is not paused.
    """
    if mobilization.status is not MobilizationStatus.PAUSED:
        raise MobilizationError(_("Only a paused mobilization can be resumed."))
    mobilization.status = MobilizationStatus.SENDING
    mobilization.paused_at = None
    mobilization.paused_reason = None
    mobilization.heartbeat_at = None
    record(actor, "resume", mobilization)
    note_dispatch("mobilization", mobilization.id)


def pause(mobilization_id: int, reason: str, now: datetime | None = None) -> bool:
    """Pause a sending mobilization (conditional UPDATE: only from "sending"). Returns True
    when it paused now. Raises nothing."""
    now = now or utcnow()
    paused = db.session.execute(
        update(Mobilization)
        .where(Mobilization.id == mobilization_id, Mobilization.status == MobilizationStatus.SENDING)
        .values(status=MobilizationStatus.PAUSED, paused_at=now, paused_reason=reason[:255]),
        execution_options={"synchronize_session": False},
    ).rowcount
    if paused:
        record(None, "auto_pause", None, {"reason": reason}, object_type="sms_mobilizations",
               summary=f"mobilization {mobilization_id} paused: {reason}"[:255])
    return bool(paused)


@dataclass
class Progress:
    """Counts of a mobilization's texts, for the progress bar and the results."""

    total: int = 0
    queued: int = 0
    in_flight: int = 0
    sent: int = 0  # accepted by Twilio (any later status)
    delivered: int = 0
    failed: int = 0  # failed or undelivered
    canceled: int = 0
    unknown: int = 0
    held: int = 0  # waiting for staff: a number shared across lists
    opted_out_after: int = 0
    replied: int = 0
    rsvped: int = 0

    @property
    def processed(self) -> int:
        return self.total - self.queued - self.in_flight - self.held

    @property
    def percent(self) -> int:
        return round(100 * self.processed / self.total) if self.total else 0


def progress(mobilization: Mobilization) -> Progress:
    """The mobilization's counts: outbox by status, then replies, opt-outs and RSVPs."""
    result = progress_summaries([mobilization.id])[mobilization.id]
    if mobilization.launched_at is not None:
        texted = select(OutboxMessage.phone).where(
            OutboxMessage.mobilization_id == mobilization.id, OutboxMessage.sid.is_not(None)
        )
        replied, opted = db.session.execute(
            select(
                func.count(func.distinct(InboundMessage.from_phone)),
                func.count(func.distinct(case((InboundMessage.outcome == "opted_out", InboundMessage.from_phone)))),
            ).where(InboundMessage.from_phone.in_(texted), InboundMessage.received_at >= mobilization.launched_at)
        ).one()
        result.replied, result.opted_out_after = replied, opted
        result.rsvped = actions_link.rsvp_yes_count(mobilization)
    return result


def maybe_finish(mobilization_id: int, now: datetime | None = None) -> bool:
    """Mark a sending broadcast done once none of its texts waits or is in flight.
    Returns True when it finished now. Raises nothing."""
    now = now or utcnow()
    waiting = select(OutboxMessage.id).where(
        OutboxMessage.mobilization_id == mobilization_id,
        or_(OutboxMessage.status == OutboxStatus.QUEUED,
            and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.sid.is_(None))),
    ).exists()
    return bool(db.session.execute(
        update(Mobilization)
        .where(Mobilization.id == mobilization_id, Mobilization.status == MobilizationStatus.SENDING,
               Mobilization.kind == MobilizationKind.BROADCAST, ~waiting)
        .values(status=MobilizationStatus.DONE, finished_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount)


def p2p_next(mobilization: Mobilization, user: User) -> tuple[Recipient | None, int]:
    """The next person to text in a P2P mobilization, and how many are left. Raises nothing."""
    audience = resolve_audience(user, AudienceFilter.from_json(mobilization.audience), mobilization.id)
    return (audience.recipients[0] if audience.recipients else None), audience.count


def may_send_p2p(mobilization: Mobilization, user: User) -> bool:
    """A leader's P2P texts speak in the leader's own voice ("it's Fatima..."): only that
    leader sends them. Staff may watch; a P2P staff wrote stays open to staff. Raises nothing."""
    author = mobilization.created_by
    return author is None or not author.is_leader or author.id == user.id


def p2p_send(mobilization: Mobilization, user: User, person_id: int, *, skip: bool = False) -> OutboxMessage:
    """Send (or skip) the P2P text to one person of the leader's list; that person's thread
    is assigned to the leader. A person whose number waits for staff gets the text ``held``.

    :raise MobilizationError: when the mobilization is not sending, ``user`` is not the leader
        who wrote it (see :func:`may_send_p2p`), the person is not one the leader may text
        now, or was texted already (a double click).
    """
    if mobilization.kind is not MobilizationKind.P2P or mobilization.status is not MobilizationStatus.SENDING:
        raise MobilizationError(_("This mobilization is not being sent."))
    if not may_send_p2p(mobilization, user):
        raise MobilizationError(_("Only %(name)s can send these texts: they go out in their name.",
                                  name=mobilization.created_by.name))
    audience = resolve_audience(user, AudienceFilter.from_json(mobilization.audience), mobilization.id)
    recipient = next((r for r in audience.recipients if r.person_id == person_id), None)
    if recipient is None:
        raise MobilizationError(_("This person was texted already or cannot be texted."))
    body = render(full_body(mobilization), {"first_name": recipient.greeting_name})
    info = sendable(body)  # the action's title and place can push a checked template over
    now = utcnow()
    status = OutboxStatus.CANCELED if skip else OutboxStatus.HELD if recipient.held else OutboxStatus.QUEUED
    row = OutboxMessage(
        mobilization_id=mobilization.id, person_id=person_id, phone=recipient.phone, body=body,
        encoding=info.encoding, segments=info.segments, kind=MessageKind.MOBILIZATION,
        status=status, attempts=0, not_before=now,
        created_at=now, updated_at=now, sent_by_id=user.id, error_message="skipped" if skip else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        raise MobilizationError(_("This person was texted already or cannot be texted.")) from None
    if not skip:
        # The thread of this person at this number, not of the number: a text to one of
        # several people sharing a phone opens nobody else's texts.
        conversation = conversation_for(recipient.phone, person_id, now)
        conversation.assigned_to_id = user.id
        if status is OutboxStatus.QUEUED:
            note_dispatch("row", row.id)
    return row


def finish_p2p(mobilization: Mobilization, actor: User, now: datetime | None = None) -> None:
    """The leader is done with their list (or there is nobody left).

    :raise MobilizationError: when it is not a sending P2P mobilization.
    """
    if mobilization.kind is not MobilizationKind.P2P or mobilization.status is not MobilizationStatus.SENDING:
        raise MobilizationError(_("This mobilization is not being sent."))
    mobilization.status = MobilizationStatus.DONE
    mobilization.finished_at = now or utcnow()
    record(actor, "finish", mobilization)


def progress_summaries(mobilization_ids: Sequence[int]) -> dict[int, Progress]:
    """Counts for several mobilizations (the list page) in one query."""
    result = {mid: Progress() for mid in mobilization_ids}
    if not result:
        return result
    rows = db.session.execute(
        select(OutboxMessage.mobilization_id, OutboxMessage.status, OutboxMessage.sid.is_not(None), func.count())
        .where(OutboxMessage.mobilization_id.in_(list(result)))
        .group_by(OutboxMessage.mobilization_id, OutboxMessage.status, OutboxMessage.sid.is_not(None))
    ).all()
    for mid, status, has_sid, n in rows:
        p = result[mid]
        p.total += n
        p.sent += n if has_sid else 0
        if status is OutboxStatus.QUEUED:
            p.queued += n
        elif status is OutboxStatus.SENDING and not has_sid:
            p.in_flight += n
        elif status is OutboxStatus.DELIVERED:
            p.delivered += n
        elif status in (OutboxStatus.FAILED, OutboxStatus.UNDELIVERED):
            p.failed += n
        elif status is OutboxStatus.CANCELED:
            p.canceled += n
        elif status is OutboxStatus.UNKNOWN:
            p.unknown += n
        elif status is OutboxStatus.HELD:
            p.held += n
    return result

