"""Rules for campaigns and the power map: targets, positions over time, relationships, reach.

Relationships name our people; lists of them go through ``people_visible_to`` (a leader sees
their own people by name and the others only as a count).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.exceptions import NotFound

from organizer.audit.services import record, record_changes, snapshot
from organizer.auth.models import User
from organizer.campaigns.models import (
    DIRECTED_TIES,
    Campaign,
    CampaignStatus,
    CampaignTarget,
    Position,
    PositionChange,
    RelationshipKind,
    Target,
    TargetRelationship,
    TargetTie,
    TieKind,
)
from organizer.db import utcnow
from organizer.extensions import db
from organizer.institutions.models import Institution
from organizer.people.models import Person
from organizer.people.services import can_see_person, people_visible_to
from organizer.relational.models import Stage


class CampaignError(ValueError):
    """A change that breaks a rule (end before start, target already on the map, influence out of range)."""


# --- campaigns --------------------------------------------------------------------------


@dataclass
class CampaignData:
    name: str
    issue: str = ""
    goal: str | None = None
    status: CampaignStatus = CampaignStatus.RESEARCH
    starts_on: date | None = None
    ends_on: date | None = None
    lead_organizer_id: int | None = None
    institution_ids: list[int] = field(default_factory=list)
    notes: str | None = None


def list_campaigns() -> list[tuple[Campaign, int]]:
    """Campaigns (active first) with how many actions each has (one query, plus lead organizers)."""
    from organizer.actions.models import Action

    count = (select(func.count()).where(Action.campaign_id == Campaign.id, Action.archived_at.is_(None))
             .correlate(Campaign).scalar_subquery())
    stmt = select(Campaign, count).where(Campaign.archived_at.is_(None)).options(joinedload(Campaign.lead_organizer))
    order = [CampaignStatus.ACTIVE, CampaignStatus.RESEARCH, CampaignStatus.PAUSED, CampaignStatus.WON,
             CampaignStatus.LOST]
    rows = db.session.execute(stmt.order_by(Campaign.name)).all()
    return sorted(((c, n) for c, n in rows), key=lambda row: order.index(row[0].status))


def active_campaigns() -> list[Campaign]:
    """Campaigns an action may belong to (not archived, not finished), by name."""
    return list(db.session.scalars(
        select(Campaign).where(Campaign.archived_at.is_(None)).order_by(Campaign.name)
    ))


def get_campaign(campaign_id: int) -> Campaign:
    """The campaign with its lead organizer and institutions.

    :raise NotFound: when there is none.
    """
    campaign = db.session.scalar(
        select(Campaign).where(Campaign.id == campaign_id)
        .options(joinedload(Campaign.lead_organizer), selectinload(Campaign.institutions))
    )
    if campaign is None:
        raise NotFound()
    return campaign


def save_campaign(campaign: Campaign | None, data: CampaignData, actor: User) -> Campaign:
    """Create (``campaign`` None) or change a campaign; the caller commits.

    :raise CampaignError: when the end date is before the start date.
    """
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        raise CampaignError(_("The campaign cannot end before it starts."))
    creating = campaign is None
    if campaign is None:
        campaign = Campaign()
        db.session.add(campaign)
    before = _campaign_snapshot(campaign)
    campaign.name = data.name.strip()
    campaign.issue = (data.issue or "").strip()
    campaign.goal = (data.goal or "").strip() or None
    campaign.status = data.status
    campaign.starts_on, campaign.ends_on = data.starts_on, data.ends_on
    campaign.lead_organizer_id = data.lead_organizer_id or None
    campaign.notes = (data.notes or "").strip() or None
    campaign.institutions = (
        list(db.session.scalars(select(Institution).where(Institution.id.in_(data.institution_ids))))
        if data.institution_ids else []
    )
    db.session.flush()
    if creating:
        record(actor, "create", campaign, {"status": campaign.status.value})
    else:
        record_changes(actor, campaign, before, _campaign_snapshot(campaign))
    return campaign


def _campaign_snapshot(campaign: Campaign) -> dict[str, object]:
    return snapshot(campaign, ("name", "issue", "goal", "status", "starts_on", "ends_on", "lead_organizer_id", "notes"),
                    institutions=[i.id for i in campaign.institutions])


# --- targets and positions --------------------------------------------------------------


@dataclass
class TargetData:
    name: str
    title: str = ""
    body: str = ""
    contact: str | None = None
    notes: str | None = None


def get_target(target_id: int) -> Target:
    """A target with its campaigns (and their position history) loaded.

    :raise NotFound: when there is none.
    """
    target = db.session.scalar(
        select(Target).where(Target.id == target_id).options(
            selectinload(Target.campaigns).joinedload(CampaignTarget.campaign),
            selectinload(Target.campaigns).selectinload(CampaignTarget.history).joinedload(PositionChange.changed_by),
        )
    )
    if target is None:
        raise NotFound()
    return target


def save_target(target: Target | None, data: TargetData, actor: User) -> Target:
    """Create or change a decision-maker's details; the caller commits."""
    creating = target is None
    if target is None:
        target = Target()
        db.session.add(target)
    before = snapshot(target, TARGET_FIELDS)
    target.name = data.name.strip()
    target.title = (data.title or "").strip()
    target.body = (data.body or "").strip()
    target.contact = (data.contact or "").strip() or None
    target.notes = (data.notes or "").strip() or None
    db.session.flush()
    if creating:
        record(actor, "create", target)
    else:
        record_changes(actor, target, before, snapshot(target, TARGET_FIELDS))
    return target


