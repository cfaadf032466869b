"""Recording and reading audit events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
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


def recent_events(page: int, per_page: int = 50) -> tuple[list[AuditEvent], int]:
    """A page of events, newest first, and the total count (two queries)."""
    one_page, total = paged(select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()), page, per_page)
    return list(db.session.scalars(one_page.options(joinedload(AuditEvent.user)))), total
