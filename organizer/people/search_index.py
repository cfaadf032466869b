"""The index behind people search: every word of a search is a substring of the folded
``search_key`` ("mar" finds Omar too), or the typed digits are in the phone.

A B-tree cannot find ``LIKE '%word%'``; a trigram index can (revision ``0715da0efe41``):

* PostgreSQL: ``pg_trgm`` GIN indexes on ``search_key`` and ``phone`` serve the very ``LIKE``
  conditions of :func:`like_condition`, so nothing else changes there.
* SQLite: ``people_search``, an FTS5 ``trigram`` table kept by triggers. Its planner cannot use
  it for ``LIKE`` on ``people``, so :func:`match_condition` asks it with ``MATCH``: each word
  as a quoted phrase, which the trigram tokenizer (``case_sensitive 1``, the key being folded
  already) answers with exactly the rows whose text holds that substring. A trigram needs three
  characters: shorter words are checked with ``LIKE`` on the rows the others found, and a
  search of short words only reads every row, as before.

The table, its triggers and the two GIN indexes are not in the models (autogenerate cannot
describe a virtual table nor an operator class index): :func:`include_name` tells Alembic's
comparison to leave them aside.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    and_,
    cast,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
)

from organizer.db import triggers_set_aside
from organizer.people.models import Person

#: The trigram tokenizer's unit: a shorter word has no trigram to look up.
TRIGRAM = 3

#: Schema objects the search index migration makes that the models do not describe: the FTS5
#: table and its shadow tables (SQLite), the trigram indexes (PostgreSQL).
NOT_IN_MODELS = frozenset({
    "people_search", "people_search_data", "people_search_idx", "people_search_docsize", "people_search_config",
    "people_search_content", "ix_people_search_key_trgm", "ix_people_phone_trgm",
})

#: The PostgreSQL trigram indexes (revision ``0715da0efe41``).
TRIGRAM_INDEXES = ("ix_people_search_key_trgm", "ix_people_phone_trgm")

#: ``gin_pending_list_limit``'s largest value (kB): the pending list never overflows in a block.
GIN_PENDING_LIST_MAX_KB = 2_147_483_647

_fts = table("people_search", column("rowid"))

#: The trigger that adds each new person to the SQLite index (revision ``0715da0efe41``).
INSERT_TRIGGER = "people_search_insert"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name`` hook: compare every schema object but the search index's."""
    return name not in NOT_IN_MODELS


def like_condition(words: list[str], digits: str) -> ColumnElement[bool]:
    """Every word in ``search_key`` and, for three digits or more, or the digits in the phone:
    the search as ``LIKE`` says it (PostgreSQL's trigram indexes serve it as it is)."""
    clauses = [and_(*(Person.search_key.contains(word, autoescape=True) for word in words))]
    if len(digits) >= TRIGRAM:
        clauses.append(cast(Person.phone, String).contains(digits))
    return or_(*clauses)


def _indexable(word: str) -> bool:
    """Whether the index can find ``word``: three characters at least, and no NUL (which ends an
    FTS5 query string early; ``LIKE`` still answers such a word)."""
    return len(word) >= TRIGRAM and "\x00" not in word


def _phrase(text: str) -> str:
    """``text`` as an FTS5 string: double quotes doubled, so any character is literal."""
    return '"' + text.replace('"', '""') + '"'


def _match(expression: str) -> Select[tuple[int]]:
    return select(_fts.c.rowid).where(literal_column("people_search").match(expression))


def indexed_ids(words: list[str], digits: str) -> Select[tuple[int]] | None:
    """SQLite: the ids of the people the search finds, from the index alone (no ``people`` row
    read), or ``None`` when a word is too short for it (the caller falls back on ``LIKE``)."""
    if not words or not all(_indexable(word) for word in words):
        return None
    expression = " AND ".join(f"search_key : {_phrase(word)}" for word in words)
    if len(digits) >= TRIGRAM:
        expression = f"({expression}) OR phone : {_phrase(digits)}"
    return _match(expression)