TARGET_FIELDS = ("name", "title", "body", "contact", "notes")


def put_on_map(campaign: Campaign, target: Target, position: Position, influence: int, actor: User,
               note: str | None = None) -> CampaignTarget:
    """Add a target to a campaign's power map, starting its position history.

    :raise CampaignError: when the target is already on this map or influence is not 1 to 5.
    """
    _check_influence(influence)
    if db.session.scalar(select(CampaignTarget.id).where(
            CampaignTarget.campaign_id == campaign.id, CampaignTarget.target_id == target.id)):
        raise CampaignError(_("This target is already on the campaign's power map."))
    link = CampaignTarget(campaign_id=campaign.id, target_id=target.id, position=position, influence=influence)
    link.history.append(PositionChange(previous=None, position=position, note=(note or "").strip() or None,
                                       changed_by_id=actor.id))
    db.session.add(link)
    db.session.flush()
    record(actor, "power_map_add", campaign, {"target_id": target.id, "position": position.value,
                                              "influence": influence})
    return link


def get_campaign_target(campaign: Campaign, link_id: int) -> CampaignTarget:
    """One target on ``campaign``'s map.

    :raise NotFound: when ``link_id`` is not on this campaign's map.
    """
    link = db.session.get(CampaignTarget, link_id)
    if link is None or link.campaign_id != campaign.id:
        raise NotFound()
    return link


def set_position(link: CampaignTarget, position: Position, influence: int, actor: User,
                 note: str | None = None, when: date | None = None) -> PositionChange | None:
    """Change a target's position and influence on a campaign; a new position is kept in the history.

    Returns the history entry, or ``None`` when only the influence changed.
    :raise CampaignError: when influence is not 1 to 5.
    """
    _check_influence(influence)
    change = None
    before = snapshot(link, ["position", "influence"])
    if position != link.position:
        change = PositionChange(previous=link.position, position=position, note=(note or "").strip() or None,
                                changed_by_id=actor.id, changed_at=utcnow())
        link.history.append(change)
        link.position = position
    link.influence = influence
    # Saved as it was (same position and influence, no note), nothing is written.
    if record_changes(actor, link.campaign, before, snapshot(link, ["position", "influence"]), action="position",
                      extra={"target_id": link.target_id, "note": note or ""}):
        link.updated_at = utcnow()
    elif (note or "").strip():
        record(actor, "position", link.campaign, {"target_id": link.target_id, "note": note.strip()})
    return change


def _check_influence(influence: int) -> None:
    if not 1 <= influence <= 5:
        raise CampaignError(_("Influence goes from 1 to 5."))


def all_targets() -> list[Target]:
    return list(db.session.scalars(select(Target).order_by(Target.name)))


# --- relationships and reach ------------------------------------------------------------


def add_relationship(target: Target, kind: RelationshipKind, actor: User, *, person: Person | None = None,
                     institution: Institution | None = None, note: str | None = None) -> TargetRelationship:
    """Record that one of our people (loaded through ``get_visible_person``) or institutions knows a target.

    :raise CampaignError: unless exactly one of ``person`` and ``institution`` is given.
    """
    if (person is None) == (institution is None):
        raise CampaignError(_("A relationship is with one person or one institution."))
    rel = TargetRelationship(target_id=target.id, person_id=person.id if person else None,
                             institution_id=institution.id if institution else None, kind=kind,
                             note=(note or "").strip() or None, created_by_id=actor.id)
    db.session.add(rel)
    db.session.flush()
    record(actor, "relationship", target, {"person_id": rel.person_id, "institution_id": rel.institution_id,
                                           "kind": kind.value})
    return rel


