"""Rules for people: who may see whom, search, create, edit, archive, assign.

``people_visible_to`` is the one place that says which people a user may see. Every
list, detail and join that returns people (in this area and in others) goes through
it: organizers and admins see the whole federation, a leader only the people they own.
"""

from __future__ import annotations

import csv
import io
import itertools
from contextlib import contextmanager
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

import phonenumbers
from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import (ColumnElement, Engine, Integer, Result, Row, Select, bindparam, exists, false, func, inspect,
                        or_, select, true)
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.exceptions import NotFound

from organizer.audit.services import column_names, record, record_changes, snapshot
from organizer.auth.models import User
from organizer.db import insert_rows, joined_strings, paged, utcnow
from organizer.extensions import db
from organizer.institutions.models import Institution, Membership, MembershipRole
from organizer.people import search_index
from organizer.people.search_index import IndexedCount
from organizer.people.models import (
    ConsentChange,
    ConsentMethod,
    DuplicateConflict,
    Person,
    PersonRaceEthnicity,
    PhoneConflict,
    PhoneConflictStatus,
    RaceEthnicity,
    SmsConsent,
    display_name,
    fold,
    name_words,
    person_tags,
)
from organizer.people.phones import PhoneReading, interpret_phone
from organizer.settings.models import Tag
from organizer.settings.services import get_organization


class PhoneError(ValueError):
    """A phone number that cannot be read as a valid number; ``str()`` says what to add or fix."""


class AmbiguousPhone(PhoneError):
    """A number typed without a country code that could be meant in more than one of the
    organization's countries (or only in one that is not home): the person typing chooses.
    ``reading.candidates`` are the readings to offer."""

    def __init__(self, reading: PhoneReading) -> None:
        super().__init__(_("This number is valid in more than one country. Which one is it? %(readings)s. Choose "
                           "one, or type the number with its country code.",
                           readings="; ".join(c.label() for c in reading.candidates)))
        self.reading = reading


class OtherPhoneError(PhoneError):
    """One of a person's other phones cannot be read as a valid number."""


class PersonError(ValueError):
    """A change to a person that breaks a rule."""


# --- who may see whom -------------------------------------------------------------------


def people_visible_to(user: User) -> ColumnElement[bool]:
    """The condition on ``Person`` rows that ``user`` may see."""
    return _visible_condition(viewer_scope(user), user.id)


#: The viewer's id in statements built once for every viewer of a kind (``people_visible_to_viewer``).
VIEWER_ID = bindparam("viewer_id", type_=Integer)


def viewer_scope(user: User) -> str:
    """Which rule of ``people_visible_to`` applies to ``user``: "staff", "leader" or "none"."""
    return "staff" if user.is_staff else "leader" if user.is_leader else "none"


def people_visible_to_viewer(scope: str) -> ColumnElement[bool]:
    """``people_visible_to`` for a statement built once and run for many users of one
    ``viewer_scope``: the leader's id is the bound parameter ``viewer_id`` (pass
    ``viewer_params(user)``). Building a statement costs more than running it (some 300 µs of
    Python each), so the person page's statements are built once per process."""
    return _visible_condition(scope, VIEWER_ID)


def viewer_params(user: User) -> dict[str, int]:
    """The parameters of a statement built with ``people_visible_to_viewer``."""
    return {"viewer_id": user.id}


def _visible_condition(scope: str, viewer_id: object) -> ColumnElement[bool]:
    if scope == "staff":
        return true()
    if scope == "leader":
        return Person.owner_id == viewer_id
    return false()


def visible_people(user: User, *, include_archived: bool = False) -> Select[tuple[Person]]:
    """A query of the people ``user`` may see (archived ones left out unless asked)."""
    stmt = select(Person).where(people_visible_to(user))
    if not include_archived:
        stmt = stmt.where(Person.archived_at.is_(None))
    return stmt


def unarchived_people_count() -> int:
    """How many people are not archived (everyone's), in two index-only counts: all the rows
    (SQLite counts a table's b-tree pages without reading its rows) less the archived ones (by
    ``ix_people_archived_at``). ``count(*) WHERE archived_at IS NULL`` reads every row: at
    100,000 people the difference is most of a staff member's people list and board."""
    everyone = db.session.scalar(select(func.count()).select_from(Person)) or 0
    archived = db.session.scalar(select(func.count()).where(Person.archived_at.is_not(None))) or 0
    return everyone - archived


def get_visible_person(user: User, person_id: int, *, for_page: bool = False) -> Person:
    """The person with ``person_id`` if ``user`` may see them; with what their page shows
    loaded too when ``for_page`` (most callers only need the check and the row).

    :raise NotFound: when there is no such person or ``user`` may not see them; the two
        cases look the same, so ids of other leaders' people reveal nothing.
    """
    params = {**viewer_params(user), "person_id": person_id}
    person = db.session.scalar(_visible_person_statement(viewer_scope(user), for_page), params)
    if person is None:
        raise NotFound()
    if for_page:
        _load_page_collections(person)
    return person


@cache
def _visible_person_statement(scope: str, for_page: bool) -> Select[tuple[Person]]:
    """The statement of ``get_visible_person``, built once per kind of viewer."""
    stmt = select(Person).where(people_visible_to_viewer(scope), Person.id == bindparam("person_id"))
    return stmt.options(joinedload(Person.neighborhood), joinedload(Person.owner)) if for_page else stmt


