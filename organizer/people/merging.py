"""Merging two records of one person, and undoing it.

Every table with a foreign key to ``people.id`` is found in the metadata, so a table added
later is re-pointed without anyone remembering to list it here. A row that cannot move because
the kept person already has its twin under a unique constraint (one RSVP per action, one
attendance, one membership per institution, one pipeline row...) follows ``CONFLICT_RULES``:

* by default the kept person's row stays and the other's is dropped (its whole content is
  stored); rows pointing at the dropped row (the texts of a thread) move to the kept twin;
* ``PREFER_OTHER`` says where the other's row tells more (an RSVP "yes" over a "no", the more
  recent pipeline stage): then the kept person's row is the one dropped;
* "unlink" tables (a user account, a text of a mobilization) never lose the row: the other's
  link to the person is emptied instead.

A row that would end up pointing twice at the kept person (a duplicate conflict between the two
records) is dropped, since the merge settles it. Tables holding an ordered pair of people
(``PAIR_TABLES``) have their own rule, documented there. Everything is written to a ``PersonMerge``, and
``undo_merge`` puts every row back as it was.
"""

from __future__ import annotations

import base64
import enum
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Enum, Table, and_, delete, insert, select, update
from werkzeug.exceptions import NotFound

from organizer.audit.services import record
from organizer.auth.models import User
from organizer.db import utcnow
from organizer.extensions import db
from organizer.people.models import Person, PersonMerge, SmsConsent, name_key_for, search_key_for

UNDO_DAYS = 30

#: Fields the merge form offers a choice for (where the two records differ).
MERGE_FIELDS = ("first_name", "last_name", "preferred_name", "phone", "email", "address", "neighborhood_id",
                "preferred_language", "timezone", "notes", "owner_id")
#: Only staff choose these (leaders neither see notes nor hand people to someone else).
STAFF_FIELDS = ("notes", "owner_id")

#: Tables whose person link is emptied rather than the row dropped on a conflict.
UNLINK_TABLES = {"users", "sms_outbox"}
#: Tables whose rows are recomputed for the kept person after the merge; undo writes both
#: people's rows back exactly as they were.
RESTORED_TABLES = {"person_pipeline"}
#: Tables holding a pair of people, smaller id first, unique per pair (a pair dismissed as two
#: different people): re-pointing one column could break the order or meet the same pair stored
#: the other way round, so the other's rows are dropped and the pair re-added for the kept person
#: in order; the pair of the two themselves is dropped (the merge says they are one person).
PAIR_TABLES = {"duplicate_dismissals": ("first_person_id", "second_person_id")}
_RSVP_RANK = {"yes": 3, "maybe": 2, "no": 1, "pending": 0}


def _prefer_other(table: str, kept_row: dict[str, Any], other_row: dict[str, Any]) -> bool:
    """Whether the other's row tells more than the kept person's twin (documented above)."""
    if table == "rsvps":
        return _RSVP_RANK.get(_plain(other_row["status"]), 0) > _RSVP_RANK.get(_plain(kept_row["status"]), 0)
    if table == "person_pipeline":
        return other_row["entered_at"] > kept_row["entered_at"]
    return False


class MergeError(ValueError):
    """A merge or an undo that breaks a rule (same person twice, too late to undo...)."""


# --- the tables ---------------------------------------------------------------------------


def person_foreign_keys() -> list[tuple[Table, Column]]:
    """Every (table, column) with a foreign key to ``people.id``, from the metadata."""
    found = []
    for table in db.Model.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "people" and fk.column.name == "id":
                found.append((table, fk.parent))
    return found


def _unique_sets(table: Table, column: Column) -> list[list[Column]]:
    """The columns of each unique constraint, primary key or unique index that holds ``column``."""
    sets = []
    for constraint in table.constraints:
        cols = list(getattr(constraint, "columns", []))
        is_unique = constraint.__class__.__name__ in ("UniqueConstraint", "PrimaryKeyConstraint")
        if is_unique and any(c is column for c in cols):
            sets.append(cols)
    for index in table.indexes:
        if index.unique and any(c is column for c in index.columns):
            sets.append(list(index.columns))
    if column.unique:
        sets.append([column])
    return sets


