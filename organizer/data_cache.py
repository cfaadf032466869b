"""Counts cached by data version: a report, or an action's turnout history, computed once is
served again, without its heavy query, until something it counts changes.

A neutral module (not inside ``reports``) because both the reports and the actions use it, and
``organizer.reports`` already reads ``organizer.actions``: the actions importing the reports
would make a circle.

The version is ``report_data_versions``, kept by database triggers on every table the reports
count (see its model), so it changes in the same transaction as any such write, whatever code
made it. The other thing a count depends on is the clock: actions count once they have started,
so the key also holds the first action start still to come, and passing it makes a new key.

Each process keeps its own small cache (a few entries: a report's counts are a few hundred
numbers). It is off when ``REPORTS_CACHE`` is false; a database with no version row yet (never
written since it was emptied) is never cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import TypeVar

from flask import current_app
from sqlalchemy import func, select

from organizer.actions.models import Action
from organizer.extensions import db
from organizer.reports.models import ReportDataVersion

T = TypeVar("T")
SIZE = 64
_entries: OrderedDict[Hashable, object] = OrderedDict()
_lock = threading.Lock()


def data_version(now: datetime) -> tuple | None:
    """What the reports' counts depend on besides their arguments, in one query: the version rows
    (how many, their total and their stamps' total) and the next action start after ``now``.
    ``None`` when there is no version row (nothing written since the tables were emptied)."""
    versions = ReportDataVersion.__table__
    next_start = select(func.min(Action.starts_at)).where(Action.starts_at > now).scalar_subquery()
    rows, total, stamps, upcoming = db.session.execute(
        select(func.count(), func.sum(versions.c.version), func.sum(versions.c.stamp), next_start)
        .select_from(versions)).one()
    if not rows:
        return None
    return (rows, int(total), int(stamps), upcoming)


def cached(key: Hashable, compute: Callable[[], T], copy: Callable[[T], T]) -> T:
    """``compute()``, or the value it gave for ``key`` at the current data version.

    ``copy`` makes the copy handed out (and kept), so a caller changing its result cannot change
    the cached one. The version is read before computing: a change committed while computing
    makes a new version, so what was computed is never kept under a version it does not match.
    """
    if not current_app.config.get("REPORTS_CACHE", True):
        return compute()
    version = data_version(datetime.now(UTC))
    if version is None:
        return compute()
    full_key = (key, version, db.engine.url.render_as_string(hide_password=True))
    with _lock:
        if full_key in _entries:
            _entries.move_to_end(full_key)
            return copy(_entries[full_key])  # type: ignore[arg-type]
    value = compute()
    with _lock:
        _entries[full_key] = copy(value)
        while len(_entries) > SIZE:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    """Forget every cached count (the benchmark's cold runs; tests)."""
    with _lock:
        _entries.clear()
