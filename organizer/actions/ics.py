"""An action as an iCalendar file (RFC 5545), for people to put it in their own calendar.

Written by hand rather than with a library: one event with a handful of properties is a small
text format, and the rules that matter (escaping, folding at 75 octets, CRLF) are below.
Times are written in UTC (``...Z``), which every calendar converts to the reader's own zone,
so no VTIMEZONE block is needed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from organizer.actions.models import Action
from organizer.db import utcnow

PRODID = "-//Organizer//Actions//EN"


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never inside a multi-byte character."""
    out: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75  # a continuation line starts with one space
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _utc(value: datetime) -> str:
    if value.tzinfo is None:  # stored naive UTC on some databases
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def sequence_of(action: Action) -> int:
    """SEQUENCE grows whenever the action is saved: seconds from creation to the last change.

    Derived from ``updated_at`` so no counter column is needed; it never goes down.
    """
    created, updated = action.created_at, action.updated_at
    if created is None or updated is None:
        return 0
    return max(int((updated - created).total_seconds()), 0)


def action_ics(action: Action, *, host: str, url: str, now: datetime | None = None) -> str:
    """The VCALENDAR text for ``action``; ``host`` makes the UID (``action-<id>@<host>``),
    ``url`` is the page the event links back to."""
    description = action.description or ""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:action-{action.id}@{host}",
        f"DTSTAMP:{_utc(now or utcnow())}",
        f"DTSTART:{_utc(action.starts_at)}",
        f"DTEND:{_utc(action.ends_at)}",
        f"SEQUENCE:{sequence_of(action)}",
        f"LAST-MODIFIED:{_utc(action.updated_at or action.created_at or utcnow())}",
        f"SUMMARY:{escape_text(action.title)}",
        f"LOCATION:{escape_text(action.location or '')}",
        f"DESCRIPTION:{escape_text(description)}",
        f"URL:{url}",
        "STATUS:CONFIRMED",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)