def _pk(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    return {c.name: row[c.name] for c in table.primary_key.columns}


def _where_pk(table: Table, pk: dict[str, Any]):
    return and_(*(table.c[name] == value for name, value in pk.items()))


# --- values to and from JSON ---------------------------------------------------------------


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _dump(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, time):
        return {"$t": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode()}
    return value


def _load(value: Any, column: Column) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (tag, text), = value.items()
        if tag == "$dt":
            return datetime.fromisoformat(text)
        if tag == "$d":
            return date.fromisoformat(text)
        if tag == "$t":
            return time.fromisoformat(text)
        if tag == "$dec":
            return Decimal(text)
        if tag == "$b":
            return base64.b64decode(text)
    enum_class = getattr(column.type, "enum_class", None)
    if value is not None and isinstance(column.type, Enum) and enum_class is not None:
        return enum_class(value)
    return value


def _dump_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: _dump(value) for key, value in row.items()}


def _load_row(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    return {key: _load(value, table.c[key]) for key, value in row.items()}


def _rows(table: Table, *conditions) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in db.session.execute(select(table).where(*conditions))]


# --- merging ------------------------------------------------------------------------------


def merge_people(kept: Person, other: Person, choices: dict[str, str], actor: User) -> PersonMerge:
    """Make ``other`` part of ``kept`` (the caller checked that ``actor`` may see both, and
    commits). ``choices`` maps a field of ``MERGE_FIELDS`` to "kept" or "other": whose value
    the merged person keeps (missing: the kept person's, or the other's when the kept is
    empty). Texting consent is not a choice: opted out on either record stays opted out.

    :raise MergeError: when both are the same person.
    """
    if kept.id == other.id:
        raise MergeError("same person")
    db.session.flush()
    people = Person.__table__
    kept_id, other_id = kept.id, other.id
    kept_before = _dump_row(_rows(people, people.c.id == kept_id)[0])
    merged_row = _dump_row(_rows(people, people.c.id == other_id)[0])
    changes: dict[str, list] = {"moved": [], "dropped": [], "added": [], "restore": []}
    for table in {t.name: t for t, _c in person_foreign_keys()}.values():
        if table.name in RESTORED_TABLES:
            changes["restore"].append({"table": table.name, "rows": [
                _dump_row(r) for col in _people_columns(table)
                for r in _rows(table, col.in_([kept_id, other_id]))]})
    for table, column in person_foreign_keys():
        if table.name not in PAIR_TABLES:
            _repoint(table, column, kept_id, other_id, changes)
    for name, (low, high) in PAIR_TABLES.items():
        _repoint_pairs(db.Model.metadata.tables[name], low, high, kept_id, other_id, changes)

    values = _merged_values(kept_before, merged_row, choices, actor)
    db.session.execute(update(people).where(people.c.id == kept_id).values(**values))
    db.session.execute(delete(people).where(people.c.id == other_id))
    db.session.expunge(other)
    db.session.expire_all()

    if any(item["table"] == "person_pipeline" for item in changes["restore"]):
        from organizer.relational.services import refresh_summary

        if db.session.scalar(select(db.Model.metadata.tables["one_to_ones"].c.id)
                             .where(db.Model.metadata.tables["one_to_ones"].c.person_id == kept_id).limit(1)):
            refresh_summary(kept_id)
    merge = PersonMerge(kept_person_id=kept_id, merged_person_id=other_id,
                        merged_name=f"{merged_row['first_name']} {merged_row['last_name']}".strip()[:170],
                        merged_person=merged_row, kept_before=kept_before, changes=changes, merged_by_id=actor.id)
    db.session.add(merge)
    db.session.flush()
    record(actor, "merge", db.session.get(Person, kept_id),
           {"merge_id": merge.id, "merged_person_id": other_id, "merged_name": merge.merged_name,
            "moved_rows": len(changes["moved"]), "dropped_rows": len(changes["dropped"]),
            "fields_from_other": sorted(k for k, v in choices.items() if v == "other")},
           summary=f"merged {merge.merged_name} (#{other_id}) into #{kept_id}"[:255])
    return merge


def _people_columns(table: Table) -> list[Column]:
    return [c for t, c in person_foreign_keys() if t is table]


