"""Likely duplicate people: same phone, same email, or the same name (accents, case, word order
and nicknames aside, by ``Person.name_key``).

Archived people are left out, and so are pairs a user dismissed as two different people
(``DuplicateDismissal``). Who may see whom applies to both people of a pair: a leader sees only
pairs within their own list.

Fast on 100,000 people without listing every pair. Shared phones and emails are rare (a
household, a typing slip), shared names are not (tens of thousands of pairs in a large
federation), and every pair with a phone or email reason outscores every name-only pair. So:

* "strong" pairs (phone or email) are found by self-joins restricted to the phones and emails
  held more than once (an index-only ``GROUP BY ... HAVING`` on the partial indexes of live
  people), few enough to score and sort;
* name-only pairs come after them, in id order, from a walk of people by id with an index probe
  for a later twin: a page stops after its 50 pairs instead of sorting them all;
* the count needs no pair at all for names: the sum of n(n-1)/2 over each name shared by n
  people, less the name pairs already counted as strong, less dismissed name-only pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    inspect,
    literal,
    not_,
    select,
    union,
    union_all,
)
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
#: The column each reason compares.
KEYS = {"phone": "phone", "email": "email", "name": "name_key"}


@dataclass
class DuplicatePair:
    first: Person
    second: Person
    reasons: list[str]
    score: int


def _visible(alias, user: User):
    """``people_visible_to`` (the one rule) for an alias of ``Person``."""
    return ClauseAdapter(inspect(alias).selectable).traverse(people_visible_to(user))


def _live(alias, user: User) -> ColumnElement[bool]:
    """Not archived and visible to ``user`` (``archived_at IS NULL`` as the partial indexes say it)."""
    return and_(alias.archived_at.is_(None), _visible(alias, user))


def _filled(column) -> ColumnElement[bool]:
    return and_(column.is_not(None), column != "")


def _same(reason: str, a, b) -> ColumnElement[bool]:
    """Whether people ``a`` and ``b`` share ``reason``'s key (a blank key is never shared). False,
    never NULL, when either is NULL, so that ``NOT`` of it is true."""
    key_a, key_b = getattr(a, KEYS[reason]), getattr(b, KEYS[reason])
    return and_(_filled(key_a), key_b.is_not(None), key_a == key_b)


def _dismissed(a_id, b_id) -> ColumnElement[bool]:
    return (select(DuplicateDismissal.id).where(DuplicateDismissal.first_person_id == a_id,
                                                DuplicateDismissal.second_person_id == b_id).exists())


def _held_twice(reason: str, user: User) -> Select:
    """The values of ``reason``'s key that more than one live person ``user`` may see holds."""
    column = getattr(Person, KEYS[reason])
    return (select(column).where(Person.archived_at.is_(None), people_visible_to(user), _filled(column))
            .group_by(column).having(func.count() > 1))


def _strong(user: User):
    """Every pair sharing a phone or an email, with its reasons, score and whether it was
    dismissed (a subquery: ``a_id < b_id``)."""
    a, b = aliased(Person), aliased(Person)
    found = union(*(
        select(a.id.label("a_id"), b.id.label("b_id")).where(
            getattr(a, KEYS[reason]).in_(_held_twice(reason, user)),
            getattr(b, KEYS[reason]) == getattr(a, KEYS[reason]), a.id < b.id, _live(a, user), _live(b, user))
        for reason in ("phone", "email"))).subquery()
    pa, pb = aliased(Person), aliased(Person)
    flags = {reason: case((_same(reason, pa, pb), 1), else_=0) for reason in WEIGHTS}
    return (select(found.c.a_id, found.c.b_id, *(flag.label(reason) for reason, flag in flags.items()),
                   sum(flag * WEIGHTS[reason] for reason, flag in flags.items()).label("score"),
                   _dismissed(found.c.a_id, found.c.b_id).label("dismissed"))
            .join(pa, pa.id == found.c.a_id).join(pb, pb.id == found.c.b_id)).subquery()


