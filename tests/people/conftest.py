"""Fixtures for the people tests: managed-list entries, memberships, the organization row."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import _save


@pytest.fixture
def make_neighborhood(app):
    from organizer.settings.models import Neighborhood

    return lambda name: _save(app, Neighborhood(name=name))


@pytest.fixture
def make_tag(app):
    from organizer.settings.models import Tag

    return lambda name: _save(app, Tag(name=name))


@pytest.fixture
def add_membership(app):
    """``add_membership(person, institution, role="member")``."""
    from organizer.institutions.models import Membership, MembershipRole

    def add(person: Any, institution: Any, role: str = "member") -> Any:
        return _save(app, Membership(person_id=person.id, institution_id=institution.id, role=MembershipRole(role)))

    return add


@pytest.fixture
def organization(app):
    """``organization(default_phone_region="GB", ...)``: the settings row."""
    from organizer.settings.models import Organization

    def make(**values: Any) -> Any:
        row = {"id": 1, "name": "Test Federation", "timezone": "America/Chicago", "default_phone_region": "US",
               "sms_help_text": "", "going_cold_days": 90, **values}
        return _save(app, Organization(**row))

    return make


def person_in_db(app, person_id):
    """The stored person (detached) with tags, memberships and race/ethnicity loaded."""
    from sqlalchemy.orm import selectinload

    from organizer.extensions import db
    from organizer.people.models import Person

    with app.app_context():
        person = db.session.get(Person, person_id, options=[
            selectinload(Person.tags), selectinload(Person.memberships), selectinload(Person.race_ethnicities)])
        if person is not None:
            db.session.expunge(person)
        return person