def remove_relationship(target: Target, relationship_id: int, actor: User) -> None:
    """Remove a relationship of ``target``; an id belonging to another target is ignored.

    Leaders may remove only relationships of their own people (the caller passes staff or owner).
    """
    rel = db.session.get(TargetRelationship, relationship_id)
    if rel is None or rel.target_id != target.id:
        return
    if not (actor.is_staff or (rel.person_id and can_see_person(actor, rel.person_id))):
        return
    db.session.delete(rel)
    record(actor, "relationship_removed", target, {"relationship_id": relationship_id})


@dataclass
class Reacher:
    """Somebody of ours who can reach a target; ``person`` is None for an institution."""

    relationship: TargetRelationship
    stage: Stage | None = None
    actions_attended: int = 0

    def sort_key(self) -> tuple:
        """People before institutions; further along the pipeline first, then more actions attended."""
        rel = self.relationship
        name = rel.person.display_name if rel.person else rel.institution.name
        return (rel.person_id is None, -(self.stage.position if self.stage else 0), -self.actions_attended, name)


@dataclass
class MapCard:
    link: CampaignTarget
    reachers: list[Reacher] = field(default_factory=list)  # people the user may see, ranked, and institutions
    people_total: int = 0  # all our people with a relationship, seen or not

    @property
    def hidden(self) -> int:
        return self.people_total - sum(1 for r in self.reachers if r.relationship.person_id)


@dataclass
class PowerMap:
    cards: list[MapCard]
    positions: list[Position] = field(default_factory=lambda: list(Position))
    ties: list[TargetTie] = field(default_factory=list)  # between targets both on this map

    def cell(self, position: Position, influence: int) -> list[MapCard]:
        return [c for c in self.cards if c.link.position == position and c.link.influence == influence]


def _map_cards(campaign: Campaign) -> dict[int, MapCard]:
    links = db.session.scalars(
        select(CampaignTarget).where(CampaignTarget.campaign_id == campaign.id)
        .options(joinedload(CampaignTarget.target)).order_by(CampaignTarget.influence.desc())
    )
    return {link.target_id: MapCard(link) for link in links}


def power_map(campaign: Campaign, user: User) -> PowerMap:
    """The campaign's targets with who can reach each, ranked (a fixed number of queries whatever the size)."""
    cards = _map_cards(campaign)
    for target_id, (reachers, total) in reach_for_targets(list(cards), user).items():
        cards[target_id].reachers, cards[target_id].people_total = reachers, total
    return PowerMap(cards=list(cards.values()), ties=ties_among(list(cards)))


def campaign_targets(campaign: Campaign) -> list[MapCard]:
    """The campaign's targets with how many of our people know each, without who (two queries):
    what the campaign page lists."""
    cards = _map_cards(campaign)
    for target_id, total in reach_totals(list(cards)).items():
        cards[target_id].people_total = total
    return list(cards.values())


def reach_totals(target_ids: list[int]) -> dict[int, int]:
    """How many of our people (all of them, seen or not) know each target."""
    if not target_ids:
        return {}
    return dict(db.session.execute(
        select(TargetRelationship.target_id, func.count(func.distinct(TargetRelationship.person_id)))
        .where(TargetRelationship.target_id.in_(target_ids), TargetRelationship.person_id.is_not(None))
        .group_by(TargetRelationship.target_id)
    ).all())


