"""Counts for the home page, scoped to what the user may see."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from organizer.auth.models import User
from organizer.db import utcnow
from organizer.extensions import db
from organizer.institutions.models import Institution
from organizer.people.services import visible_people


def home_counts(user: User) -> dict[str, int]:
    """People the user can see (all, new this month), and institutions (two queries)."""
    month_ago = utcnow() - timedelta(days=30)
    people = visible_people(user).subquery()
    total, recent = db.session.execute(
        select(func.count(), func.count().filter(people.c.created_at >= month_ago)).select_from(people)
    ).one()
    institutions = db.session.scalar(
        select(func.count()).select_from(Institution).where(Institution.archived_at.is_(None))
    )
    return {"people": total, "people_new": recent or 0, "institutions": institutions or 0}

