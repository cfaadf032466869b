"""Likely duplicate people: same phone, same email, or the same name (accents, case, word order
and nicknames aside, by ``Person.name_key``).

Pairs are found in SQL by blocking: a self-join on each indexed key, so 100,000 people cost
three index joins and never a comparison of every pair in Python. Archived people are left
out. Who may see whom applies to both people of a pair: a leader sees only pairs within their
own list.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, inspect, literal, select, union_all
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.sql.util import ClauseAdapter

from organizer.auth.models import User
from organizer.db import paged
from organizer.extensions import db
from organizer.people.models import Person
from organizer.people.services import people_visible_to

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
    return (select(found.c.a_id, found.c.b_id, *(func.max(found.c[r]).label(r) for r in WEIGHTS),
                   score.label("score"))
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
