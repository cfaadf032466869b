"""Numbers shared across lists: the records staff must decide about (a household, a
duplicate), and their decision, which releases or cancels the texts held meanwhile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select, update

from organizer.audit.services import record
from organizer.auth.models import User
from organizer.db import utcnow
from organizer.extensions import db
from organizer.people.models import Person, PhoneConflict, PhoneConflictStatus
from organizer.people.services import archive_person
from organizer.sms.errors import ConflictError
from organizer.sms.models import OutboxMessage, OutboxStatus
from organizer.sms.outbox import note_dispatch


@dataclass
class SharedNumber:
    """A phone conflict as staff review it: the record, everyone else with the number, and
    how many texts to the record wait."""

    conflict: PhoneConflict
    others: list[Person]
    held: int


def phone_conflicts(*, decided: bool = False, limit: int = 100) -> list[SharedNumber]:
    """Open conflicts, oldest first (``decided``: the latest decisions). Staff only: it names
    people of every list. Three queries."""
    from sqlalchemy.orm import joinedload

    stmt = select(PhoneConflict).options(
        joinedload(PhoneConflict.person).joinedload(Person.owner), joinedload(PhoneConflict.created_by),
        joinedload(PhoneConflict.resolved_by),
    )
    if decided:
        stmt = stmt.where(PhoneConflict.status != PhoneConflictStatus.OPEN).order_by(
            PhoneConflict.resolved_at.desc(), PhoneConflict.id.desc())
    else:
        stmt = stmt.where(PhoneConflict.status == PhoneConflictStatus.OPEN).order_by(PhoneConflict.id)
    conflicts = list(db.session.scalars(stmt.limit(limit)).unique())
    phones = {c.phone for c in conflicts}
    holders: dict[str, list[Person]] = {}
    if phones:
        for person in db.session.scalars(select(Person).options(joinedload(Person.owner))
                                         .where(Person.phone.in_(phones)).order_by(Person.id)):
            holders.setdefault(person.phone or "", []).append(person)
    held: dict[tuple[int | None, str], int] = {}
    if conflicts:
        held = {(pid, phone): n for pid, phone, n in db.session.execute(
            select(OutboxMessage.person_id, OutboxMessage.phone, func.count())
            .where(OutboxMessage.status == OutboxStatus.HELD,
                   OutboxMessage.person_id.in_([c.person_id for c in conflicts]))
            .group_by(OutboxMessage.person_id, OutboxMessage.phone))}
    return [SharedNumber(c, [p for p in holders.get(c.phone, []) if p.id != c.person_id],
                         held.get((c.person_id, c.phone), 0)) for c in conflicts]


def open_conflict_count() -> int:
    """How many shared numbers wait for staff. One query."""
    return db.session.scalar(select(func.count(PhoneConflict.id)).where(
        PhoneConflict.status == PhoneConflictStatus.OPEN)) or 0


def get_phone_conflict(conflict_id: int) -> PhoneConflict:
    """:raise NotFound: when there is no such conflict."""
    from werkzeug.exceptions import NotFound

    conflict = db.session.get(PhoneConflict, conflict_id)
    if conflict is None:
        raise NotFound()
    return conflict


#: What staff may decide about a shared number.
CONFLICT_DECISIONS = ("allow", "duplicate", "archive")


def resolve_phone_conflict(conflict: PhoneConflict, decision: str, actor: User,
                           now: datetime | None = None) -> int:
    """Staff decide about a record that shares a number across lists:

    - ``allow``: a household sharing a phone; the record may be texted, its held texts go out;
    - ``duplicate``: the same person twice, to merge later; the record keeps its number but is
      never texted at it, and its held texts are canceled;
    - ``archive``: a duplicate taken off the lists at once (archived, held texts canceled).

    Returns how many held texts were released or canceled.

    :raise ConflictError: when it was decided already.
    :raise ValueError: for another ``decision``.
    """
    if decision not in CONFLICT_DECISIONS:
        raise ValueError(decision)
    if conflict.status is not PhoneConflictStatus.OPEN:
        raise ConflictError(_("Someone decided about this number already."))
    now = now or utcnow()
    conflict.status = PhoneConflictStatus.ALLOWED if decision == "allow" else PhoneConflictStatus.DUPLICATE
    conflict.resolved_by_id = actor.id
    conflict.resolved_at = now
    held = select(OutboxMessage.id).where(OutboxMessage.person_id == conflict.person_id,
                                          OutboxMessage.phone == conflict.phone,
                                          OutboxMessage.status == OutboxStatus.HELD)
    if decision == "allow":
        ids = list(db.session.scalars(held))
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids))
            .values(status=OutboxStatus.QUEUED, not_before=now, updated_at=now, error_message=None),
            execution_options={"synchronize_session": False},
        )
        for row_id in ids:
            note_dispatch("row", row_id)
        count = len(ids)
    else:
        count = db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(held))
            .values(status=OutboxStatus.CANCELED, updated_at=now, error_message="duplicate record, not sent"),
            execution_options={"synchronize_session": False},
        ).rowcount
    if decision == "archive":
        archive_person(conflict.person, actor)
    record(actor, "resolve_phone_conflict", conflict.person, {"phone": conflict.phone, "decision": decision,
                                                              "held_texts": count})
    return count