@cache
def _page_collection_statements() -> dict[str, Select[Any]]:
    """A person's tags, race/ethnicity values and memberships (with their institution), each
    in the relationship's order (memberships in the order they were added)."""
    person_id = bindparam("person_id", type_=Integer)
    return {
        "tags": select(Tag).join(person_tags, person_tags.c.tag_id == Tag.id)
        .where(person_tags.c.person_id == person_id).order_by(Tag.name),
        "race_ethnicities": select(PersonRaceEthnicity).where(PersonRaceEthnicity.person_id == person_id)
        .order_by(PersonRaceEthnicity.value),
        "memberships": select(Membership).join(Membership.institution)
        .options(contains_eager(Membership.institution))
        .where(Membership.person_id == person_id).order_by(Membership.id),
    }


def _load_page_collections(person: Person) -> None:
    """What the person's page and form show besides the row, in three statements built once:
    ``selectinload`` (which this replaces) built its statement again on each page, some 0.7 ms
    each. Like it, a collection already loaded in the session is left as it is."""
    unloaded = inspect(person).unloaded
    for name, stmt in _page_collection_statements().items():
        if name in unloaded:
            set_committed_value(person, name, list(db.session.scalars(stmt, {"person_id": person.id})))


def can_see_person(user: User, person_id: int) -> bool:
    return bool(db.session.scalar(select(Person.id).where(Person.id == person_id, people_visible_to(user))))


# --- phones -----------------------------------------------------------------------------


def normalize_phone(raw: str | None, region: str, member_regions: Sequence[str] | None = None) -> str | None:
    """``raw`` as E.164 (``+13125550100``), or ``None`` when blank, read by ``interpret_phone``
    in ``region`` and the organization's member countries (``None``: from the settings).

    :raise AmbiguousPhone: when it is valid in more than one of those countries, or only in one
        that is not ``region``: the caller asks which.
    :raise PhoneError: when it is valid in none; the message says what to add.
    """
    if member_regions is None:
        member_regions = get_organization().member_regions
    reading = interpret_phone(raw, region, member_regions)
    if reading.needs_choice:
        raise AmbiguousPhone(reading)
    if not reading.ok:
        raise PhoneError(reading.hint)
    return reading.e164


def chosen_phone(raw: str | None, choice: str | None, region: str) -> str | None:
    """The number to save for what was typed, given the reading the user picked when they were
    asked (``choice``, in E.164; ignored unless it is one of the typed number's readings, so a
    number typed again is asked about again).

    :raise AmbiguousPhone: when the typed number still needs a choice.
    :raise PhoneError: when it is valid in none of the organization's countries.
    """
    try:
        return normalize_phone(raw, region)
    except AmbiguousPhone as ambiguous:
        if choice and choice in {c.e164 for c in ambiguous.reading.candidates}:
            return choice
        raise


def normalize_other_phones(raw: str | None, region: str, *, texting: str | None = None) -> str | None:
    """Other phones typed or imported as one text ("773 555 0101; +52 55 1234 5678", commas
    too) as E.164 separated by ";", without repeats nor the texting number; ``None`` when blank.

    :raise OtherPhoneError: when one of them is not a valid number.
    """
    numbers: list[str] = []
    for part in (raw or "").replace(",", ";").split(";"):
        try:
            number = normalize_phone(part, region)
        except PhoneError:
            raise OtherPhoneError(part.strip()) from None
        if number and number != texting and number not in numbers:
            numbers.append(number)
    return ";".join(numbers) or None


def format_phone(e164: str | None, region: str = "US") -> str:
    """A number as people write it: national form at home, international otherwise."""
    if not e164:
        return ""
    if len(e164) == 12 and e164.startswith("+1") and e164[2:].isascii() and e164[2:].isdigit():
        template = _nanp_template(e164, region)
        if template is not None:
            return template % tuple(e164[-_NANP_LINE_DIGITS:])
    return _formatted_phone(e164, region)


# An export formats every number once: 100,000 distinct numbers cost 10 s in phonenumbers.
# For a North American number (+1 and ten digits) what phonenumbers decides depends on its first
# six digits only, the area code and exchange: its region is the first of the plan's regions
# claiming it, the Caribbean ones by area code, the US and Canada by patterns that all end in
# "\d{4}", and its pattern comes from the plan's first digit. So numbers of one exchange share a
# layout: the first is formatted by phonenumbers, the others take its layout with their own
# digits. ``tests/people/test_phone_format.py`` checks those premises on the installed metadata
# and compares the layouts with phonenumbers itself across every area code.
_NANP_LINE_DIGITS = 10  # the digits after "+1" that a layout puts in place
_NANP_TEMPLATES: dict[tuple[str, str], str | None] = {}


def _nanp_template(e164: str, region: str) -> str | None:
    """The layout of ``e164``'s exchange for ``region`` ("(%s%s%s) %s%s%s-%s%s%s%s"), or None
    when phonenumbers' answer is not the number's digits laid out (formatted one by one then)."""
    key = (e164[:8], region)
    try:
        return _NANP_TEMPLATES[key]
    except KeyError:
        pass
    formatted = _formatted_phone(e164, region)
    digits = [i for i, char in enumerate(formatted) if char.isdigit()]
    template = None
    shown = "".join(formatted[i] for i in digits)
    if shown in (e164[2:], e164[1:]):  # national, or international with its "1" kept as written
        placed = set(digits[-_NANP_LINE_DIGITS:])
        template = "".join("%s" if i in placed else char.replace("%", "%%") for i, char in enumerate(formatted))
    if len(_NANP_TEMPLATES) >= 100_000:  # bounded: every exchange of a continent is ~800,000
        _NANP_TEMPLATES.clear()
    _NANP_TEMPLATES[key] = template
    return template


# Parsing with phonenumbers costs ~0.1 ms a number, and list pages show the same numbers view
# after view: formatting depends on nothing else, so a process keeps the last few thousand.
@lru_cache(maxsize=8192)
def _formatted_phone(e164: str, region: str) -> str:
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(parsed) == region:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# --- search -----------------------------------------------------------------------------

