"""A person's timeline, filled by whichever areas have events about people.

Areas register a source with ``register_source``; each returns entries for one person
as seen by one user (the source applies its own visibility rules). One query per source,
so a person's page costs a fixed number of queries however long their history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from organizer.auth.models import User
    from organizer.people.models import Person


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime
    kind: str  # e.g. "one_to_one", "stage", "attendance", "created"
    title: str
    detail: str = ""
    url: str | None = None


TimelineSource = Callable[["User", "Person"], list[TimelineEntry]]


def register_source(app: Flask, source: TimelineSource) -> None:
    app.extensions.setdefault("timeline_sources", []).append(source)


def timeline_for(user: User, person: Person) -> list[TimelineEntry]:
    """Every registered source's entries for ``person``, newest first."""
    from flask_babel import gettext as _

    entries = [TimelineEntry(when=person.created_at, kind="created", title=_("Added to Organizer"))]
    for source in current_app.extensions.get("timeline_sources", []):
        entries.extend(source(user, person))
    return sorted(entries, key=lambda e: e.when, reverse=True)