def _name_only(user: User) -> Select:
    """Pairs sharing a name but neither a phone nor an email, not dismissed, in id order."""
    a, b = aliased(Person), aliased(Person)
    return (select(a.id.label("a_id"), b.id.label("b_id"), literal(0).label("phone"), literal(0).label("email"),
                   literal(1).label("name"), literal(WEIGHTS["name"]).label("score"))
            .where(_filled(a.name_key), b.name_key == a.name_key, a.id < b.id, _live(a, user), _live(b, user),
                   not_(_same("phone", a, b)), not_(_same("email", a, b)), ~_dismissed(a.id, b.id))
            .order_by(a.id, b.id))


def _strong_rows(user: User) -> list:
    """Every strong pair (dismissed ones flagged), best first: few enough to hold (shared phones
    are households), and the count and the page both need them."""
    strong = _strong(user)
    return db.session.execute(select(strong).order_by(strong.c.score.desc(), strong.c.a_id, strong.c.b_id)).all()


def _name_counts(user: User) -> tuple[int, int]:
    """How many pairs share a name (the sum of n(n-1)/2 over each name held by n people, from
    an index-only ``GROUP BY``), and how many dismissed pairs share a name but neither a phone
    nor an email: one query."""
    groups = (select(func.count().label("n")).where(Person.archived_at.is_(None), people_visible_to(user),
                                                    _filled(Person.name_key))
              .group_by(Person.name_key).having(func.count() > 1)).subquery()
    a, b = aliased(Person), aliased(Person)
    # Each dismissal looks its two people up by id (an EXISTS per dismissal): a join would let
    # the planner walk every shared name instead, the dismissals table having no statistics.
    dismissed = (select(func.count()).select_from(DuplicateDismissal).where(
        select(a.id).where(a.id == DuplicateDismissal.first_person_id, b.id == DuplicateDismissal.second_person_id,
                           _live(a, user), _live(b, user), _same("name", a, b),
                           not_(_same("phone", a, b)), not_(_same("email", a, b))).exists()))
    row = db.session.execute(select(
        select(func.coalesce(func.sum(groups.c.n * (groups.c.n - 1) // 2), 0)).scalar_subquery().label("pairs"),
        dismissed.scalar_subquery().label("dismissed"))).one()
    return int(row.pairs), int(row.dismissed)


def _name_only_total(user: User, strong_rows: list) -> int:
    """Name pairs, less those already strong (dismissed or not), less dismissed name-only ones."""
    pairs, dismissed = _name_counts(user)
    return pairs - sum(1 for r in strong_rows if r.name) - dismissed


def count_duplicate_pairs(user: User) -> int:
    """How many pairs of likely duplicates ``user`` may see: two queries, no name pair listed."""
    strong_rows = _strong_rows(user)
    return sum(1 for r in strong_rows if not r.dismissed) + _name_only_total(user, strong_rows)


def people_in_duplicate_pairs(user: User) -> Select:
    """The ids of people in a likely duplicate pair ``user`` may see, for the people list filter."""
    strong = _strong(user)
    kept = select(strong.c.a_id, strong.c.b_id).where(strong.c.dismissed == False)  # noqa: E712 - SQL
    names = _name_only(user).order_by(None).subquery()
    pairs = union_all(kept, select(names.c.a_id, names.c.b_id)).subquery()
    return select(pairs.c.a_id).union(select(pairs.c.b_id))


def duplicate_pairs(user: User, page: int = 1, per_page: int = 50) -> tuple[list[DuplicatePair], int]:
    """One page of likely duplicate pairs, best first, and how many there are: four queries
    whatever the page (the strong pairs, the name counts, the page's name pairs, the people)."""
    every_strong = _strong_rows(user)
    strong = [r for r in every_strong if not r.dismissed]
    total = len(strong) + _name_only_total(user, every_strong)
    offset = (max(page, 1) - 1) * per_page
    rows = strong[offset:offset + per_page]
    names_page = _name_only(user).limit(per_page - len(rows)).offset(max(0, offset - len(strong)))
    rows += db.session.execute(names_page).all()
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
