"""Follow-ups from an action's turnout lists (added on the turnout page, see
``actions.after.add_follow_ups``): the assignee's open ones, and marking one done."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import NotFound

from organizer.audit.services import record
from organizer.auth.models import User
from organizer.db import utcnow
from organizer.extensions import db
from organizer.people.models import Person
from organizer.people.services import people_visible_to
from organizer.relational.models import ActionFollowUp

#: The most the follow-ups page lists (soonest first).
LIMIT = 50


def open_action_follow_ups(user: User, limit: int = LIMIT) -> list[ActionFollowUp]:
    """``user``'s open follow-ups from turnout lists, soonest first, with the person and the
    action (one query)."""
    return list(db.session.scalars(
        select(ActionFollowUp).join(Person, Person.id == ActionFollowUp.person_id)
        .where(ActionFollowUp.assigned_to_id == user.id, ActionFollowUp.done_at.is_(None),
               Person.archived_at.is_(None), people_visible_to(user))
        .order_by(ActionFollowUp.due_on, ActionFollowUp.id).limit(limit)
        .options(joinedload(ActionFollowUp.person), joinedload(ActionFollowUp.action))
    ))


def get_action_follow_up(user: User, follow_up_id: int) -> ActionFollowUp:
    """The follow-up, if ``user`` holds it (staff: any, of people they see).

    :raise NotFound: when there is none, or it is another leader's.
    """
    stmt = (select(ActionFollowUp).join(Person, Person.id == ActionFollowUp.person_id)
            .where(ActionFollowUp.id == follow_up_id, people_visible_to(user)))
    if not user.is_staff:
        stmt = stmt.where(ActionFollowUp.assigned_to_id == user.id)
    follow_up = db.session.scalar(stmt)
    if follow_up is None:
        raise NotFound()
    return follow_up


def complete_action_follow_up(follow_up: ActionFollowUp, actor: User) -> bool:
    """Mark it done (the caller commits); one done already changes nothing. Returns whether it
    changed. Audited."""
    if follow_up.done_at is not None:
        return False
    follow_up.done_at = utcnow()
    record(actor, "follow_up_done", follow_up, {"person_id": follow_up.person_id, "action_id": follow_up.action_id},
           summary=follow_up.note)
    return True