SORTS = {
    "name": (Person.last_name, Person.first_name, Person.id),
    "-name": (Person.last_name.desc(), Person.first_name.desc(), Person.id.desc()),
    "newest": (Person.created_at.desc(), Person.id.desc()),
    "-oldest": (Person.created_at.desc(), Person.id.desc()),  # the "Added" column's sort link, reversed
    "oldest": (Person.created_at, Person.id),
    "updated": (Person.updated_at.desc(), Person.id.desc()),
}


@dataclass
class PersonFilters:
    """What the people list is asked for; every field optional."""

    q: str = ""
    neighborhood_id: int | None = None
    institution_id: int | None = None
    tag_id: int | None = None
    owner_id: int | None = None
    language: str | None = None
    stage_id: int | None = None  # pipeline stage (organizer.relational)
    quality: str | None = None  # a data-quality check (organizer.people.quality.CHECKS)
    archived: bool = False
    sort: str = "name"


#: A search finding more people than this, listed by name, is read in name order (SQLite).
MANY_MATCHES = 500

#: The people list counts a search's matches up to this many, and says "1,000+" beyond: the
#: whole count of a common name (9,000 "maria" among 100,000 people) cost more than its page.
MATCHES_COUNTED = 1000

#: A page of a search with more matches than are counted, listed by name, is found by reading
#: people in name order and comparing each one's ``search_key`` when that reads fewer rows than
#: this (as ``IndexedCount.stride`` estimates): no index lookup of every match at all.
WALK_ROWS = 5000


def search_people(user: User, filters: PersonFilters, *, matches: IndexedCount | None = None,
                  first_rows: int | None = None) -> Select[tuple[Person]]:
    """The people ``user`` may see that match ``filters``, sorted; no paging, no eager loads.

    ``matches``: how many that is, when the caller knows already (``everyone_total``), and
    ``first_rows``: how many of them the caller reads (the end of its page). A search listed by
    name with many matches is read along the name index (``search_index.match_condition``);
    with more matches than were counted, and a page near the start, each person met along the
    name index is compared with the search directly (``search_index.like_condition``)."""
    stmt = visible_people(user, include_archived=filters.archived)
    if filters.archived:
        stmt = stmt.where(Person.archived_at.is_not(None))
    q = filters.q.strip()
    if q:
        by_name = filters.sort in ("name", "-name") or filters.sort not in SORTS
        walk = (by_name and matches is not None and matches.more and first_rows is not None
                and first_rows * matches.stride <= WALK_ROWS)
        probe = by_name and matches is not None and matches.count > MANY_MATCHES
        stmt = stmt.where(_matches(q, probe=probe, walk=walk))
    if filters.language:
        stmt = stmt.where(Person.preferred_language == filters.language)
    if filters.quality:
        from organizer.people.quality import quality_condition

        stmt = stmt.where(quality_condition(filters.quality, user))
    stmt = stmt.where(*filter_conditions(
        neighborhood_id=filters.neighborhood_id, institution_id=filters.institution_id, tag_id=filters.tag_id,
        owner_id=filters.owner_id, stage_id=filters.stage_id,
    ))
    return stmt.order_by(*SORTS.get(filters.sort, SORTS["name"]))


def filter_conditions(*, neighborhood_id: int | None = None, institution_id: int | None = None,
                      tag_id: int | None = None, owner_id: int | None = None,
                      stage_id: int | None = None) -> list[ColumnElement[bool]]:
    """Conditions on ``Person`` for the filters people lists and text audiences share (each
    optional): who may see them is the caller's business (``people_visible_to``)."""
    from organizer.people.models import person_tags

    conditions: list[ColumnElement[bool]] = []
    if neighborhood_id:
        conditions.append(Person.neighborhood_id == neighborhood_id)
    if institution_id:
        conditions.append(Person.id.in_(
            select(Membership.person_id).where(Membership.institution_id == institution_id)))
    if tag_id:
        conditions.append(Person.id.in_(select(person_tags.c.person_id).where(person_tags.c.tag_id == tag_id)))
    if owner_id:
        conditions.append(Person.owner_id == owner_id)
    if stage_id:
        conditions.append(current_app.extensions["person_stage_condition"](stage_id))
    return conditions


def register_pipeline(app: Flask, *, condition: Callable[[int], ColumnElement[bool]],
                      stages: Callable[[], list[Any]]) -> None:
    """Let the relational area say what "in pipeline stage ``stage_id``" means for the filters
    of :func:`filter_conditions`, and which stages the people list offers to filter by
    (``stages()``: objects with ``id`` and ``name``, in order). Relational builds on people, so
    people asks through this hook rather than importing relational back (an import circle).
    Raises nothing."""
    app.extensions["person_stage_condition"] = condition
    app.extensions["person_stages"] = stages


def pipeline_stages() -> list[Any]:
    """The stages the people list filters by (none when no area registered a pipeline)."""
    stages = current_app.extensions.get("person_stages")
    return stages() if stages is not None else []


def _matches(q: str, *, probe: bool = False, walk: bool = False) -> ColumnElement[bool]:
    """Every word of ``q`` is in the name or email, accents and case aside, in any order ("garcia
    maria" finds María García); or the digits of ``q`` are in the phone, however it was typed.
    Found through the trigram index of ``search_index`` on either database (``probe``: see
    ``search_index.match_condition``; PostgreSQL's planner chooses by itself), or, ``walk``,
    compared on each row the query reads anyway (``search_index.like_condition``)."""
    words, digits = _search_terms(q)
    if _on_sqlite() and not walk:
        return search_index.match_condition(words, digits, probe=probe)
    return search_index.like_condition(words, digits)


def _search_terms(q: str) -> tuple[list[str], str]:
    """The folded words of ``q`` and its digits, as every search compares them."""
    return fold(q).split(), "".join(ch for ch in q if ch.isdigit())


