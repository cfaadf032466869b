"""Demo data: three issue campaigns (transit, wages, housing) with their power maps."""

from __future__ import annotations

from datetime import date, timedelta

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
from organizer.demo import DemoContext, step
from organizer.extensions import db

CAMPAIGNS = [
    ("Fix the Route 9 bus", "Transit", "Restore 10-minute service on the Route 9 Ashland bus and add night runs.",
     CampaignStatus.ACTIVE, 300),
    ("Living wage for city contractors", "Wages",
     "Every worker on a city contract earns at least $20 an hour by next year's budget.", CampaignStatus.ACTIVE, 240),
    ("Stop the Lawrence Avenue evictions", "Housing",
     "A right to counsel in eviction court and a moratorium on the Lawrence Avenue buildings.",
     CampaignStatus.RESEARCH, 120),
]

# name, title, body, contact, {campaign index: (position, influence, earlier position or None)}
TARGETS = [
    ("Rosa Delgado", "Alderperson", "City Council, Ward 25", "ward25@example.gov",
     {0: (Position.ALLY, 4, Position.UNDECIDED), 1: (Position.CHAMPION, 4, Position.ALLY)}),
    ("James Whitfield", "Alderperson", "City Council, Ward 4", "ward4@example.gov",
     {0: (Position.UNDECIDED, 3, None), 1: (Position.OPPONENT, 3, Position.UNDECIDED)}),
    ("Helen Park", "Alderperson", "City Council, Ward 47", "ward47@example.gov",
     {2: (Position.UNDECIDED, 4, None), 1: (Position.ALLY, 3, None)}),
    ("Dorothy Mensah", "Chair", "Transit Authority Board", "board@example-transit.org",
     {0: (Position.OPPONENT, 5, Position.HOSTILE)}),
    ("Victor Lang", "President", "Transit Authority", "president@example-transit.org",
     {0: (Position.UNDECIDED, 5, None)}),
    ("Angela Ruiz", "Chair, Budget Committee", "City Council", "budget@example.gov",
     {1: (Position.UNDECIDED, 5, None)}),
    ("Thomas Greer", "Chief of Staff", "Office of the Mayor", "mayor@example.gov",
     {1: (Position.HOSTILE, 5, None), 2: (Position.OPPONENT, 5, None)}),
    ("Maya Okafor", "Commissioner", "Department of Housing", "housing@example.gov",
     {2: (Position.ALLY, 4, Position.UNDECIDED)}),
    ("Frank Sobczak", "Presiding Judge", "Eviction Court, Circuit Court of Cook County", None,
     {2: (Position.UNDECIDED, 3, None)}),
]

# Who influences whom among them (each pair on a common map): from, kind, to, strength, note.
TIES = [
    ("Dorothy Mensah", TieKind.APPOINTED, "Victor Lang", 3, "The board hired him as president."),
    ("Rosa Delgado", TieKind.FAMILY, "James Whitfield", 2, "Cousins."),
    ("James Whitfield", TieKind.ALLY, "Dorothy Mensah", 1, None),
    ("James Whitfield", TieKind.DONOR, "Angela Ruiz", 2, "Gave to her last two campaigns."),
    ("Thomas Greer", TieKind.ALLY, "Angela Ruiz", 3, None),
    ("Helen Park", TieKind.RIVAL, "Thomas Greer", 2, "Ran against the mayor's slate."),
]


@step
def campaigns(ctx: DemoContext) -> None:
    """Three campaigns, nine decision-makers on their power maps, and who among us knows them."""
    rng = ctx.rng
    today = date.today()
    made = []
    for i, (name, issue, goal, status, days_ago) in enumerate(CAMPAIGNS):
        campaign = Campaign(
            name=name, issue=issue, goal=goal, status=status, starts_on=today - timedelta(days=days_ago),
            lead_organizer=ctx.organizers[i % len(ctx.organizers)],
            institutions=rng.sample(ctx.institutions, k=rng.randint(4, 7)),
            notes="Research meetings with riders and workers under way." if status is CampaignStatus.RESEARCH else None,
        )
        made.append(campaign)
    now = utcnow()
    by_name: dict[str, Target] = {}
    for name, title, body, contact, positions in TARGETS:
        target = by_name[name] = Target(name=name, title=title, body=body, contact=contact)
        for index, (position, influence, earlier) in positions.items():
            link = CampaignTarget(campaign=made[index], target=target, position=position, influence=influence)
            first_at = now - timedelta(days=rng.randint(120, 200))
            if earlier is not None:
                link.history.append(PositionChange(previous=None, position=earlier, changed_at=first_at,
                                                   changed_by=made[index].lead_organizer, note="First research meeting."))
                link.history.append(PositionChange(
                    previous=earlier, position=position, changed_at=now - timedelta(days=rng.randint(5, 90)),
                    changed_by=made[index].lead_organizer,
                    note=rng.choice(["Moved after the accountability session.", "Said so in a one-to-one with our team.",
                                     "Voted against us in committee.", "Signed our pledge card in public."])))
            else:
                link.history.append(PositionChange(previous=None, position=position, changed_at=first_at,
                                                   changed_by=made[index].lead_organizer))
        # Constituents, congregants and acquaintances among our people; a couple of institutions.
        for person in rng.sample(ctx.people, k=rng.randint(2, 9)):
            target.relationships.append(TargetRelationship(
                person=person, kind=rng.choices(list(RelationshipKind), weights=[50, 20, 15, 10, 5])[0]))
        for institution in rng.sample(ctx.institutions, k=rng.randint(0, 2)):
            target.relationships.append(TargetRelationship(institution=institution, kind=RelationshipKind.CONSTITUENT))
        db.session.add(target)
    db.session.add_all(made)
    db.session.flush()
    for source, kind, dest, strength, note in TIES:
        # Stored as add_tie stores them: a tie that reads both ways has the lower id first.
        a, b = by_name[source], by_name[dest]
        if kind not in DIRECTED_TIES and a.id > b.id:
            a, b = b, a
        db.session.add(TargetTie(from_target_id=a.id, to_target_id=b.id, kind=kind, strength=strength, note=note,
                                 created_by_id=made[0].lead_organizer.id))
