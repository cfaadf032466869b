"""Counts kept up to date person by person: the equity dashboard after a write.

Counted from scratch, the dashboard reads every person and a year of their activity (1.3 s on
100,000 people and a million texts on SQLite), and every write to what it counts (a text sent,
a reply, a one-to-one) would make it count everything again. So the database logs whose data
changed (``report_changes``, kept by triggers whatever code wrote), and a count is kept here as
sums per group of each person's record: a view after a change reads only the people logged
since the last view, takes off what they counted for and adds what they count for now.

It counts from scratch instead when the log has no per-person answer: a change for everyone
(the stages, an action's start or archiving, a bulk import), a log pruned past this process's
last view, more changed people than ``RECOUNT_ALL``, or a different ``guard`` (what the count
depends on besides the data: the next action start, the stages).

Each process keeps its own few counts (``SIZE``): 17 to 27 MB each for 100,000 people (measured
with tracemalloc on the bench's large shape, one per split).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Select, func, literal_column, select

from organizer.extensions import db
from organizer.reports.models import ReportChange, ReportChangeHorizon

T = TypeVar("T")
# A person's record: the groups they count in, their stage, and their values (counts, flags).
Record = tuple[tuple[Hashable, ...], Hashable, tuple[int, ...]]
Sums = dict[tuple[Hashable, Hashable], list[int]]  # (group, stage) -> [people, *values summed]

SIZE = 4
# Past this many changed people, counting everyone is about as fast as counting them.
RECOUNT_ALL = 5000


@dataclass
class _Kept:
    cursor: int
    guard: Hashable
    people: dict[int, Record]
    sums: Sums
    result: object


_kept: OrderedDict[Hashable, _Kept] = OrderedDict()
_lock = threading.Lock()


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _cursor_sql() -> str:
    """Where the log stands for a reader: SQLite's last id given (writers take turns, so ids
    become visible in order); PostgreSQL's oldest transaction still running (rows of any
    transaction from it on may still appear)."""
    if _postgres():
        return "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    return "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'report_changes'), 0)"


def _since(cursor: int):
    changes = ReportChange.__table__
    return changes.c.xid >= cursor if _postgres() else changes.c.id > cursor


def changed_people(cursor: int) -> Select:
    """The people logged since ``cursor`` (a subquery for the caller's per-person counts)."""
    changes = ReportChange.__table__
    return select(changes.c.person_id).where(_since(cursor), changes.c.person_id.is_not(None))


def kept(key: Hashable, guard_sql: Select, count: Callable[[Select | None], dict[int, Record]],
         finish: Callable[[Sums], T], copy: Callable[[T], T]) -> T:
    """``finish`` of the sums of every person's record, kept up to date from the change log.

    ``count(None)`` gives every person's record; ``count(people)`` those of the people the
    subquery ``people`` names (a person it leaves out no longer counts). ``guard_sql``, read
    with the log's position, is what the counts depend on besides the data: a new value
    counts from scratch. Two or three small queries when nothing changed, plus the caller's
    when something did.
    """
    full_key = (key, db.engine.url.render_as_string(hide_password=True))
    guard_value = guard_sql.scalar_subquery()
    log = ReportChangeHorizon.__table__
    horizon_value = func.coalesce(select(log.c.horizon).where(log.c.slot == 0).scalar_subquery(), 0)
    now, horizon, guard = db.session.execute(select(literal_column(_cursor_sql()), horizon_value, guard_value)).one()
    with _lock:
        entry = _kept.get(full_key)
        # A log behind this count's cursor is another database's (one emptied and rebuilt).
        if entry is not None and (entry.guard != guard or entry.cursor < horizon or now < entry.cursor):
            entry = None
        if entry is not None and (_postgres() or now != entry.cursor):
            changed = _changed(entry.cursor)
            if changed is None:
                entry = None
            elif changed:
                records = count(changed_people(entry.cursor))
                for person in changed:
                    _move(entry, person, records.get(person))
                entry.result = finish(entry.sums)
            if entry is not None:
                entry.cursor = now
        if entry is None:
            entry = _counted_from_scratch(now, guard, count(None))
            entry.result = finish(entry.sums)
        _kept[full_key] = entry
        _kept.move_to_end(full_key)
        while len(_kept) > SIZE:
            _kept.popitem(last=False)
        return copy(entry.result)  # type: ignore[arg-type]


def _changed(cursor: int) -> set[int] | None:
    """The people changed since ``cursor``; ``None`` when everyone's counts may have changed."""
    changes = ReportChange.__table__
    rows = db.session.scalars(select(changes.c.person_id).where(_since(cursor)).distinct()
                              .limit(RECOUNT_ALL + 1)).all()
    if len(rows) > RECOUNT_ALL or None in rows:
        return None
    return set(rows)


def _counted_from_scratch(cursor: int, guard: Hashable, records: dict[int, Record]) -> _Kept:
    # People with the same record share one tuple (a fifth of the memory) and are added at once.
    same: dict[Record, list] = {}
    people = {}
    for person, record in records.items():
        found = same.get(record)
        if found is None:
            found = same[record] = [record, 0]
        found[1] += 1
        people[person] = found[0]
    sums: Sums = {}
    for record, how_many in same.values():
        _add(sums, record, how_many)
    return _Kept(cursor, guard, people, sums, None)


def _move(entry: _Kept, person: int, record: Record | None) -> None:
    old = entry.people.pop(person, None)
    if old is not None:
        _add(entry.sums, old, -1)
    if record is not None:
        entry.people[person] = record
        _add(entry.sums, record, 1)


def _add(sums: Sums, record: Record, times: int) -> None:
    """Add ``record`` ``times`` times (negative: take it off). A group and stage nobody is left
    in is dropped, as a count from scratch would not have it."""
    groups, stage, values = record
    for group in groups:
        total = sums.get((group, stage))
        if total is None:
            total = sums[(group, stage)] = [0] * (1 + len(values))
        total[0] += times
        for i, value in enumerate(values, 1):
            if value:
                total[i] += value * times
        if total[0] == 0:
            del sums[(group, stage)]


def prune() -> int:
    """Delete the log rows every reader has had a chance to read: those before where the log
    stood at the last pruning (readers that looked before then count from scratch). Run
    periodically by the worker; returns how many rows went."""
    changes, log = ReportChange.__table__, ReportChangeHorizon.__table__
    pending = db.session.scalar(select(log.c.pending).where(log.c.slot == 0))
    if pending is None:  # the row is gone (tables emptied): start again, pruning nothing yet
        db.session.execute(log.insert().values(slot=0, horizon=0, pending=literal_column(_cursor_sql())))
        return 0
    cut = changes.c.xid < pending if _postgres() else changes.c.id <= pending
    deleted = db.session.execute(changes.delete().where(cut)).rowcount
    db.session.execute(log.update().where(log.c.slot == 0)
                       .values(horizon=log.c.pending, pending=literal_column(_cursor_sql())))
    return deleted


def forget() -> None:
    """Forget every kept count (tests; the benchmark's cold runs)."""
    with _lock:
        _kept.clear()