def _on_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def everyone_total(user: User, filters: PersonFilters) -> IndexedCount | None:
    """The total of ``search_people(user, filters)`` when it can be counted from indexes alone,
    ``None`` otherwise (the caller counts the query): for staff with nothing filtered, everybody
    not archived (``unarchived_people_count``); on SQLite, for staff searching with nothing else
    filtered, the matches in the search index up to ``MATCHES_COUNTED`` (``more`` beyond:
    ``search_index.indexed_count``)."""
    if not user.is_staff:
        return None
    if filters == PersonFilters(sort=filters.sort):
        return IndexedCount(unarchived_people_count())
    if filters == PersonFilters(q=filters.q, sort=filters.sort) and filters.q.strip() and _on_sqlite():
        ids = search_index.indexed_ids(*_search_terms(filters.q.strip()))
        if ids is not None:
            return search_index.indexed_count(ids, cap=MATCHES_COUNTED)
    return None


def page_of_people(stmt: Select[tuple[Person]], page: int, per_page: int,
                   total: int | None = None) -> tuple[list[Person], int]:
    """One page of ``stmt`` with what the list shows loaded, and the total (counted, unless the
    caller knows it already): a fixed number of queries."""
    one_page, total = paged(stmt, page, per_page, total)
    people = db.session.scalars(
        one_page.options(
            joinedload(Person.neighborhood),
            joinedload(Person.owner),
            selectinload(Person.tags),
            selectinload(Person.memberships).joinedload(Membership.institution),
        )
    )
    return list(people), total


@dataclass
class PersonLine:
    """One line of the people list: what it shows of a person, nothing more."""

    id: int
    display_name: str
    phone: str | None
    is_archived: bool
    created_at: datetime
    neighborhood: str | None
    owner: str | None  # the name of who holds the relationship
    institutions: list[str] = field(default_factory=list)  # in the order they joined
    tags: list[str] = field(default_factory=list)  # by name


@dataclass
class PeoplePage:
    """One page of the people list: its lines, how many people it lists in all (``total``;
    more than that when ``more``, the count having stopped there) and whether a page follows."""

    lines: list[PersonLine]
    total: int
    more: bool
    has_next: bool


def page_of_person_lines(stmt: Select[tuple[Person]], page: int, per_page: int,
                         total: IndexedCount | None = None) -> PeoplePage:
    """One page of ``stmt`` as the people list shows it, and the total (counted, unless the
    caller knows it already): three queries whatever the page holds (two when it is empty).
    When the total is only known to be more than a count, one row past the page is read to
    tell whether another page follows.

    Rows of names rather than people with their relations as objects: building fifty people,
    their owners, memberships, institutions and tags as objects cost the list about a quarter
    of its CPU time (100,000 people), for a handful of strings a line."""
    from organizer.settings.models import Neighborhood

    more = total is not None and total.more
    one_page, count = paged(stmt, page, per_page, None if total is None else total.count)
    if more:
        one_page = one_page.limit(per_page + 1)
    rows = db.session.execute(
        one_page.with_only_columns(
            Person.id, Person.first_name, Person.preferred_name, Person.last_name, Person.phone,
            Person.archived_at, Person.created_at, Neighborhood.name, User.name,
        )
        .outerjoin(Neighborhood, Neighborhood.id == Person.neighborhood_id)
        .outerjoin(User, User.id == Person.owner_id)
    ).all()
    has_next = len(rows) > per_page if more else page * per_page < count
    rows = rows[:per_page]
    lines = [
        PersonLine(id=pid, display_name=display_name(first, preferred, last), phone=phone,
                   is_archived=archived_at is not None, created_at=created_at, neighborhood=neighborhood,
                   owner=owner)
        for pid, first, preferred, last, phone, archived_at, created_at, neighborhood, owner in rows
    ]
    by_id = {line.id: line for line in lines}
    if by_id:
        from organizer.people.models import person_tags

        for pid, name in db.session.execute(
            select(Membership.person_id, Institution.name).join(Institution, Institution.id == Membership.institution_id)
            .where(Membership.person_id.in_(by_id)).order_by(Membership.id)
        ):
            by_id[pid].institutions.append(name)
        for pid, name in db.session.execute(
            select(person_tags.c.person_id, Tag.name).join(Tag, Tag.id == person_tags.c.tag_id)
            .where(person_tags.c.person_id.in_(by_id)).order_by(Tag.name)
        ):
            by_id[pid].tags.append(name)
    return PeoplePage(lines, count, more, has_next)


# --- changes ----------------------------------------------------------------------------


@dataclass
class PersonData:
    """The editable fields of a person, as a form or an import hands them over."""

    first_name: str
    last_name: str = ""
    preferred_name: str | None = None
    phone: str | None = None  # as typed; normalized by the service
    email: str | None = None
    address: str | None = None
    # None leaves what is stored (a caller that does not ask for them, like a quick add).
    city: str | None = None
    postal_code: str | None = None
    other_phones: str | None = None  # as typed, several separated by ";" or ","
    neighborhood_id: int | None = None
    preferred_language: str | None = None
    timezone: str | None = None  # IANA name; None: guessed from the phone for texts
    tag_ids: Sequence[int] = field(default_factory=list)
    owner_id: int | None = None
    # Sensitive: applied only when the actor may see them; None leaves what is stored (a form
    # that does not show them must not clear what the person told us).
    race_ethnicities: Sequence[RaceEthnicity] | None = None
    notes: str | None = None
    sms_consent: SmsConsent | None = None