def _merged_values(kept: dict[str, Any], other: dict[str, Any], choices: dict[str, str],
                   actor: User) -> dict[str, Any]:
    people = Person.__table__
    values: dict[str, Any] = {}
    for name in MERGE_FIELDS:
        if name in STAFF_FIELDS and not actor.is_staff:
            continue
        choice = choices.get(name)
        take_other = choice == "other" or (choice is None and kept[name] in (None, "") and other[name] not in (None, ""))
        if take_other:
            values[name] = _load(other[name], people.c[name])
    if SmsConsent.OPTED_OUT.value in (kept["sms_consent"], other["sms_consent"]):
        source = other if kept["sms_consent"] != SmsConsent.OPTED_OUT.value else kept
        for name in ("sms_consent", "sms_consent_at", "sms_consent_source"):
            values[name] = _load(source[name], people.c[name])
    elif kept["sms_consent"] == SmsConsent.UNKNOWN.value and other["sms_consent"] != SmsConsent.UNKNOWN.value:
        for name in ("sms_consent", "sms_consent_at", "sms_consent_source"):
            values[name] = _load(other[name], people.c[name])
    merged = {**{k: _load(v, people.c[k]) for k, v in kept.items()}, **values}
    # Core updates skip the ORM's key events: refresh both search keys here.
    values["search_key"] = search_key_for(merged["first_name"], merged["last_name"], merged["preferred_name"],
                                          merged["email"])
    values["name_key"] = name_key_for(merged["first_name"], merged["last_name"])
    values["updated_at"] = utcnow()
    values["updated_by_id"] = actor.id
    return values


def _repoint(table: Table, column: Column, kept_id: int, other_id: int, changes: dict[str, list]) -> None:
    """Move the rows of ``table`` whose ``column`` is the other person to the kept one."""
    people_columns = _people_columns(table)
    unique_sets = _unique_sets(table, column)
    for row in _rows(table, column == other_id):
        pk = _pk(table, row)
        others = [c for c in people_columns if c is not column]
        # A row that would point twice at the kept person (the two records' own duplicate
        # conflict) means nothing once they are one.
        if any(row[c.name] in (kept_id, other_id) for c in others):
            _drop(table, row, kept_id, changes)
            continue
        twin = _twin(table, unique_sets, column, row, kept_id)
        if twin is None:
            _move(table, pk, column.name, other_id, kept_id, changes)
        elif table.name in UNLINK_TABLES and column.nullable:
            _move(table, pk, column.name, other_id, None, changes)
        elif _prefer_other(table.name, twin, row):
            _drop(table, twin, row, changes)
            _move(table, pk, column.name, other_id, kept_id, changes)
        else:
            _drop(table, row, twin, changes)


def _repoint_pairs(table: Table, low: str, high: str, kept_id: int, other_id: int,
                   changes: dict[str, list]) -> None:
    """Give the kept person the other's pairs in ``table`` (see ``PAIR_TABLES``)."""
    for row in _rows(table, (table.c[low] == other_id) | (table.c[high] == other_id)):
        partner = row[high] if row[low] == other_id else row[low]
        _drop(table, row, kept_id, changes)
        if partner == kept_id:
            continue
        pair = {low: min(kept_id, partner), high: max(kept_id, partner)}
        if _rows(table, *(table.c[k] == v for k, v in pair.items())):
            continue  # the kept person's own row for that pair stays
        values = {k: v for k, v in row.items() if k not in _pk(table, row)} | pair
        pk = db.session.execute(insert(table).values(**values)).inserted_primary_key
        changes["added"].append({"seq": _seq(changes), "table": table.name,
                                 "pk": _dump_row(dict(zip([c.name for c in table.primary_key.columns], pk,
                                                          strict=True)))})


def _twin(table: Table, unique_sets: list[list[Column]], column: Column, row: dict[str, Any],
          kept_id: int) -> dict[str, Any] | None:
    """The kept person's row that ``row`` would collide with once re-pointed, if any."""
    for cols in unique_sets:
        rest = [c for c in cols if c is not column]
        if any(row[c.name] is None for c in rest):
            continue  # NULLs never collide
        found = _rows(table, column == kept_id, *(c == row[c.name] for c in rest))
        if found:
            return found[0]
    return None


def _move(table: Table, pk: dict[str, Any], column: str, old: Any, new: Any, changes: dict[str, list]) -> None:
    db.session.execute(update(table).where(_where_pk(table, pk)).values(_relink(table, column, new)))
    # The key as it is after the move (a person id may be part of it), which undo looks up.
    after = {**pk, column: new} if column in pk else pk
    changes["moved"].append({"seq": _seq(changes), "table": table.name, "pk": _dump_row(after), "column": column,
                             "old": old, "new": new})


def _drop(table: Table, row: dict[str, Any], heir: dict[str, Any] | int, changes: dict[str, list]) -> None:
    """Delete ``row`` (its content stored). Rows pointing at it move to ``heir`` (its twin)
    when there is one, so a dropped thread's texts join the kept thread."""
    if isinstance(heir, dict) and len(table.primary_key.columns) == 1:
        (pk_col,) = table.primary_key.columns
        for child_table in db.Model.metadata.sorted_tables:
            for fk in child_table.foreign_keys:
                if fk.column is pk_col:
                    for child in _rows(child_table, fk.parent == row[pk_col.name]):
                        _move(child_table, _pk(child_table, child), fk.parent.name, row[pk_col.name],
                              heir[pk_col.name], changes)
    db.session.execute(delete(table).where(_where_pk(table, _pk(table, row))))
    changes["dropped"].append({"seq": _seq(changes), "table": table.name, "row": _dump_row(row)})


