"""After an action: follow-ups for the people on its turnout lists, and the attendance people
claim by answering YES to the "did you make it?" text, which staff confirm or dismiss.

Who sees whom: every list here goes through ``people_visible_to``; a leader adds follow-ups
for their own people only. Claims are decided by staff (the view guards it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from organizer.actions.models import Action, AttendanceClaim
from organizer.actions.services import check_in, turnout_condition
from organizer.audit.services import record
from organizer.auth.models import User
from organizer.db import utcnow
from organizer.extensions import db
from organizer.people.models import Person
from organizer.people.services import people_visible_to
from organizer.relational.models import ActionFollowUp
from organizer.relational.services import local_today

#: A follow-up from a turnout list is due this many days after it is added.
FOLLOW_UP_DAYS = 3
#: The lists the turnout page offers follow-ups for.
FOLLOW_UP_LISTS = ("no_show", "first_timer")
#: How long after an action staff may still ask "did you make it?".
MADE_IT_DAYS = 7


@dataclass
class FollowUpResult:
    created: int = 0
    skipped: int = 0  # already had a follow-up for this action and list


def follow_up_note(action: Action, which: str) -> str:
    """The note a follow-up carries, naming the action (in the federation's records, English
    like every stored note; the page shows it as written)."""
    what = {"no_show": "Said yes and did not come to", "first_timer": "First action:"}[which]
    return f"{what} {action.title}"[:255]


def add_follow_ups(action: Action, which: str, actor: User, *, now: datetime | None = None) -> FollowUpResult:
    """One follow-up for each person on the action's ``which`` list whom ``actor`` may see,
    for the person's organizer or leader (``actor`` when they have none), due in
    ``FOLLOW_UP_DAYS`` days. Someone who already has one for this action and list gets no
    second. Audited once, with the counts. Three queries and one insert, whatever the size.

    :raise ValueError: for a ``which`` not in ``FOLLOW_UP_LISTS``.
    """
    if which not in FOLLOW_UP_LISTS:
        raise ValueError(which)
    now = now or utcnow()
    people = db.session.execute(
        select(Person.id, Person.owner_id)
        .where(turnout_condition(action.id, which), people_visible_to(actor), Person.archived_at.is_(None))
        .order_by(Person.id)
    ).all()
    have = set(db.session.scalars(select(ActionFollowUp.person_id).where(
        ActionFollowUp.action_id == action.id, ActionFollowUp.turnout_list == which)))
    due = local_today() + timedelta(days=FOLLOW_UP_DAYS)
    note = follow_up_note(action, which)
    result = FollowUpResult()
    new = []
    for person_id, owner_id in people:
        if person_id in have:
            result.skipped += 1
            continue
        new.append(ActionFollowUp(action_id=action.id, person_id=person_id, turnout_list=which,
                                  assigned_to_id=owner_id or actor.id, due_on=due, note=note,
                                  created_by_id=actor.id, created_at=now))
    try:
        with db.session.begin_nested():
            db.session.add_all(new)
    except IntegrityError:
        # Another request added some at the same moment: add the rest one by one.
        for row in new:
            try:
                with db.session.begin_nested():
                    db.session.add(ActionFollowUp(**{c: getattr(row, c) for c in (
                        "action_id", "person_id", "turnout_list", "assigned_to_id", "due_on", "note",
                        "created_by_id", "created_at")}))
            except IntegrityError:
                result.skipped += 1
                new = [r for r in new if r is not row]
    result.created = len(new)
    record(actor, "add_follow_ups", action, {"list": which, "created": result.created, "skipped": result.skipped},
           summary=f"{result.created} follow-ups: {which} of {action.title}"[:255])
    return result


# --- "did you make it?" ---------------------------------------------------------------


def may_ask_made_it(action: Action, now: datetime | None = None) -> bool:
    """Whether the "did you make it?" text may be drafted: the action has started, within
    ``MADE_IT_DAYS`` days."""
    now = now or utcnow()
    return action.starts_at <= now <= action.starts_at + timedelta(days=MADE_IT_DAYS)


def claim_attendance(action_id: int, person: Person, reply: str, now: datetime) -> AttendanceClaim | None:
    """Keep a YES to the "did you make it?" text as a claim for staff to confirm, unless the
    person was checked in meanwhile or a claim was decided already. An open claim is
    refreshed with the newest reply. Returns the claim (``None`` when nothing was kept).
    Raises nothing."""
    from organizer.actions.models import Attendance

    if db.session.scalar(select(Attendance.id).where(Attendance.action_id == action_id,
                                                     Attendance.person_id == person.id)):
        return None
    claim = db.session.scalar(select(AttendanceClaim).where(AttendanceClaim.action_id == action_id,
                                                            AttendanceClaim.person_id == person.id))
    if claim is not None:
        if claim.decision is None:
            claim.reply_text, claim.created_at = reply[:320], now
            return claim
        return None
    claim = AttendanceClaim(action_id=action_id, person_id=person.id, reply_text=reply[:320], created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(claim)
    except IntegrityError:
        return None  # the same YES delivered twice at once: the first keeps it
    record(None, "claim_attendance", db.session.get(Action, action_id), {"person_id": person.id, "reply": reply[:320]},
           summary=f"{person.display_name} says they came"[:255])
    return claim


def open_claims(action: Action, user: User) -> list[AttendanceClaim]:
    """Undecided claims of attendance at ``action`` by people ``user`` may see (one query)."""
    return list(db.session.scalars(
        select(AttendanceClaim).join(Person, Person.id == AttendanceClaim.person_id)
        .where(AttendanceClaim.action_id == action.id, AttendanceClaim.decision.is_(None), people_visible_to(user))
        .order_by(Person.last_name, Person.first_name, Person.id)
        .options(joinedload(AttendanceClaim.person))
    ))


def decide_claim(action: Action, person_id: int, actor: User, *, confirm: bool,
                 now: datetime | None = None) -> bool:
    """Confirm (check the person in, noted as confirmed from their reply) or dismiss the
    person's open claim. Audited. Returns ``False`` when there was no open claim (decided in
    another tab, or none). Raises nothing."""
    now = now or utcnow()
    claim = db.session.scalar(select(AttendanceClaim).where(
        AttendanceClaim.action_id == action.id, AttendanceClaim.person_id == person_id,
        AttendanceClaim.decision.is_(None)).with_for_update())
    if claim is None:
        return False
    claim.decision = "confirmed" if confirm else "dismissed"
    claim.decided_at, claim.decided_by_id = now, actor.id
    if confirm:
        check_in(action, claim.person, actor)
    record(actor, "confirm_attendance" if confirm else "dismiss_attendance", action,
           {"person_id": person_id, "source": "did_you_make_it_reply", "reply": claim.reply_text},
           summary=f"{claim.person.display_name} at {action.title}"[:255])
    return True