def find_duplicates(phone: str | None, email: str | None, exclude_id: int | None = None) -> list[Person]:
    """People (anyone's, archived included, those not archived first) who already have this
    phone or email."""
    clauses = []
    if phone:
        clauses.append(Person.phone == phone)
    if email:
        clauses.append(Person.email == email.strip().lower())
    if not clauses:
        return []
    stmt = select(Person).where(or_(*clauses))
    if exclude_id is not None:
        stmt = stmt.where(Person.id != exclude_id)
    return list(db.session.scalars(stmt.order_by(Person.archived_at.is_not(None), Person.id).limit(5)))


def find_same_person(first_name: str, last_name: str | None, phone: str | None, email: str | None) -> Person | None:
    """The person somebody describing themselves (a sign-up, a walk-in) already is: the one with
    this email, else one with this phone (E.164) and the same name. A phone alone is not enough,
    since a household shares one: María signing up on the phone José gave us is María.

    Names compare with accents, case, punctuation and nicknames aside; a last name left out
    matches any, "García" matches "García López" (one of two surnames) and "R." matches "Reyes".
    """
    if email:
        found = find_duplicates(None, email)
        if found:
            return found[0]
    if not phone:
        return None
    given = _name_words(first_name, nicknames=True)
    surnames = _name_words(last_name)
    for person in find_duplicates(phone, None):
        if _name_words(person.first_name, nicknames=True) == given and _surnames_agree(
                surnames, _name_words(person.last_name)):
            return person
    return None


def _name_words(name: str | None, *, nicknames: bool = False) -> list[str]:
    from organizer.people.nicknames import canonical_given_name

    words = name_words(name)
    return [canonical_given_name(word) for word in words] if nicknames else words


def _surnames_agree(ours: list[str], theirs: list[str]) -> bool:
    """Every surname of the shorter list is in the other, an initial standing for any word it begins."""
    shorter, longer = sorted((ours, theirs), key=len)
    return all(any(word == other or (len(word) == 1 and other.startswith(word)) for other in longer)
               for word in shorter)


def create_person(data: PersonData, actor: User, *, region: str) -> Person:
    """Add a person (the caller commits). A leader's new person is always their own.

    :raise PhoneError: when the phone is not a valid number.
    """
    person = Person(first_name="", created_by_id=actor.id)
    _apply(person, data, actor, region=region)
    if actor.is_leader:
        person.owner_id = actor.id
    db.session.add(person)
    db.session.flush()
    record(actor, "create", person)
    note_phone_conflict(person, actor)
    note_hidden_duplicates(person, actor)
    return person


def visible_duplicates(user: User, phone: str | None, email: str | None,
                       exclude_id: int | None = None) -> list[Person]:
    """The people with this phone or email that ``user`` may see: all that the duplicate
    warning may name. Somebody outside a leader's list is not hinted at in any way (their
    record goes to staff as a :class:`DuplicateConflict` once the leader saves)."""
    return [p for p in find_duplicates(phone, email, exclude_id) if can_see_person(user, p.id)]


@dataclass
class PhoneSharers:
    """Who else has a person's phone: those the user may see (to name), and how many others."""

    visible: list[Person] = field(default_factory=list)
    hidden: int = 0

    def __bool__(self) -> bool:
        return bool(self.visible or self.hidden)


def phone_sharers(user: User, person: Person) -> PhoneSharers:
    """The other people (archived left out) with ``person``'s phone: a household may share
    one, so this is a warning to show, never a refusal. Two queries. Raises nothing."""
    if not person.phone:
        return PhoneSharers()
    others = list(db.session.scalars(
        select(Person).where(Person.phone == person.phone, Person.id != person.id, Person.archived_at.is_(None))
        .order_by(Person.id).limit(20)))
    if not others:
        return PhoneSharers()
    seen = set(db.session.scalars(select(Person.id).where(Person.id.in_([o.id for o in others]),
                                                          people_visible_to(user))))
    return PhoneSharers(visible=[o for o in others if o.id in seen],
                        hidden=sum(1 for o in others if o.id not in seen))


def note_hidden_duplicates(person: Person, actor: User) -> list[DuplicateConflict]:
    """Open a conflict for staff for each person ``actor`` cannot see who has ``person``'s
    phone or email (one open conflict per pair). Staff see everyone, so theirs open none.
    The caller commits. Raises nothing."""
    if actor.is_staff or not (person.phone or person.email):
        return []
    hidden = [p for p in find_duplicates(person.phone, person.email, person.id) if not can_see_person(actor, p.id)]
    already = set(db.session.scalars(
        select(DuplicateConflict.other_person_id)
        .where(DuplicateConflict.person_id == person.id, DuplicateConflict.resolved_at.is_(None))
    )) if hidden else set()
    conflicts = []
    for other in hidden:
        if other.id in already:
            continue
        matched = [name for name, mine, theirs in (("phone", person.phone, other.phone),
                                                   ("email", person.email, other.email)) if mine and mine == theirs]
        conflict = DuplicateConflict(person_id=person.id, other_person_id=other.id, matched_on=",".join(matched),
                                     created_by_id=actor.id)
        db.session.add(conflict)
        conflicts.append(conflict)
    if conflicts:
        db.session.flush()
        record(actor, "duplicate_conflict", person, {"other_person_ids": [c.other_person_id for c in conflicts]},
               summary=f"{person.display_name}: same phone or email as someone outside the list"[:255])
    return conflicts


def open_conflicts(page: int = 1, per_page: int = 50) -> tuple[list[DuplicateConflict], int]:
    """Duplicate conflicts waiting for staff, oldest first, with both people and their holders
    (a fixed number of queries). Staff only: the view guards it."""
    stmt = (select(DuplicateConflict).where(DuplicateConflict.resolved_at.is_(None))
            .order_by(DuplicateConflict.created_at, DuplicateConflict.id))
    one_page, total = paged(stmt, page, per_page)
    return list(db.session.scalars(one_page.options(
        joinedload(DuplicateConflict.person).joinedload(Person.owner),
        joinedload(DuplicateConflict.other_person).joinedload(Person.owner),
        joinedload(DuplicateConflict.created_by),
    ))), total