def _relink(table: Table, column: str, value: Any) -> dict[str, Any]:
    """Values that change only the link: columns stamped on update keep their value (a row
    that changed hands is not an edit of the row, and undo must find it as it was)."""
    return {column: value, **{c.name: c for c in table.c if c.onupdate is not None and c.name != column}}


def _seq(changes: dict[str, list]) -> int:
    """The step's place in the merge: undo walks the steps backwards, so a row goes back
    only once the row that took its place has moved away."""
    return len(changes["moved"]) + len(changes["dropped"]) + len(changes.get("added", []))


# --- undoing --------------------------------------------------------------------------------


def undo_deadline(merge: PersonMerge) -> datetime:
    return merge.merged_at + timedelta(days=UNDO_DAYS)


def can_undo(merge: PersonMerge) -> bool:
    return merge.undone_at is None and utcnow() <= undo_deadline(merge)


def undo_merge(merge: PersonMerge, actor: User) -> None:
    """Put both people and every row back as they were before ``merge`` (admins; the caller
    commits). Edits made to the kept person since the merge are overwritten by its fields
    from before the merge; rows added since then stay with the kept person.

    :raise MergeError: when already undone, past ``UNDO_DAYS``, or a later merge involving
        either person is still in force (undo that one first).
    """
    if not can_undo(merge):
        raise MergeError("cannot undo")
    later = db.session.scalar(select(PersonMerge.id).where(
        PersonMerge.id > merge.id, PersonMerge.undone_at.is_(None),
        (PersonMerge.kept_person_id.in_([merge.kept_person_id, merge.merged_person_id]))
        | (PersonMerge.merged_person_id.in_([merge.kept_person_id, merge.merged_person_id]))))
    if later is not None:
        raise MergeError("later merge")
    db.session.flush()
    tables = db.Model.metadata.tables
    people = Person.__table__
    db.session.execute(insert(people).values(_load_row(people, merge.merged_person)))
    steps = sorted([("drop", item) for item in merge.changes["dropped"]]
                   + [("move", item) for item in merge.changes["moved"]]
                   + [("add", item) for item in merge.changes.get("added", [])], key=lambda step: -step[1]["seq"])
    for kind, item in steps:
        table = tables[item["table"]]
        if item["table"] in RESTORED_TABLES:
            continue
        if kind == "drop":
            db.session.execute(insert(table).values(_load_row(table, item["row"])))
        elif kind == "add":
            db.session.execute(delete(table).where(_where_pk(table, _load_row(table, item["pk"]))))
        else:
            pk = _load_row(table, item["pk"])
            db.session.execute(update(table).where(_where_pk(table, pk))
                               .values(_relink(table, item["column"], item["old"])))
    for item in merge.changes["restore"]:
        table = tables[item["table"]]
        for col in _people_columns(table):
            db.session.execute(delete(table).where(col.in_([merge.kept_person_id, merge.merged_person_id])))
        for row in item["rows"]:
            db.session.execute(insert(table).values(_load_row(table, row)))
    kept = {k: v for k, v in _load_row(people, merge.kept_before).items() if k != "id"}
    db.session.execute(update(people).where(people.c.id == merge.kept_person_id).values(**kept))
    merge.undone_at = utcnow()
    merge.undone_by_id = actor.id
    db.session.flush()
    db.session.expire_all()
    record(actor, "undo_merge", db.session.get(Person, merge.kept_person_id),
           {"merge_id": merge.id, "merged_person_id": merge.merged_person_id},
           summary=f"undid the merge of {merge.merged_name} (#{merge.merged_person_id})"[:255])


def recent_merges(limit: int = 100) -> list[PersonMerge]:
    """Merges of the last ``UNDO_DAYS`` days, newest first (admins' list)."""
    since = utcnow() - timedelta(days=UNDO_DAYS)
    return list(db.session.scalars(select(PersonMerge).where(PersonMerge.merged_at >= since)
                                   .order_by(PersonMerge.merged_at.desc(), PersonMerge.id.desc()).limit(limit)))


def get_merge(merge_id: int) -> PersonMerge:
    """:raise NotFound: when there is no such merge."""
    merge = db.session.get(PersonMerge, merge_id)
    if merge is None:
        raise NotFound()
    return merge
