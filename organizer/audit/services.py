"""Recording and reading audit events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from organizer.audit.models import AuditEvent
from organizer.db import paged
from organizer.extensions import db

if TYPE_CHECKING:
    from organizer.auth.models import User


def record(
    actor: User | None,
    action: str,
    obj: Any | None = None,
    details: dict[str, Any] | None = None,
    *,
    object_type: str | None = None,
    summary: str = "",
) -> AuditEvent:
    """Add an audit event to the current transaction (committed with the change it describes)."""
    event = AuditEvent(
        user_id=getattr(actor, "id", None),
        action=action,
        object_type=object_type or (obj.__tablename__ if obj is not None else "none"),
        object_id=getattr(obj, "id", None),
        summary=summary or (str(obj)[:255] if obj is not None else ""),
        details=details or {},
    )
    db.session.add(event)
    return event


@dataclass(frozen=True)
class EventFilter:
    """Who, what and when on the audit log: each left ``None`` is not filtered on. ``start`` and
    ``end`` are whole days in ``timezone`` (the organization's), both included."""

    user_id: int | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: int | None = None
    start: date | None = None
    end: date | None = None
    timezone: str = "UTC"

    def apply(self, query: Select) -> Select:
        if self.user_id is not None:
            query = query.where(AuditEvent.user_id == self.user_id)
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        if self.object_type:
            query = query.where(AuditEvent.object_type == self.object_type)
        if self.object_id is not None:
            query = query.where(AuditEvent.object_id == self.object_id)
        zone = ZoneInfo(self.timezone)
        if self.start:
            query = query.where(AuditEvent.at >= datetime.combine(self.start, time(), zone))
        if self.end:
            query = query.where(AuditEvent.at < datetime.combine(self.end + timedelta(days=1), time(), zone))
        return query


def recent_events(page: int, per_page: int = 50,
                  where: EventFilter = EventFilter()) -> tuple[list[AuditEvent], int]:
    """A page of the events ``where`` lets through, newest first, and their count (two queries)."""
    query = where.apply(select(AuditEvent)).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    one_page, total = paged(query, page, per_page)
    return list(db.session.scalars(one_page.options(joinedload(AuditEvent.user)))), total


def recorded_kinds() -> tuple[list[str], list[str]]:
    """The actions and the kinds of record the log holds, for its filters (two index scans)."""
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    kinds = db.session.scalars(select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type))
    return list(actions), list(kinds)


# --- what changed ----------------------------------------------------------------------

def audit_value(value: Any) -> Any:
    """``value`` as the audit log stores it (JSON): enums by value, dates in ISO form, lists sorted."""
    import enum
    from datetime import date, datetime

    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return sorted((audit_value(v) for v in value), key=lambda v: (v is None, str(v)))
    return value


def snapshot(obj: Any, fields: Iterable[str], **extra: Any) -> dict[str, Any]:
    """The values of ``fields`` of ``obj`` (and the ``extra`` ones given, such as lists of ids) as
    ``audit_value`` keeps them: take one before a change and one after, and ``record_changes``."""
    values = {name: audit_value(getattr(obj, name)) for name in fields}
    values.update({name: audit_value(value) for name, value in extra.items()})
    return values


def column_names(obj: Any, *, leave_out: Iterable[str] = ("id",)) -> list[str]:
    """Every column attribute of a mapped ``obj`` but ``leave_out``: what an edit may change."""
    from sqlalchemy import inspect

    skip = set(leave_out)
    return [attr.key for attr in inspect(obj).mapper.column_attrs if attr.key not in skip]


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: {"old": ..., "new": ...}}`` for each field whose value differs."""
    return {
        key: {"old": before.get(key), "new": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def record_changes(
    actor: User | None,
    obj: Any,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    action: str = "update",
    summary: str = "",
    object_type: str | None = None,
    extra: dict[str, Any] | None = None,
    sensitive: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """Record the fields of ``obj`` that changed between two snapshots, old and new values,
    and hand the changes back; records nothing, and returns ``{}``, when nothing changed (a form
    saved unchanged leaves no trace and moves no timestamp: callers check the result).

    ``sensitive`` names fields only those who may see sensitive data may read (race/ethnicity,
    organizer notes, what a one-to-one recorded of a person's own words): their old and new
    values are kept, so a wrong edit can be undone by hand, and ``visible_details`` hides them
    from anyone else.
    """
    changed = changes(before, after)
    if changed:
        details: dict[str, Any] = {"changes": changed, **(extra or {})}
        hidden = sorted(set(sensitive) & set(changed))
        if hidden:
            details["sensitive"] = hidden
        record(actor, action, obj, details, object_type=object_type, summary=summary)
    return changed


def visible_details(event: AuditEvent, viewer: User) -> dict[str, Any]:
    """The event's details as ``viewer`` may read them: sensitive values hidden from anyone who
    may not see sensitive data (only the fact that they changed stays)."""
    details = dict(event.details or {})
    if getattr(viewer, "can_see_sensitive", False) or "changes" not in details:
        return details
    hidden = set(details.get("sensitive", ()))
    details["changes"] = {
        key: ({"old": "…", "new": "…"} if key in hidden else value) for key, value in details["changes"].items()
    }
    return details