def resolve_conflict(conflict_id: int, actor: User) -> bool:
    """Staff mark a conflict handled (they merged, archived or left both records); returns
    whether it was open. The caller commits."""
    conflict = db.session.get(DuplicateConflict, conflict_id)
    if conflict is None or conflict.resolved_at is not None:
        return False
    conflict.resolved_at = utcnow()
    conflict.resolved_by_id = actor.id
    record(actor, "resolve", conflict, {"person_id": conflict.person_id, "other_person_id": conflict.other_person_id},
           summary=f"duplicate conflict {conflict.id}")
    return True


def update_person(person: Person, data: PersonData, actor: User, *, region: str) -> Person:
    """Change a person the actor may see (the caller commits). Leaders cannot hand people away.
    Saved unchanged, nothing is written: no audit event, no new "updated" time or author.

    :raise PhoneError: when the phone is not a valid number.
    """
    before = _snapshot(person)
    _apply(person, data, actor, region=region)
    if actor.is_leader:
        person.owner_id = actor.id
    changed = record_changes(actor, person, before, _snapshot(person), sensitive=PERSON_SENSITIVE_FIELDS)
    if changed:
        person.updated_by_id = actor.id
        person.updated_at = utcnow()
    if "phone" in changed:
        note_phone_conflict(person, actor)
    if "phone" in changed or "email" in changed:
        note_hidden_duplicates(person, actor)
    return person


#: What only those who may see sensitive data read in the audit log.
PERSON_SENSITIVE_FIELDS = ("notes", "race_ethnicities")


def note_phone_conflict(person: Person, actor: User) -> PhoneConflict | None:
    """If ``actor`` just gave ``person`` a phone that also belongs to someone ``actor`` may not
    see (archived records included), note it for staff, once per record and number.

    The record is kept (a household may share a phone), but texts to it wait until staff
    decide (``organizer.sms``), and that number's replies are not threaded with it: typing
    another leader's person's number must not open that person's texts. Staff see everyone,
    so a number they give is never a conflict. Returns the conflict noted now, or ``None``.
    Raises nothing.
    """
    phone = person.phone
    if not phone or actor.is_staff:
        return None
    others = set(db.session.scalars(select(Person.id).where(Person.phone == phone, Person.id != person.id)))
    if not others:
        return None
    seen = set(db.session.scalars(select(Person.id).where(Person.id.in_(others), people_visible_to(actor))))
    if not others - seen:
        return None
    if db.session.scalar(select(PhoneConflict.id).where(PhoneConflict.person_id == person.id,
                                                        PhoneConflict.phone == phone)):
        return None  # staff decided about this record and number already (or will)
    conflict = PhoneConflict(person_id=person.id, phone=phone, created_by_id=actor.id,
                             status=PhoneConflictStatus.OPEN)
    db.session.add(conflict)
    db.session.flush()
    record(actor, "phone_conflict", person, {"phone": phone, "shared_with": sorted(others - seen)})
    return conflict


def phones_on_hold(person_ids: Iterable[int] | None = None) -> set[tuple[int, str]]:
    """The (person id, phone) pairs not to be texted until staff decide about a number the
    record shares: a conflict open, or judged a duplicate. Limited to ``person_ids`` when
    given (``None``: all; conflicts are few, so no long ``IN`` for a whole audience). One query.
    """
    stmt = select(PhoneConflict.person_id, PhoneConflict.phone).where(_held())
    if person_ids is not None:
        ids = list(person_ids)
        if not ids:
            return set()
        stmt = stmt.where(PhoneConflict.person_id.in_(ids))
    return {(person_id, phone) for person_id, phone in db.session.execute(stmt)}


def phone_on_hold(person_id: int, phone: str) -> bool:
    """Whether ``(person_id, phone)`` is among ``phones_on_hold()``: one query, built once."""
    return bool(db.session.scalar(_phone_on_hold_statement(), {"person_id": person_id, "phone": phone}))


def phone_on_hold_condition(person_id: Any, phone: Any) -> ColumnElement[bool]:
    """``phone_on_hold`` in SQL (values or bound parameters), for a statement that asks more."""
    return exists().where(PhoneConflict.person_id == person_id, PhoneConflict.phone == phone, _held())


def _held() -> ColumnElement[bool]:
    """A conflict that holds its texts: open, or judged a duplicate (anything but allowed)."""
    return PhoneConflict.status != PhoneConflictStatus.ALLOWED


@cache
def _phone_on_hold_statement() -> Select[tuple[bool]]:
    """Built once per process: building a statement costs more than running it."""
    return select(phone_on_hold_condition(bindparam("person_id", type_=Integer), bindparam("phone")))


def _apply(person: Person, data: PersonData, actor: User, *, region: str) -> None:
    person.first_name = data.first_name.strip()
    person.last_name = (data.last_name or "").strip()
    person.preferred_name = (data.preferred_name or "").strip() or None
    new_phone = normalize_phone(data.phone, region)
    if new_phone != person.phone:
        person.phone = new_phone
    person.email = (data.email or "").strip().lower() or None
    person.address = (data.address or "").strip() or None
    if data.city is not None:
        person.city = data.city.strip() or None
    if data.postal_code is not None:
        person.postal_code = data.postal_code.strip().upper() or None
    if data.other_phones is not None:
        person.other_phones = normalize_other_phones(data.other_phones, region, texting=person.phone)
    person.neighborhood_id = data.neighborhood_id or None
    person.preferred_language = data.preferred_language or None
    person.timezone = data.timezone or None
    person.tags = list(db.session.scalars(select(Tag).where(Tag.id.in_(data.tag_ids)))) if data.tag_ids else []
    if actor.is_staff:
        person.owner_id = data.owner_id or None
    if actor.can_see_sensitive and data.race_ethnicities is not None:
        _set_race_ethnicities(person, data.race_ethnicities)
    if actor.can_see_sensitive and data.notes is not None:
        person.notes = data.notes.strip() or None
    if data.sms_consent is not None and data.sms_consent != person.sms_consent:
        set_sms_consent(person, data.sms_consent, method=ConsentMethod.WEB_FORM, actor=actor,
                        detail=f"edited by {actor.email}")