def reach_for_targets(target_ids: list[int], user: User) -> dict[int, tuple[list[Reacher], int]]:
    """For each target: our people the user may see and our institutions who know them, ranked by
    pipeline stage then actions attended, and the count of all our people who do (six queries)."""
    from organizer.actions.services import attendance_counts
    from organizer.relational.services import current_stages

    result: dict[int, tuple[list[Reacher], int]] = {t: ([], 0) for t in target_ids}
    if not target_ids:
        return result
    totals = reach_totals(target_ids)
    rels = list(db.session.scalars(
        select(TargetRelationship)
        .outerjoin(Person, Person.id == TargetRelationship.person_id)
        .where(TargetRelationship.target_id.in_(target_ids),
               (TargetRelationship.person_id.is_(None)) | people_visible_to(user))
        .options(joinedload(TargetRelationship.person), joinedload(TargetRelationship.institution))
    ))
    person_ids = {r.person_id for r in rels if r.person_id}
    stages, attended = current_stages(person_ids), attendance_counts(person_ids)
    grouped: dict[int, list[Reacher]] = defaultdict(list)
    for rel in rels:
        grouped[rel.target_id].append(Reacher(rel, stages.get(rel.person_id), attended.get(rel.person_id, 0)))
    for target_id in target_ids:
        result[target_id] = (sorted(grouped[target_id], key=Reacher.sort_key), totals.get(target_id, 0))
    return result


# --- relationships between targets -----------------------------------------------------

#: A tie that is no way in: nobody asks a political rival to carry our word.
NOT_A_CHANNEL = frozenset({TieKind.RIVAL})
#: How we reach a decision-maker: our person knows a target (one hop), who knows another... at most three.
MAX_HOPS = 3


def add_tie(target: Target, other: Target, kind: TieKind, actor: User, *, outgoing: bool = True,
            strength: int = 2, note: str | None = None) -> TargetTie:
    """Record a relationship between two targets: ``target`` → ``other`` (``outgoing``) or the
    other way, which matters only for directed kinds (A appointed B); audited on ``target``.

    :raise CampaignError: for a target with itself, a strength not 1 to 3, two targets on no
        common campaign map, or the same relationship again.
    """
    if target.id == other.id:
        raise CampaignError(_("A target cannot have a relationship with themselves."))
    if not 1 <= strength <= 3:
        raise CampaignError(_("Strength goes from 1 to 3."))
    if other.id not in {t.id for t in targets_sharing_a_campaign(target)}:
        raise CampaignError(_("Both targets must be on the same campaign's power map."))
    source, dest = (target, other) if outgoing else (other, target)
    if kind not in DIRECTED_TIES and source.id > dest.id:
        source, dest = dest, source  # one row for a tie that reads the same both ways
    if db.session.scalar(select(TargetTie.id).where(TargetTie.from_target_id == source.id,
                                                    TargetTie.to_target_id == dest.id, TargetTie.kind == kind)):
        raise CampaignError(_("This relationship is already recorded."))
    tie = TargetTie(from_target_id=source.id, to_target_id=dest.id, kind=kind, strength=strength,
                    note=(note or "").strip() or None, created_by_id=actor.id)
    db.session.add(tie)
    db.session.flush()
    record(actor, "tie", target, {"tie_id": tie.id, "from_target_id": source.id, "to_target_id": dest.id,
                                  "kind": kind.value, "strength": strength})
    return tie


def remove_tie(target: Target, tie_id: int, actor: User) -> bool:
    """Remove a relationship of ``target`` with another target; audited on ``target``.

    Returns False when it is already gone (a second press of the button).
    :raise NotFound: when the relationship is between two other targets.
    """
    tie = db.session.get(TargetTie, tie_id)
    if tie is None:
        return False
    if target.id not in (tie.from_target_id, tie.to_target_id):
        raise NotFound()
    record(actor, "tie_removed", target, {"tie_id": tie.id, "from_target_id": tie.from_target_id,
                                          "to_target_id": tie.to_target_id, "kind": tie.kind.value,
                                          "strength": tie.strength})
    db.session.delete(tie)
    return True


def targets_sharing_a_campaign(target: Target) -> list[Target]:
    """The other targets on any power map ``target`` is on: those it may be tied to (one query)."""
    mine = select(CampaignTarget.campaign_id).where(CampaignTarget.target_id == target.id)
    return list(db.session.scalars(
        select(Target).join(CampaignTarget, CampaignTarget.target_id == Target.id)
        .where(CampaignTarget.campaign_id.in_(mine), Target.id != target.id).distinct().order_by(Target.name)
    ))


def ties_of(target: Target) -> list[TargetTie]:
    """``target``'s relationships with other targets, both ends loaded (one query)."""
    return list(db.session.scalars(
        select(TargetTie).where((TargetTie.from_target_id == target.id) | (TargetTie.to_target_id == target.id))
        .options(joinedload(TargetTie.from_target), joinedload(TargetTie.to_target)).order_by(TargetTie.id)
    ))


