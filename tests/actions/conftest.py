"""Fixtures for actions: an action factory and helpers to add RSVPs and attendance directly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from organizer.db import utcnow
from organizer.extensions import db


@pytest.fixture
def make_action(app):
    """``make_action(days=7, **overrides)``: an action starting ``days`` from now (negative: past)."""
    from organizer.actions.models import Action, ActionType

    def make(days: float = 7, **overrides: Any) -> Action:
        starts = overrides.pop("starts_at", utcnow() + timedelta(days=days))
        action = Action(
            title=overrides.pop("title", "Hearing on the bus"), type=overrides.pop("type", ActionType.HEARING),
            starts_at=starts, ends_at=overrides.pop("ends_at", starts + timedelta(hours=2)),
            timezone=overrides.pop("timezone", "America/Chicago"), turnout_goal=overrides.pop("turnout_goal", 50),
            **overrides,
        )
        with app.app_context():
            db.session.add(action)
            db.session.commit()
            db.session.refresh(action)
            db.session.expunge(action)
        return action

    return make


@pytest.fixture
def add_rsvp(app):
    """``add_rsvp(action, person, "yes", came=False, recruited_by=None)``: straight into the database."""
    from organizer.actions.models import Attendance, Rsvp, RsvpSource, RsvpStatus

    def add(action, person, status: str = "yes", *, came: bool = False, recruited_by=None) -> None:
        with app.app_context():
            db.session.add(Rsvp(action_id=action.id, person_id=person.id, status=RsvpStatus(status),
                                source=RsvpSource.ORGANIZER, recruited_by_id=recruited_by.id if recruited_by else None))
            if came:
                db.session.add(Attendance(action_id=action.id, person_id=person.id, walk_in=status != "yes"))
            db.session.commit()

    return add
