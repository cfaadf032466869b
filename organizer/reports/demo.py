"""Demo data for reports: neighborhoods' populations by race/ethnicity, two community indicators
with five years of data points on the Route 9 campaign, a win, and targets for its measures.

The populations are made up (labelled so), shaped so that the dashboard has something to say:
Albany Park is a larger share of the base than of the neighborhoods' population, and few of
its people have become leaders: the other neighborhoods' emerging leaders who led the Route 9
turnout are promoted to Leader here, Albany Park's only up to six.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import select

from organizer.campaigns.models import Campaign
from organizer.demo import DemoContext, step
from organizer.db import utcnow
from organizer.extensions import db
from organizer.relational.models import PersonPipeline, StageMove
from organizer.relational.services import stages
from organizer.reports.models import CampaignWin, CommunityIndicator, IndicatorPoint, MeasureTarget, NeighborhoodPopulation

SOURCE = "Demo figures (made up, shaped like census tables)"
# Neighborhood: total, then residents by group (alone or in combination).
POPULATIONS = {
    "Pilsen": (34000, {"hispanic_latino": 26500, "white": 5200, "black_african_american": 1100, "asian": 900}),
    "Little Village": (30000, {"hispanic_latino": 25600, "black_african_american": 2900, "white": 1200,
                               "asian": 300}),
    "Bronzeville": (29000, {"black_african_american": 21500, "white": 4000, "hispanic_latino": 1700,
                            "asian": 1500}),
    "Albany Park": (51000, {"hispanic_latino": 19000, "white": 15000, "asian": 9500,
                            "middle_eastern_north_african": 4500, "black_african_american": 2500}),
    "Uptown": (57000, {"white": 28000, "black_african_american": 11500, "asian": 8500, "hispanic_latino": 7500,
                       "middle_eastern_north_african": 900}),
    "South Shore": (53000, {"black_african_american": 48500, "white": 1900, "hispanic_latino": 1700}),
}
CAMPAIGN = "Fix the Route 9 bus"
UNDER_LED = "Albany Park"
LEADERS_WANTED = 12  # per neighborhood
UNDER_LED_LEADERS = 6


def _promote_leaders(ctx: DemoContext) -> None:
    """Emerging leaders (then prospects) become Leaders, neighborhood by neighborhood, Albany Park the least."""
    all_stages = stages()
    if len(all_stages) < 4:
        return
    prospect, emerging, leader = all_stages[1], all_stages[2], all_stages[3]
    pipeline = {pp.person_id: pp for pp in db.session.scalars(select(PersonPipeline))}
    positions = {s.id: s.position for s in all_stages}
    leaders = Counter(p.neighborhood.name for p in ctx.people if p.neighborhood is not None and p.id in pipeline
                      and positions[pipeline[p.id].stage_id] >= leader.position)
    for stage in (emerging, prospect):
        for person in sorted(ctx.people, key=lambda p: p.id):
            row = pipeline.get(person.id)
            if row is None or row.stage_id != stage.id or person.neighborhood is None:
                continue
            name = person.neighborhood.name
            if leaders[name] >= (UNDER_LED_LEADERS if name == UNDER_LED else LEADERS_WANTED):
                continue
            _move(ctx, row, stage, leader)
            leaders[name] += 1
    _no_small_leader_stages(ctx, all_stages, pipeline)


def _no_small_leader_stages(ctx: DemoContext, all_stages: list, pipeline: dict) -> None:
    """Outside Albany Park, a neighborhood's emerging leaders (1 to 4 left) become Leaders, and
    Leaders become Core leaders until there are five (where there are 1 to 4): counts of 1 to 4
    are hidden on the dashboard, and with them, to keep them from being worked out, the
    neighborhoods' leaders, which is what the demo is there to show."""
    if len(all_stages) < 5:
        return
    emerging, leader, core = all_stages[2], all_stages[3], all_stages[4]
    for neighborhood in ctx.neighborhoods:
        if neighborhood.name == UNDER_LED:
            continue
        people = sorted((p for p in ctx.people if p.neighborhood is neighborhood and p.id in pipeline),
                        key=lambda p: p.id)
        at = {stage.id: [p for p in people if pipeline[p.id].stage_id == stage.id]
              for stage in (emerging, leader, core)}
        moves = at[emerging.id] if 0 < len(at[emerging.id]) < 5 else []
        moves = [(p, emerging, leader) for p in moves]
        if 0 < len(at[core.id]) < 5:
            moves += [(p, leader, core) for p in at[leader.id][:5 - len(at[core.id])]]
        for person, before, after in moves:
            _move(ctx, pipeline[person.id], before, after)


