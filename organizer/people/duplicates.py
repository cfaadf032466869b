"""Likely duplicate people: same phone, same email, or the same name (accents, case, word order
and nicknames aside, by ``Person.name_key``).

Pairs are found in SQL by blocking: a self-join on each indexed key, so 100,000 people cost
three index joins and never a comparison of every pair in Python. Archived people are left
out, and so are pairs a user dismissed as two different people (``DuplicateDismissal``). Who may see whom applies to both people of a pair: a leader sees only pairs within their
own list.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, inspect, literal, select, union_all
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.sql.util import ClauseAdapter

from werkzeug.exceptions import NotFound

from organizer.audit.services import record
from organizer.auth.models import User
from organizer.db import paged
from organizer.extensions import db
from organizer.people.models import DuplicateDismissal, Person
from organizer.people.services import get_visible_person, people_visible_to

#: Points for each reason; a pair's score is their sum, at most 100.
WEIGHTS = {"phone": 50, "email": 50, "name": 40}


@dataclass
class DuplicatePair:
    first: Person
    second: Person
    reasons: list[str]
    score: int


def _visible(alias, user: User):
    """``people_visible_to`` (the one rule) for an alias of ``Person``."""
    return ClauseAdapter(inspect(alias).selectable).traverse(people_visible_to(user))


def _pairs(user: User) -> Select:
    a, b = aliased(Person), aliased(Person)
    blocks = []
    for reason in WEIGHTS:
        col_a, col_b = getattr(a, "name_key" if reason == "name" else reason), getattr(b, "name_key" if reason == "name" else reason)
        flags = [literal(1 if r == reason else 0).label(r) for r in WEIGHTS]
        blocks.append(select(a.id.label("a_id"), b.id.label("b_id"), *flags).where(
            col_a == col_b, col_a.is_not(None), col_a != "", a.id < b.id,
            a.archived_at.is_(None), b.archived_at.is_(None), _visible(a, user), _visible(b, user)))
    found = union_all(*blocks).subquery()
    score = sum(func.max(found.c[r]) * weight for r, weight in WEIGHTS.items())
    dismissed = select(DuplicateDismissal.id).where(DuplicateDismissal.first_person_id == found.c.a_id,
                                                    DuplicateDismissal.second_person_id == found.c.b_id)
    return (select(found.c.a_id, found.c.b_id, *(func.max(found.c[r]).label(r) for r in WEIGHTS),
                   score.label("score"))
            .where(~dismissed.exists())
            .group_by(found.c.a_id, found.c.b_id)
            .order_by(score.desc(), found.c.a_id, found.c.b_id))


def count_duplicate_pairs(user: User) -> int:
    """How many pairs of likely duplicates ``user`` may see (one query)."""
    return db.session.scalar(select(func.count()).select_from(_pairs(user).order_by(None).subquery())) or 0


def people_in_duplicate_pairs(user: User) -> Select:
    """The ids of people in a likely duplicate pair ``user`` may see, for the people list filter."""
    pairs = _pairs(user).order_by(None).subquery()
    return select(pairs.c.a_id).union(select(pairs.c.b_id))


def duplicate_pairs(user: User, page: int = 1, per_page: int = 50) -> tuple[list[DuplicatePair], int]:
    """One page of likely duplicate pairs, best first, and how many there are: three queries
    whatever the page (the pairs, their count, the people)."""
    stmt, total = paged(_pairs(user), page, per_page)
    rows = db.session.execute(stmt).all()
    ids = {r.a_id for r in rows} | {r.b_id for r in rows}
    people = {p.id: p for p in db.session.scalars(
        select(Person).where(Person.id.in_(ids)).options(joinedload(Person.owner)))} if ids else {}
    pairs = [DuplicatePair(people[r.a_id], people[r.b_id], [reason for reason in WEIGHTS if getattr(r, reason)],
                           min(100, int(r.score))) for r in rows]
    return pairs, total


# --- "not the same person" ---------------------------------------------------------------


def _ordered(a_id: int, b_id: int) -> tuple[int, int]:
    return (a_id, b_id) if a_id < b_id else (b_id, a_id)


def dismiss_pair(user: User, a_id: int, b_id: int) -> DuplicateDismissal:
    """Record that people ``a_id`` and ``b_id`` are two different people, so the pair is no longer
    offered to anyone (the caller commits). Dismissing a pair already dismissed changes nothing.

    :raise NotFound: when either person is not one ``user`` may see (a leader: both must be in
        their own list), or both ids are the same.
    """
    if a_id == b_id:
        raise NotFound()
    first_id, second_id = _ordered(a_id, b_id)
    first, second = get_visible_person(user, first_id), get_visible_person(user, second_id)
    found = db.session.scalar(select(DuplicateDismissal).where(DuplicateDismissal.first_person_id == first_id,
                                                               DuplicateDismissal.second_person_id == second_id))
    if found is not None:
        return found
    dismissal = DuplicateDismissal(first_person_id=first_id, second_person_id=second_id, dismissed_by_id=user.id)
    db.session.add(dismissal)
    db.session.flush()
    summary = f"not the same person: #{first_id} {first.display_name} and #{second_id} {second.display_name}"
    record(user, "dismiss_duplicate", first, {"dismissal_id": dismissal.id, "other_person_id": second_id},
           summary=summary[:255])
    return dismissal


def _visible_dismissals(user: User) -> Select:
    first, second = aliased(Person), aliased(Person)
    return (select(DuplicateDismissal)
            .join(first, first.id == DuplicateDismissal.first_person_id)
            .join(second, second.id == DuplicateDismissal.second_person_id)
            .where(_visible(first, user), _visible(second, user)))


def dismissed_pairs(user: User, page: int = 1, per_page: int = 50) -> tuple[list[DuplicateDismissal], int]:
    """One page of dismissed pairs ``user`` may see (a leader: both people in their own list),
    newest first, with both people and who dismissed them loaded: two queries."""
    stmt, total = paged(_visible_dismissals(user).order_by(DuplicateDismissal.dismissed_at.desc(),
                                                           DuplicateDismissal.id.desc()), page, per_page)
    rows = list(db.session.scalars(stmt.options(
        joinedload(DuplicateDismissal.first_person).joinedload(Person.owner),
        joinedload(DuplicateDismissal.second_person).joinedload(Person.owner),
        joinedload(DuplicateDismissal.dismissed_by))))
    return rows, total


def undo_dismissal(user: User, dismissal_id: int) -> None:
    """Offer the pair again as likely duplicates (the caller commits).

    :raise NotFound: when there is no such dismissal or ``user`` may not see both people.
    """
    dismissal = db.session.scalar(_visible_dismissals(user).where(DuplicateDismissal.id == dismissal_id))
    if dismissal is None:
        raise NotFound()
    first_id, second_id = dismissal.first_person_id, dismissal.second_person_id
    record(user, "undo_dismiss_duplicate", dismissal.first_person,
           {"dismissal_id": dismissal.id, "other_person_id": second_id,
            "dismissed_by_id": dismissal.dismissed_by_id, "dismissed_at": dismissal.dismissed_at.isoformat()},
           summary=f"offered again as likely duplicates: #{first_id} and #{second_id}")
    db.session.delete(dismissal)
    db.session.flush()