def ties_among(target_ids: list[int]) -> list[TargetTie]:
    """Relationships whose two targets are both among ``target_ids`` (a power map's), ends loaded."""
    if not target_ids:
        return []
    return list(db.session.scalars(
        select(TargetTie).where(TargetTie.from_target_id.in_(target_ids), TargetTie.to_target_id.in_(target_ids))
        .options(joinedload(TargetTie.from_target), joinedload(TargetTie.to_target)).order_by(TargetTie.id)
    ))


@dataclass
class Step:
    """One tie walked toward the decision-maker: from ``start`` to ``end`` (target ids)."""

    tie: TargetTie
    start: int
    end: int

    @property
    def forward(self) -> bool:
        """Whether the tie reads in the walking direction (``start`` donates to ``end``)."""
        return self.tie.from_target_id == self.start


@dataclass
class ReachPath:
    """Our person (or institution) → the target they know → ... → the decision-maker."""

    reacher: Reacher
    steps: list[Step]
    strength: int  # the weakest tie on the way; 3 when they know the decision-maker directly

    @property
    def hops(self) -> int:
        return 1 + len(self.steps)

    def sort_key(self) -> tuple:
        """Fewest hops, then the strongest weakest tie, then as ``Reacher`` ranks (stage, actions)."""
        return (self.hops, -self.strength, *self.reacher.sort_key())


@dataclass
class ReachPaths:
    paths: list[ReachPath]  # one per person the user may see (and institution), best first
    targets: dict[int, Target]  # every target named in a path
    hidden: int = 0  # our people outside the user's list who have a path too


def _chains_to(decision_maker_id: int, ties: list[TargetTie]) -> dict[int, tuple[list[Step], int]]:
    """Breadth first from the decision-maker over the ties (either way, rivals aside): for each
    target within ``MAX_HOPS - 1`` ties, its shortest chain of steps to them and that chain's
    weakest strength, keeping the strongest among equally short chains."""
    adjacent: dict[int, list[TargetTie]] = defaultdict(list)
    for tie in ties:
        if tie.kind not in NOT_A_CHANNEL:
            adjacent[tie.from_target_id].append(tie)
            adjacent[tie.to_target_id].append(tie)
    best: dict[int, tuple[list[Step], int]] = {decision_maker_id: ([], 3)}
    layer = [decision_maker_id]
    for _depth in range(MAX_HOPS - 1):
        found: dict[int, tuple[list[Step], int]] = {}
        for node in layer:
            chain, strength = best[node]
            for tie in adjacent[node]:
                nearer = tie.other_end(node)
                if nearer in best:
                    continue  # already reached by a shorter chain
                candidate = ([Step(tie, nearer, node), *chain], min(strength, tie.strength))
                if nearer not in found or candidate[1] > found[nearer][1]:
                    found[nearer] = candidate
        best.update(found)
        layer = sorted(found)
    return best


def paths_to(decision_maker: Target, user: User) -> ReachPaths:
    """How our people and institutions reach ``decision_maker``: directly, or through the targets
    they know and those targets' relationships, at most ``MAX_HOPS`` hops; each person's best
    path, ranked by hops, then tie strength, then pipeline stage and actions attended. A leader
    gets only their own people's paths by name, the others as a count. A fixed number of queries:
    the ties are loaded once and walked in Python."""
    ties = list(db.session.scalars(select(TargetTie).order_by(TargetTie.id)))
    chains = _chains_to(decision_maker.id, ties)
    targets = {t.id: t for t in db.session.scalars(select(Target).where(Target.id.in_(chains)))}
    everyone = set(db.session.scalars(
        select(TargetRelationship.person_id).where(TargetRelationship.target_id.in_(chains),
                                                   TargetRelationship.person_id.is_not(None)).distinct()
    ))
    best: dict[tuple[str, int], ReachPath] = {}
    for target_id, (reachers, _total) in reach_for_targets(sorted(chains), user).items():
        steps, strength = chains[target_id]
        for reacher in reachers:
            rel = reacher.relationship
            key = ("person", rel.person_id) if rel.person_id else ("institution", rel.institution_id)
            path = ReachPath(reacher, steps, strength)
            if key not in best or path.sort_key() < best[key].sort_key():
                best[key] = path
    seen = {person_id for kind, person_id in best if kind == "person"}
    return ReachPaths(paths=sorted(best.values(), key=ReachPath.sort_key), targets=targets,
                      hidden=len(everyone - seen))