def _move(ctx: DemoContext, row: PersonPipeline, before, after) -> None:
    """Move the person of pipeline ``row`` from stage ``before`` to ``after``, with its move recorded."""
    when = utcnow() - timedelta(days=ctx.rng.randint(10, 200))
    db.session.add(StageMove(person_id=row.person_id, from_stage_id=before.id, to_stage_id=after.id,
                             moved_at=when, moved_by=ctx.rng.choice(ctx.organizers),
                             reason="Led the Route 9 turnout"))
    row.stage_id, row.entered_at = after.id, when


@step
def reports(ctx: DemoContext) -> None:
    """Neighborhood populations, new leaders, the Route 9 campaign's community indicators, a win and targets."""
    _promote_leaders(ctx)
    by_name = {n.name: n for n in ctx.neighborhoods}
    for name, (total, groups) in POPULATIONS.items():
        rows = [("total", total), *groups.items()]
        db.session.add_all(NeighborhoodPopulation(neighborhood=by_name[name], race_ethnicity=race, population=n,
                                                  source=SOURCE) for race, n in rows)
    campaign = db.session.scalar(select(Campaign).where(Campaign.name == CAMPAIGN))
    if campaign is None or campaign.starts_on is None:
        return
    start = campaign.starts_on
    rng = ctx.rng
    # Evening waits got longer every year until the campaign; since then they have bent down.
    wait = CommunityIndicator(campaign_id=campaign.id, name="Average evening wait for the Route 9 bus, Pilsen to Uptown",
                              unit="minutes", higher_is_better=False, baseline_on=start, target_value=10.0,
                              target_on=start + timedelta(days=730))
    riders = CommunityIndicator(campaign_id=campaign.id, name="Route 9 weekday boardings", unit="thousands",
                                higher_is_better=True, baseline_on=start, target_value=28.0,
                                target_on=start + timedelta(days=730))
    db.session.add_all([wait, riders])
    db.session.flush()
    first = date(start.year - 4, 3, 31)
    day, i = first, 0
    while day <= date.today():
        before = day <= start
        months = i * 6
        wait_value = 12.0 + 0.05 * months if before else 12.0 + 0.05 * ((start - first).days / 30) - 0.12 * (
            (day - start).days / 30)
        rider_value = 27.0 - 0.08 * months if before else 27.0 - 0.08 * ((start - first).days / 30) + 0.1 * (
            (day - start).days / 30)
        db.session.add(IndicatorPoint(indicator_id=wait.id, observed_on=day,
                                      value=round(wait_value + rng.uniform(-0.3, 0.3), 1),
                                      source="Transit Authority on-time report (demo)"))
        db.session.add(IndicatorPoint(indicator_id=riders.id, observed_on=day,
                                      value=round(rider_value + rng.uniform(-0.4, 0.4), 1),
                                      source="Transit Authority ridership data (demo)"))
        i += 1  # every half year: the end of March and of September
        day = date(first.year + i // 2, 9, 30) if i % 2 else date(first.year + i // 2, 3, 31)
    db.session.add(CampaignWin(campaign_id=campaign.id, won_on=start + timedelta(days=120),
                               description="The Transit Authority added two evening runs on Route 9."))
    db.session.add_all([
        MeasureTarget(campaign_id=campaign.id, measure="actions_held", target=6),
        MeasureTarget(campaign_id=campaign.id, measure="show_up_rate", target=0.8),
        MeasureTarget(campaign_id=campaign.id, measure="new_leaders", target=10),
    ])
