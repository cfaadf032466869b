"""Rules for member institutions."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from flask import g, has_app_context
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import NotFound

from organizer.audit.services import record, record_changes, snapshot
from organizer.auth.models import User
from organizer.extensions import db
from organizer.forms import PlainChoices
from organizer.institutions.models import Institution, Membership, MembershipRole
from organizer.people.models import Person
from organizer.people.services import people_visible_to


class InstitutionError(ValueError):
    """An institution change that breaks a rule (duplicate name)."""


def active_institutions() -> list[Institution]:
    return list(
        db.session.scalars(select(Institution).where(Institution.archived_at.is_(None)).order_by(Institution.name))
    )


class Choice(NamedTuple):
    """An (id, name) pair: a WTForms choice, and ``.id``/``.name`` for list filters."""

    id: int
    name: str


def institution_choices(blank: str | None = None) -> list[Choice]:
    """(id, name) of the active institutions by name, for pickers and filters: two columns, not
    whole rows (also ``.id`` and ``.name``), read in one fetch (row by row, the result's steps
    cost more than SQLite), as ``PlainChoices`` (ids and names: the picker need not check
    them). Cached on ``g``: a page asks once. With ``blank``, a picker's empty first choice
    ``("", blank)`` comes before them (a new list: the cached one is left as it is)."""
    if has_app_context() and "institution_choices" in g:
        choices = g.institution_choices
    else:
        choices = PlainChoices([Choice(*row) for row in db.session.execute(_choices_statement()).all()])
        if has_app_context():
            g.institution_choices = choices
    return choices if blank is None else PlainChoices([("", blank), *choices])


@cache
def _choices_statement() -> Select[tuple[int, str]]:
    """Built once per process, of the table's columns: a plain rows statement, which runs without
    the ORM's steps (hundreds of rows on the person page)."""
    table = Institution.__table__.c
    return select(table.id, table.name).where(table.archived_at.is_(None)).order_by(table.name)


def get_institution(institution_id: int) -> Institution:
    """:raise NotFound: when there is no such institution."""
    institution = db.session.get(Institution, institution_id, options=[joinedload(Institution.neighborhood)])
    if institution is None:
        raise NotFound()
    return institution


def institutions_with_counts(user: User) -> list[tuple[Institution, int, int]]:
    """Every institution with how many of the user's visible people belong, and its core team size.

    One query, whatever the number of institutions.
    """
    visible = (
        select(Membership.institution_id, Membership.role)
        .join(Person, Person.id == Membership.person_id)
        .where(people_visible_to(user), Person.archived_at.is_(None))
        .subquery()
    )
    people = func.count(visible.c.institution_id)
    core = func.count(visible.c.institution_id).filter(visible.c.role == MembershipRole.CORE_TEAM)
    rows = db.session.execute(
        select(Institution, people, core)
        .outerjoin(visible, visible.c.institution_id == Institution.id)
        .options(joinedload(Institution.neighborhood))
        .where(Institution.archived_at.is_(None))
        .group_by(Institution.id)
        .order_by(Institution.name)
    ).unique()
    return [(i, n, c) for i, n, c in rows]


def institution_people(user: User, institution: Institution) -> list[Membership]:
    """The institution's memberships of people the user may see, core team and clergy first."""
    order = {MembershipRole.CLERGY: 0, MembershipRole.CORE_TEAM: 1, MembershipRole.STAFF: 2, MembershipRole.MEMBER: 3}
    memberships = db.session.scalars(
        select(Membership)
        .join(Person, Person.id == Membership.person_id)
        .options(joinedload(Membership.person))
        .where(Membership.institution_id == institution.id, people_visible_to(user), Person.archived_at.is_(None))
        .order_by(Person.last_name, Person.first_name)
    ).all()
    return sorted(memberships, key=lambda m: order[m.role])


def save_institution(institution: Institution | None, values: dict, actor: User) -> Institution:
    """Create or change an institution (the caller commits).

    :raise InstitutionError: when another institution has the same name.
    """
    name = " ".join(values["name"].split())
    clash = select(Institution.id).where(func.lower(Institution.name) == name.lower())
    if institution is not None:
        clash = clash.where(Institution.id != institution.id)
    if db.session.scalar(clash):
        raise InstitutionError(name)
    creating = institution is None
    institution = institution or Institution()
    fields = [*values, "name"]
    before = snapshot(institution, fields)
    for key, value in values.items():
        setattr(institution, key, value)
    institution.name = name
    db.session.add(institution)
    db.session.flush()
    if creating:
        record(actor, "create", institution)
    else:
        record_changes(actor, institution, before, snapshot(institution, fields))
    return institution
