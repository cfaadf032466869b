"""The door offline: the roster a check-in device keeps, and the operations it queued while it
had no connection, applied when it syncs.

Each operation carries an id the device made (a UUID). Applying an operation records that id
(``CheckinOp``), so an operation sent twice (a retry after a lost answer, a tab reopened
mid-sync) is applied once. Two devices checking in the same person make two operations; the
unique (action, person) attendance makes them count one arrival. Two devices entering the same
walk-in are matched by phone (as the walk-in form does) or, with no phone, by name among the
people already checked in at this action.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from organizer.actions.models import Action, Attendance, CheckinOp, Rsvp
from organizer.actions.services import WalkInData, check_in, checkin_search, undo_check_in, walk_in
from organizer.auth.models import User
from organizer.extensions import db
from organizer.institutions.models import Institution, Membership
from organizer.people.models import Person
from organizer.people.services import PhoneError, format_phone, people_visible_to
from organizer.web import MAX_DB_INT

KINDS = ("check_in", "undo", "walk_in")
MAX_OPS = 500  # one sync's batch; a device with more sends the rest in the next one
ROSTER_LIMIT = 5000  # far above any one action's RSVP list; keeps a device's copy bounded
NAME_MAX = 80
PHONE_MAX = 40


@dataclass
class OpResult:
    """What became of one queued operation. ``status``: ``done``, ``already`` (checked in
    before: counted once), ``not_found`` (no such person this user may see), ``invalid``."""

    id: str
    status: str
    replayed: bool = False
    person_id: int | None = None
    name: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("done", "already")


def _roster_entry(person: Person, status, attended: bool, region: str) -> dict[str, Any]:
    return {
        "id": person.id, "name": person.display_name, "phone": format_phone(person.phone, region),
        "digits": "".join(ch for ch in (person.phone or "") if ch.isdigit()),
        "institutions": [m.institution.name for m in person.memberships],
        "rsvp": status.value if status else None, "checked_in": attended,
    }


def checkin_roster(action: Action, user: User, *, region: str, q: str = "") -> list[dict[str, Any]]:
    """The people a device keeps for ``action``: those ``user`` may see who answered its RSVP
    or are checked in already (or, with ``q``, the door's search for ``q``), in three queries.

    Phones are shown as the check-in page shows them: to whoever may see the person.
    """
    if q.strip():
        rows = checkin_search(action, user, q)
        return [_roster_entry(r.person, r.rsvp_status, r.checked_in, region) for r in rows]
    rsvp, attendance = aliased(Rsvp), aliased(Attendance)
    stmt = (
        select(Person, rsvp.status, attendance.id)
        .where(people_visible_to(user), Person.archived_at.is_(None))
        .outerjoin(rsvp, and_(rsvp.person_id == Person.id, rsvp.action_id == action.id))
        .outerjoin(attendance, and_(attendance.person_id == Person.id, attendance.action_id == action.id))
        .where(or_(rsvp.id.is_not(None), attendance.id.is_not(None)))
        .options(selectinload(Person.memberships).joinedload(Membership.institution))
        .order_by(Person.last_name, Person.first_name, Person.id)
        .limit(ROSTER_LIMIT)
    )
    return [_roster_entry(p, s, a is not None, region) for p, s, a in db.session.execute(stmt).all()]


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 < number <= MAX_DB_INT else None


def _op_id(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def _visible(user: User, person_id: int | None) -> Person | None:
    if person_id is None:
        return None
    return db.session.scalar(select(Person).where(Person.id == person_id, people_visible_to(user)))


def _walk_in_by_name(action: Action, user: User, first: str, last: str) -> Person | None:
    """The one person checked in at ``action`` with this name and no phone, whom ``user`` may see:
    the same walk-in entered on another device without a phone."""
    found = db.session.scalars(
        select(Person).join(Attendance, and_(Attendance.person_id == Person.id, Attendance.action_id == action.id))
        .where(people_visible_to(user), Person.phone.is_(None),
               func.lower(Person.first_name) == first.lower(), func.lower(Person.last_name) == last.lower())
        .limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def _apply(action: Action, user: User, op: dict[str, Any], op_id: str, kind: str, *, region: str) -> OpResult:
    if kind in ("check_in", "undo"):
        person = _visible(user, _int(op.get("person_id")))
        if person is None:
            return OpResult(op_id, "not_found")
        if kind == "undo":
            undone = undo_check_in(action, person.id, user)
            return OpResult(op_id, "done" if undone else "already", person_id=person.id, name=person.display_name)
        _attendance, created = check_in(action, person, user)
        return OpResult(op_id, "done" if created else "already", person_id=person.id, name=person.display_name)
    first, last = _text(op.get("first_name"), NAME_MAX), _text(op.get("last_name"), NAME_MAX)
    phone = _text(op.get("phone"), PHONE_MAX) or None
    institution_id = _int(op.get("institution_id")) if op.get("institution_id") not in (None, "") else None
    if not first:
        return OpResult(op_id, "invalid", error="first_name")
    if institution_id is not None and db.session.get(Institution, institution_id) is None:
        return OpResult(op_id, "invalid", error="institution")
    same = None if phone else _walk_in_by_name(action, user, first, last)
    if same is not None:
        _attendance, created = check_in(action, same, user)
        return OpResult(op_id, "done" if created else "already", person_id=same.id, name=same.display_name)
    try:
        with db.session.begin_nested():
            before = db.session.scalar(select(func.count()).select_from(Attendance).where(Attendance.action_id == action.id))
            _attendance, person, _created = walk_in(
                action, WalkInData(first_name=first, last_name=last, phone=phone, institution_id=institution_id),
                user, region=region)
            after = db.session.scalar(select(func.count()).select_from(Attendance).where(Attendance.action_id == action.id))
    except PhoneError:
        return OpResult(op_id, "invalid", error="phone")
    status = "done" if after > before else "already"
    if _visible(user, person.id) is None:
        # Matched by phone to somebody on another leader's list: checked in, but their record
        # stays theirs; this user sees the name they typed.
        return OpResult(op_id, status, name=f"{first} {last}".strip())
    return OpResult(op_id, status, person_id=person.id, name=person.display_name)


def sync_checkin_ops(action: Action, user: User, ops: Any, *, region: str) -> list[OpResult]:
    """Apply a device's queued operations in order; one result per operation, by its id.

    An operation whose id was applied before is not applied again: its first outcome is
    returned with ``replayed``. An id another user or action used comes back ``not_found``.
    Malformed operations come back ``invalid`` and change nothing. The caller commits.

    :raise ValueError: when ``ops`` is not a list of at most ``MAX_OPS`` operations.
    """
    if not isinstance(ops, list) or len(ops) > MAX_OPS:
        raise ValueError("ops")
    results: list[OpResult] = []
    for op in ops:
        raw_id = op.get("id") if isinstance(op, dict) else None
        op_id = _op_id(raw_id)
        kind = op.get("kind") if isinstance(op, dict) else None
        if op_id is None or kind not in KINDS:
            results.append(OpResult(str(raw_id)[:36] if raw_id is not None else "", "invalid", error="op"))
            continue
        seen = db.session.scalar(select(CheckinOp).where(CheckinOp.op_id == op_id))
        if seen is not None:
            results.append(_replayed(seen, action, user))
            continue
        result = _apply(action, user, op, op_id, kind, region=region)
        try:
            with db.session.begin_nested():
                db.session.add(CheckinOp(op_id=op_id, action_id=action.id, user_id=user.id, kind=kind,
                                         status=result.status, person_id=result.person_id))
        except IntegrityError:
            # The same operation arrived at the same moment from a retry: its check-in counted
            # once already (unique attendance); answer as a replay.
            seen = db.session.scalar(select(CheckinOp).where(CheckinOp.op_id == op_id))
            if seen is None:
                raise
            results.append(_replayed(seen, action, user))
            continue
        results.append(result)
    return results


def _replayed(seen: CheckinOp, action: Action, user: User) -> OpResult:
    if seen.action_id != action.id or seen.user_id != user.id:
        return OpResult(seen.op_id, "not_found", replayed=True)
    person = _visible(user, seen.person_id)
    return OpResult(seen.op_id, seen.status, replayed=True, person_id=person.id if person else None,
                    name=person.display_name if person else None)


def results_json(results: list[OpResult]) -> list[dict[str, Any]]:
    return [{**asdict(r), "ok": r.ok} for r in results]
