"""Search across areas by name, accents and case aside, with each area's access rules.

People are matched in SQL on their folded ``search_key`` (kept on every save and filled by the
bulk import's Core inserts) and scoped by ``people_visible_to``: a leader finds only their own
people. Institutions, campaigns and actions are shared with every signed-in user; they are a
few hundred rows, so their names (id and name only) are folded and matched in Python, which
gives the same accent- and case-blind answer on SQLite and PostgreSQL without another column.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from sqlalchemy import select

from organizer.actions.models import Action
from organizer.auth.models import User
from organizer.campaigns.models import Campaign
from organizer.extensions import db
from organizer.institutions.models import Institution
from organizer.people.models import fold
from organizer.people.services import PersonFilters, search_people

KINDS = ("people", "institutions", "campaigns", "actions")
#: Shortest query worth answering: one letter would list half the federation.
MIN_QUERY = 2


@dataclass(frozen=True)
class Hit:
    kind: str
    id: int
    label: str
    url: str


def search_all(user: User, q: str, *, per_kind: int = 20) -> dict[str, list[Hit]]:
    """What ``user`` may see whose name matches every word of ``q`` (any order), per kind, at
    most ``per_kind`` each; empty when ``q`` is shorter than ``MIN_QUERY``. Four queries."""
    q = q.strip()
    found: dict[str, list[Hit]] = {kind: [] for kind in KINDS}
    if len(q) < MIN_QUERY:
        return found
    stmt = search_people(user, PersonFilters(q=q)).limit(per_kind)
    found["people"] = [Hit("people", p.id, p.display_name, url_for("people.detail", person_id=p.id))
                       for p in db.session.scalars(stmt)]
    words = fold(q).split()

    def named(rows, kind: str, endpoint: str, arg: str) -> list[Hit]:
        hits = []
        for row_id, name in rows:
            folded = fold(name or "")
            if all(word in folded for word in words):
                hits.append(Hit(kind, row_id, name, url_for(endpoint, **{arg: row_id})))
                if len(hits) >= per_kind:
                    break
        return hits

    found["institutions"] = named(
        db.session.execute(select(Institution.id, Institution.name).where(Institution.archived_at.is_(None)).order_by(Institution.name, Institution.id)),
        "institutions", "institutions.detail", "institution_id")
    found["campaigns"] = named(
        db.session.execute(select(Campaign.id, Campaign.name).where(Campaign.archived_at.is_(None))
                           .order_by(Campaign.name, Campaign.id)),
        "campaigns", "campaigns.detail", "campaign_id")
    found["actions"] = named(
        db.session.execute(select(Action.id, Action.title).where(Action.archived_at.is_(None))
                           .order_by(Action.starts_at.desc(), Action.id.desc())),
        "actions", "actions.detail", "action_id")
    return found