def match_condition(words: list[str], digits: str, *, probe: bool = False) -> ColumnElement[bool]:
    """SQLite: the same rows as :func:`like_condition`, found through ``people_search``.

    ``probe``: the caller reads people in an index's order (a list by name) and expects many
    matches, so each row's id is looked up in the matched ids rather than every match read
    and sorted: 50 rows by name among 9,000 "maria" take a few hundred index entries instead of
    9,000 rows sorted. ``id + 0`` is what tells SQLite's planner not to start from the ids."""
    ids = indexed_ids(words, digits)
    if ids is not None:
        return (Person.id + 0).in_(ids) if probe else Person.id.in_(ids)
    long_words = [word for word in words if _indexable(word)]
    name = [Person.search_key.contains(word, autoescape=True) for word in words if not _indexable(word)]
    if long_words:
        name.append(Person.id.in_(_match(" AND ".join(f"search_key : {_phrase(w)}" for w in long_words))))
    clauses = [and_(*name)]
    if len(digits) >= TRIGRAM:
        clauses.append(Person.id.in_(_match(f"phone : {_phrase(digits)}")))
    return or_(*clauses)


@dataclass(frozen=True)
class IndexedCount:
    """How many people not archived a search finds, as the index tells without reading a row.

    ``count`` is exact, unless ``more``: then counting stopped there and more than ``count``
    match. ``stride`` is how many people ids, on average, lie between two matches among the
    ids read (1.0 when everybody matches): about how many rows a walk in any order unrelated
    to the ids (by name) reads for each match it finds."""

    count: int
    more: bool = False
    stride: float = 1.0


def indexed_count(ids: Select[tuple[int]], *, cap: int | None = None) -> IndexedCount:
    """SQLite: how many people not archived are among ``ids``, in one query: the matches read
    from the index in id order, each person's row found by its id to leave the archived out.

    ``cap``: stop past ``cap`` people not archived (``more`` is then set): the index hands its
    matches over in id order and stops there instead of reading all of them (9,000 "maria"
    among 100,000 people: about a millisecond instead of 6). Archived people are left out on
    the way, so however many there are, no more matches are read than the count needs (a
    separate count of the archived among all the matches read every match)."""
    from organizer.extensions import db

    found = ids.subquery()
    rows = (select(Person.id).select_from(found).join(Person, Person.id == list(found.c)[0])
            .where(Person.archived_at.is_(None)))
    read = (rows if cap is None else rows.limit(cap + 1)).subquery()
    count, last_id = db.session.execute(select(func.count(), func.max(read.c.id))).one()
    stride = last_id / count if count else 1.0
    if cap is not None and count > cap:
        return IndexedCount(cap, more=True, stride=stride)
    return IndexedCount(count, stride=stride)


@contextlib.contextmanager
def bulk_people(connection: Connection) -> Iterator[None]:
    """Inside this block, people inserted on ``connection`` join the SQLite index in one
    statement on leaving, not row by row through its insert trigger: for 100,000 people the
    trigger took ten times as long as the rows themselves (12 s against 1.5 s).

    The trigger is set aside with ``db.triggers_set_aside``, in the caller's transaction, which
    holds SQLite's write lock: no other writer's people arrive meanwhile. New people are the
    ones with an id above the largest at the start (imports take the ids after it).

    PostgreSQL: the GIN indexes take the new entries into their pending list for the whole
    block and merge it into the index in bulk on leaving (``gin_clean_pending_list``), in the
    same transaction, instead of merging it every 4 MB of new entries (2 s less of a
    100,000-person import). Searches read the pending list too, so nothing is ever missed.

    :raise RuntimeError: outside a transaction (the trigger would be dropped for good).
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL gin_pending_list_limit = {GIN_PENDING_LIST_MAX_KB}")
        yield
        connection.exec_driver_sql("SET LOCAL gin_pending_list_limit TO DEFAULT")
        merge_pending_lists(connection)
        return
    if connection.dialect.name != "sqlite":
        yield
        return
    with triggers_set_aside(connection, [INSERT_TRIGGER]) as set_aside:
        top = connection.exec_driver_sql("SELECT coalesce(max(id), 0) FROM people").scalar()
        yield
        if set_aside:  # else a schema from before the index: nothing to keep in step
            connection.exec_driver_sql(
                "INSERT INTO people_search (rowid, search_key, phone) "
                "SELECT id, search_key, phone FROM people WHERE id > ?", (top,))


def merge_pending_lists(connection: Connection) -> None:
    """PostgreSQL: merge the trigram indexes' pending lists into the indexes now, rather than
    in the next insert that finds them over ``gin_pending_list_limit`` (somebody's page)."""
    for index in TRIGRAM_INDEXES:
        # Only the index's owner may merge it (else the entries wait in the pending list for
        # the next vacuum, found by searches meanwhile all the same).
        connection.exec_driver_sql(
            "SELECT gin_clean_pending_list(c.oid) FROM pg_class c "
            "WHERE c.oid = %(index)s::regclass AND pg_has_role(c.relowner, 'USAGE')", {"index": index})