def _set_race_ethnicities(person: Person, values: Iterable[RaceEthnicity]) -> None:
    wanted = set(values)
    if RaceEthnicity.PREFER_NOT_TO_SAY in wanted:
        wanted = {RaceEthnicity.PREFER_NOT_TO_SAY}
    person.race_ethnicities = [r for r in person.race_ethnicities if r.value in wanted]
    have = {r.value for r in person.race_ethnicities}
    for value in sorted(wanted - have):
        person.race_ethnicities.append(PersonRaceEthnicity(value=value))


def set_sms_consent(person: Person, consent: SmsConsent, *, method: ConsentMethod, actor: User | None = None,
                    detail: str = "", now: datetime | None = None) -> bool:
    """The one way a person's texting consent changes: sets it, notes when and how on the
    person, and writes the change (who, when, how, from what to what) to their consent
    history. Works for a person not yet flushed. Returns whether anything changed.

    It applies no rule of its own: callers decide whether the change is allowed (a sign-up
    never opts anybody back in, for instance). Raises nothing.
    """
    before = person.sms_consent
    if before is consent or (before is None and consent is SmsConsent.UNKNOWN):
        if before is None:
            person.sms_consent = consent
        return False
    now = now or utcnow()
    person.sms_consent = consent
    person.sms_consent_at = now
    person.sms_consent_source = (detail or method.value)[:80]
    db.session.add(ConsentChange(person=person, changed_at=now, changed_by_id=actor.id if actor else None,
                                 method=method, from_consent=before, to_consent=consent, detail=detail[:120] or None))
    return True


def record_imported_consents(people: Sequence[tuple[int, SmsConsent]], actor: User, *, detail: str,
                             now: datetime) -> None:
    """The consent history of people a bulk import has just inserted with a consent (one
    executemany): the same rows :func:`set_sms_consent` writes, for rows the ORM never saw.
    Raises nothing."""
    insert_rows(db.session.connection(), ConsentChange.__table__,
                ("person_id", "changed_at", "changed_by_id", "method", "from_consent", "to_consent", "detail"),
                [(person_id, now, actor.id, ConsentMethod.IMPORT, None, consent, detail[:120])
                 for person_id, consent in people if consent is not SmsConsent.UNKNOWN])


def consent_history(person: Person) -> list[Row[Any]]:
    """A person's consent changes, newest first, with the name of who made them
    (``changed_by_name``, ``None`` for a text or an import): one query, of the columns the page
    shows. The page shows it to staff only (``User.can_see_sensitive``)."""
    return list(db.session.execute(_consent_history_statement(), {"person_id": person.id}))


@cache
def _consent_history_statement() -> Select[Any]:
    """Built once per process: building a statement costs more than running it."""
    return (select(ConsentChange.changed_at, ConsentChange.from_consent, ConsentChange.to_consent,
                   ConsentChange.method, ConsentChange.detail, User.name.label("changed_by_name"))
            .outerjoin(User, User.id == ConsentChange.changed_by_id)
            .where(ConsentChange.person_id == bindparam("person_id", type_=Integer))
            .order_by(ConsentChange.changed_at.desc(), ConsentChange.id.desc()))


def _snapshot(person: Person) -> dict[str, object]:
    """Every field of the person an edit may change, for the audit log's old and new values."""
    fields = column_names(person, leave_out=("id", "created_at", "created_by_id", "updated_at", "updated_by_id",
                                             "search_key", "name_key"))
    return snapshot(person, fields, tags=[t.id for t in person.tags], race_ethnicities=person.race_ethnicity_values)


def archive_person(person: Person, actor: User) -> None:
    """Archive (never delete) a person; they leave every list but their history stays."""
    if person.archived_at is None:
        person.archived_at = utcnow()
        person.updated_by_id = actor.id
        record(actor, "archive", person)


def restore_person(person: Person, actor: User) -> None:
    """Bring an archived person back to the lists."""
    if person.archived_at is not None:
        person.archived_at = None
        person.updated_by_id = actor.id
        record(actor, "restore", person)


def assign_people(person_ids: Iterable[int], owner: User | None, actor: User) -> int:
    """Give people to a leader (or organizer) to hold the relationship; returns how many moved.

    :raise PersonError: when the new owner is not an active account.
    """
    if owner is not None and not owner.active:
        raise PersonError(_("That account is not active."))
    ids = list(set(person_ids))
    people = db.session.scalars(select(Person).where(Person.id.in_(ids))).all() if ids else []
    for person in people:
        person.owner_id = owner.id if owner else None
        person.updated_by_id = actor.id
    record(
        actor, "assign", None, {"person_ids": sorted(p.id for p in people), "owner_id": owner.id if owner else None},
        object_type="people", summary=f"{len(people)} people to {owner.name if owner else 'nobody'}",
    )
    return len(people)


