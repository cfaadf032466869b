"""Fixtures for the relational area: default stages and issues, and a helper to log meetings."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest


@pytest.fixture
def stage_ids(app) -> dict[str, int]:
    from sqlalchemy import select

    from organizer.extensions import db
    from organizer.relational.models import Stage

    with app.app_context():
        return {s.name: s.id for s in db.session.scalars(select(Stage))}


@pytest.fixture
def log_meeting(app):
    """``log_meeting(actor, person, held_on=..., **fields)``: a one-to-one logged through the service."""
    from organizer.auth.models import User
    from organizer.extensions import db
    from organizer.relational.services import OneToOneData, local_today, log_one_to_one

    def log(actor: Any, person: Any, held_on: date | None = None, **fields: Any) -> int:
        with app.app_context():
            user = db.session.get(User, actor.id)
            one = log_one_to_one(  # today in the federation's zone: a meeting cannot be dated later
                OneToOneData(held_on=held_on or local_today(), person_id=person.id, **fields), user, region="US"
            )
            db.session.commit()
            return one.id

    return log


@pytest.fixture
def move(app):
    """``move(actor, person, stage_id, reason=None)``: a stage move through the service."""
    from organizer.auth.models import User
    from organizer.extensions import db
    from organizer.people.models import Person
    from organizer.relational.models import Stage
    from organizer.relational.services import move_person

    def do(actor: Any, person: Any, stage_id: int, reason: str | None = None):
        with app.app_context():
            move_person(db.session.get(Person, person.id), db.session.get(Stage, stage_id),
                        db.session.get(User, actor.id), reason)
            db.session.commit()

    return do