def add_membership(person: Person, institution: Institution, role: MembershipRole, actor: User) -> Membership:
    """Make ``person`` a member of ``institution`` (or change their role there; the same role
    again changes and records nothing)."""
    membership = next((m for m in person.memberships if m.institution_id == institution.id), None)
    if membership is None:
        membership = Membership(person=person, institution=institution, role=role)
        person.memberships.append(membership)
        record(actor, "membership", person, {"institution_id": institution.id, "role": role.value})
    else:
        before = snapshot(membership, ["role"])
        membership.role = role
        record_changes(actor, person, before, snapshot(membership, ["role"]), action="membership",
                       extra={"institution_id": institution.id})
    return membership


def remove_membership(person: Person, membership_id: int, actor: User) -> None:
    """End a membership of ``person``; an id of someone else's membership is ignored."""
    for membership in list(person.memberships):
        if membership.id == membership_id:
            person.memberships.remove(membership)
            record(actor, "membership_removed", person, {"institution_id": membership.institution_id})


EXPORT_BATCH = 1_000  # rows fetched and written per chunk of a streamed CSV


def export_csv(user: User, filters: PersonFilters) -> Iterator[str]:
    """The filtered people as CSV (sensitive columns only for those allowed), as chunks of text.

    The audit event (with the number of rows, counted by one query) is recorded right away, so
    the caller commits before streaming. The rows are plain columns, not ORM objects: tags and
    race/ethnicity come in the same query (``joined_strings``), so an export costs the same few
    queries and a bounded amount of memory whatever its size.
    """
    from organizer.people.models import person_tags
    from organizer.settings.models import Neighborhood

    people = search_people(user, filters)
    rows = db.session.scalar(select(func.count()).select_from(people.order_by(None).subquery())) or 0
    record(user, "export", None, {"rows": rows, "filters": filters.__dict__},
           object_type="people", summary=f"{rows} people exported")
    sensitive = user.can_see_sensitive
    from organizer.settings.services import get_organization

    region = get_organization().default_phone_region
    tag_names = (select(joined_strings(Tag.name, LIST_SEPARATOR)).join(person_tags, person_tags.c.tag_id == Tag.id)
                 .where(person_tags.c.person_id == Person.id).scalar_subquery())
    # The same column names the import recognizes (its "Organizer" preset): a staff export
    # imported again brings everything back.
    columns = [Person.id, Person.first_name, Person.last_name, Person.preferred_name, Person.phone, Person.email,
               Person.address, Person.city, Person.postal_code, Person.other_phones, Neighborhood.name,
               Person.preferred_language, tag_names, Person.sms_consent]
    header = ["id", "first_name", "last_name", "preferred_name", "phone", "email", "address", "city",
              "postal_code", "other_phones", "neighborhood", "language", "tags", "sms_consent"]
    if sensitive:
        columns += [select(joined_strings(PersonRaceEthnicity.value, LIST_SEPARATOR))
                    .where(PersonRaceEthnicity.person_id == Person.id).scalar_subquery(), Person.notes]
        header += ["race_ethnicity", "notes"]
    stmt = (people.with_only_columns(*columns)
            .outerjoin(Neighborhood, Neighborhood.id == Person.neighborhood_id))

    engine = db.engine

    consent_values = {consent: consent.value for consent in SmsConsent}

    def lines() -> Iterator[list[object]]:
        with streaming_rows(engine, stmt) as found:
            for row in found:
                values = list(row)
                # Phones as a spreadsheet keeps them: national form at home ("(312) 555-0142"),
                # international abroad ("+52 55 1234 5678", which ``stream_csv`` marks as text
                # with a leading apostrophe, as the importer reads it back). Bare E.164 digits
                # became numbers (5.25512E+11) that could not be imported again.
                values[4] = format_phone(values[4], region)
                values[9] = "; ".join(format_phone(p, region) for p in values[9].split(";")) if values[9] else ""
                values[12] = joined_list(values[12])
                values[13] = consent_values[values[13]]
                if sensitive:
                    values[14] = joined_list(values[14])
                yield values

    # A byte order mark first: without it Excel reads the UTF-8 file as Windows-1252 ("MarÃ­a").
    return itertools.chain(("\ufeff",), stream_csv(header, lines()))


@contextmanager
def streaming_rows(engine: Engine, stmt: Select) -> Iterator[Result]:
    """The rows of ``stmt``, fetched ``EXPORT_BATCH`` at a time on a connection of their own.

    A streamed response is read after the request's session was committed and closed (and
    outside its app context), so the rows come from their own connection, closed when the
    stream ends or is abandoned.
    """
    with engine.connect() as connection:
        yield connection.execute(stmt.execution_options(yield_per=EXPORT_BATCH))


LIST_SEPARATOR = "\x1f"  # between the values of one ``joined_strings`` (never in a name)


def joined_list(value: str | None) -> str:
    """A ``joined_strings`` result as the exports write lists: sorted, separated by ";"."""
    return ";".join(sorted(value.split(LIST_SEPARATOR))) if value else ""


def stream_csv(header: list[str], rows: Iterable[list[object]]) -> Iterator[str]:
    """``header`` and ``rows`` as CSV text, ``EXPORT_BATCH`` rows per chunk, formulas defused: a
    text starting with "=", "+", "-", "@", a tab or a carriage return (other than a signed
    number) gets a leading apostrophe, so a name starting with "=" stays text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    starts = _FORMULA_STARTS
    batch: list[list[object]] = []
    for row in rows:
        # Written out here rather than a function called per value: those calls were a third
        # of a 100,000-row export's time.
        batch.append([("'" + v) if isinstance(v, str) and v[:1] in starts and not v[1:].isdigit() else v
                      for v in row])
        if len(batch) == EXPORT_BATCH:
            writer.writerows(batch)
            batch.clear()
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    writer.writerows(batch)
    yield out.getvalue()


_FORMULA_STARTS = frozenset(("=", "+", "-", "@", "\t", "\r"))  # what a spreadsheet reads as a formula
