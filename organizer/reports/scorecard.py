"""Results-based accountability scorecards: one per campaign.

*Population results* are community indicators the campaign works to change, entered with their
sources; each is drawn against the forecast of its baseline ("turning the curve"). *Performance
measures* are computed from the campaign's own data, in the three RBA quadrants: how much did we
do, how well did we do it, is anyone better off. The campaign's people are the members of its
institutions, and everyone who came to one of its actions. Each measure compares the campaign's
period (start to end or today) with a baseline (entered, or else the same measure over an equally
long period just before), and people-measures are split by race/ethnicity and neighborhood with
the same small-cell suppression as the equity dashboard.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l, pgettext
from sqlalchemy import Date, and_, case, cast, distinct, func, literal, or_, select, union_all
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from organizer.actions.models import Action, Attendance, Rsvp, RsvpStatus, TurnoutCommitment
from organizer.audit.services import record
from organizer.auth.models import User
from organizer.campaigns.models import Campaign, campaign_institutions
from organizer.extensions import db
from organizer.institutions.models import Membership
from organizer.people.models import Person, RaceEthnicity
from organizer.relational.models import OneToOne, Stage, StageMove
from organizer.relational.services import stages
from organizer.reports.cache import cached
from organizer.reports.models import CampaignWin, CommunityIndicator, IndicatorPoint, MeasureTarget
from organizer.reports.services import (
    TOTAL,
    EquityQuery,
    Group,
    Period,
    dim_constant,
    group_labels,
    group_sort_key,
    grouped_parts,
    leader_position,
    no_key,
)
from organizer.reports.suppression import Line, hidden_mark, is_primary, suppress
from organizer.settings.services import organization_zone


class ScorecardError(ValueError):
    """A scorecard entry that breaks a rule (a second data point on the same day)."""


@dataclass(frozen=True)
class MeasureDef:
    key: str
    label: object
    quadrant: str  # how_much, how_well, better_off
    rate: bool = False
    by_group: bool = False  # a people-measure, split by race/ethnicity and neighborhood


MEASURES = [
    MeasureDef("one_to_ones", _l("One-to-ones with people in the campaign's institutions"), "how_much"),
    MeasureDef("reached", _l("People reached by one-to-ones"), "how_much", by_group=True),
    MeasureDef("actions_held", _l("Actions held"), "how_much"),
    MeasureDef("turned_out", _l("People turned out"), "how_much", by_group=True),
    MeasureDef("show_up_rate", _l("Show-up rate (RSVPed yes and came)"), "how_well", rate=True),
    MeasureDef("commitments_kept", _l("Turnout commitments kept (institutions and leaders)"), "how_well", rate=True),
    MeasureDef("follow_ups_on_time", _l("Follow-ups done on time"), "how_well", rate=True),
    MeasureDef("moved_up", _l("People who moved up the pipeline"), "better_off", by_group=True),
    MeasureDef("new_leaders", _l("New leaders"), "better_off", by_group=True),
    MeasureDef("wins", _l("Wins recorded"), "better_off"),
]
MEASURE_KEYS = [m.key for m in MEASURES]
QUADRANTS = {
    "how_much": _l("How much did we do?"),
    "how_well": _l("How well did we do it?"),
    "better_off": _l("Is anyone better off?"),
}


@dataclass
class MeasureValue:
    definition: MeasureDef
    current: float | None
    numerator: int | None = None
    denominator: int | None = None
    baseline: float | None = None
    baseline_entered: bool = False
    target: float | None = None
    threshold: int | None = None  # people-measures: a count of 1 to threshold - 1 people is not shown

    @property
    def key(self) -> str:
        return self.definition.key

    @property
    def label(self) -> object:
        return self.definition.label

    @property
    def trend(self) -> str:
        """``up``, ``down``, ``flat`` or ``""`` (no baseline to compare with)."""
        if self.current is None or self.baseline is None:
            return ""
        if abs(self.current - self.baseline) < 1e-9:
            return "flat"
        return "up" if self.current > self.baseline else "down"

    def shown(self, value: float | None, *, entered: bool = False) -> str:
        """``value`` as the page shows it; a count of a few people computed from the data (not a
        figure staff ``entered``) as "<5"."""
        if value is None:
            return "—"
        small = self.threshold is not None and float(value).is_integer() and is_primary(int(value), self.threshold)
        if small and not entered:
            return f"<{self.threshold}"
        if self.definition.rate:
            return f"{100 * value:.0f}%"
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


@dataclass
class IndicatorView:
    indicator: CommunityIndicator
    baseline: IndicatorPoint | None
    latest: IndicatorPoint | None
    forecast_latest: float | None
    turning: bool | None  # better than the forecast at the latest point; None: cannot tell yet
    chart: dict


@dataclass
class Breakdown:
    """People-measures by race/ethnicity or neighborhood, suppressed."""

    title: object
    groups: list[Group]
    measures: list[MeasureDef]
    cells: dict[Hashable, int]
    hidden: set[Hashable]
    threshold: int

    def shown(self, measure: str, key) -> str:
        ref = (measure, key)
        if ref in self.hidden:
            return hidden_mark(self.cells.get(ref, 0), self.threshold)
        return f"{self.cells.get(ref, 0):,}"


@dataclass
class Scorecard:
    campaign: Campaign
    period: Period
    baseline_period: Period
    measures: list[MeasureValue]
    indicators: list[IndicatorView]
    wins: list[CampaignWin]
    breakdowns: list[Breakdown] = field(default_factory=list)

    def quadrant(self, key: str) -> list[MeasureValue]:
        return [m for m in self.measures if m.definition.quadrant == key]


def get_campaign(campaign_id: int) -> Campaign:
    """The campaign with its institutions.

    :raise NotFound: when there is none.
    """
    campaign = db.session.scalar(select(Campaign).where(Campaign.id == campaign_id)
                                 .options(selectinload(Campaign.institutions)))
    if campaign is None:
        raise NotFound()
    return campaign


def campaign_period(campaign: Campaign, today: date) -> Period:
    """From the campaign's start (or creation) to its end, or today while it runs."""
    start = campaign.starts_on or campaign.created_at.date()
    end = min(campaign.ends_on or today, today)
    return Period(min(start, end), end)


# --- performance measures --------------------------------------------------------------------


def _members(campaign_id: int):
    """Person ids of the members of the campaign's institutions."""
    return select(Membership.person_id).join(
        campaign_institutions, campaign_institutions.c.institution_id == Membership.institution_id
    ).where(campaign_institutions.c.campaign_id == campaign_id)


def _campaign_people(campaign_id: int):
    """Person ids of the campaign: members of its institutions, and who came to its actions."""
    members = _members(campaign_id)
    came = select(Attendance.person_id).join(Action, Action.id == Attendance.action_id) \
        .where(Action.campaign_id == campaign_id, Action.archived_at.is_(None))
    return union_all(members, came)


def _sets(campaign: Campaign, period: Period, leader_position: int, first_position: int):
    """``(measure, person_id)`` rows of the people-measures in ``period`` (a UNION ALL)."""
    begin, finish = period.bounds()
    now = datetime.now(UTC)
    members = _members(campaign.id)
    people = _campaign_people(campaign.id)
    reached = select(literal("reached").label("measure"), OneToOne.person_id.label("person_id")) \
        .where(OneToOne.person_id.in_(members), OneToOne.held_on >= period.start, OneToOne.held_on <= period.end)
    turned_out = select(literal("turned_out"), Attendance.person_id).join(Action, Action.id == Attendance.action_id) \
        .where(Action.campaign_id == campaign.id, Action.archived_at.is_(None), Action.starts_at >= begin,
               Action.starts_at < finish, Action.starts_at <= now)
    # The moves up, read once for both measures (each is a probe of the moves per campaign
    # person): a move into the leader stages from below is a move up too.
    to_s, from_s = Stage.__table__.alias("to_s"), Stage.__table__.alias("from_s")
    from_position = func.coalesce(from_s.c.position, first_position)
    ups = select(StageMove.person_id.label("person_id"),
                 case((and_(to_s.c.position >= leader_position, from_position < leader_position), 1), else_=0)
                 .label("to_leader")) \
        .join(to_s, to_s.c.id == StageMove.to_stage_id).outerjoin(from_s, from_s.c.id == StageMove.from_stage_id) \
        .where(StageMove.person_id.in_(people), StageMove.moved_at >= begin, StageMove.moved_at < finish,
               to_s.c.position > from_position).cte("ups")
    moves = select(literal("moved_up"), ups.c.person_id)
    leaders = select(literal("new_leaders"), ups.c.person_id).where(ups.c.to_leader == 1)
    return union_all(reached, turned_out, moves, leaders)


def _done_on(column, zone: ZoneInfo, when: datetime):
    """The calendar day of a timestamp in the federation's time zone (a follow-up done at 8 pm
    on the day it was due is on time, though it is the next day in UTC). PostgreSQL converts
    each timestamp; SQLite knows no time zones, so it shifts them all by the zone's offset at
    ``when`` (an hour off, around midnight, across a change of daylight saving time)."""
    if db.engine.dialect.name == "sqlite":
        minutes = int(when.astimezone(zone).utcoffset().total_seconds() // 60)
        return func.date(column, f"{minutes:+d} minutes")
    return cast(func.timezone(zone.key, column), Date)


def _measures(campaign: Campaign, period: Period, today: date, leader_position: int,
              first_position: int) -> dict[str, tuple[float | None, int | None, int | None]]:
    """Every performance measure over ``period``: ``key: (value, numerator, denominator)`` (five
    queries, or none while the cached answer for the same data version holds)."""
    key = ("scorecard", campaign.id, period, today, period.bounds(), leader_position, first_position)
    return cached(key, lambda: _compute_measures(campaign, period, today, leader_position, first_position), dict)


def _compute_measures(campaign: Campaign, period: Period, today: date, leader_position: int,
                      first_position: int) -> dict[str, tuple[float | None, int | None, int | None]]:
    begin, finish = period.bounds()
    now = datetime.now(UTC)
    members = _members(campaign.id)
    out: dict[str, tuple[float | None, int | None, int | None]] = {}

    # 1. One-to-ones with members; follow-ups due by today and done on time.
    due = and_(OneToOne.follow_up_on.is_not(None), OneToOne.follow_up_on <= today)
    zone = organization_zone()
    on_time = and_(due, OneToOne.follow_up_done_at.is_not(None),
                   _done_on(OneToOne.follow_up_done_at, zone, finish) <= OneToOne.follow_up_on)
    n, n_due, n_on_time = db.session.execute(
        select(func.count(), func.count(case((due, 1))), func.count(case((on_time, 1))))
        .where(OneToOne.person_id.in_(members), OneToOne.held_on >= period.start, OneToOne.held_on <= period.end)
    ).one()
    out["one_to_ones"] = (n, None, None)
    out["follow_ups_on_time"] = (n_on_time / n_due if n_due else None, n_on_time, n_due)

    # 2. Actions held, and the show-up rate of their yes RSVPs.
    held = and_(Action.campaign_id == campaign.id, Action.archived_at.is_(None), Action.starts_at >= begin,
                Action.starts_at < finish, Action.starts_at <= now)
    actions = db.session.scalar(select(func.count()).select_from(Action).where(held)) or 0
    out["actions_held"] = (actions, None, None)
    yes, came = db.session.execute(
        select(func.count(), func.count(Attendance.id)).select_from(Rsvp)
        .join(Action, Action.id == Rsvp.action_id)
        .outerjoin(Attendance, and_(Attendance.action_id == Rsvp.action_id, Attendance.person_id == Rsvp.person_id))
        .where(held, Rsvp.status == RsvpStatus.YES)
    ).one()
    out["show_up_rate"] = (came / yes if yes else None, came, yes)

    # 3. Commitments kept: an institution's members who came, or the people a leader recruited who came,
    # reached the number promised.
    by_institution = select(func.count(distinct(Attendance.person_id))).join(
        Membership, Membership.person_id == Attendance.person_id
    ).where(Attendance.action_id == TurnoutCommitment.action_id,
            Membership.institution_id == TurnoutCommitment.institution_id).scalar_subquery()
    by_leader = select(func.count()).select_from(Attendance).join(
        Rsvp, and_(Rsvp.action_id == Attendance.action_id, Rsvp.person_id == Attendance.person_id)
    ).where(Attendance.action_id == TurnoutCommitment.action_id,
            Rsvp.recruited_by_id == TurnoutCommitment.leader_id).scalar_subquery()
    delivered = case((TurnoutCommitment.institution_id.is_not(None), by_institution), else_=by_leader)
    total, kept = db.session.execute(
        select(func.count(), func.count(case((delivered >= TurnoutCommitment.number, 1))))
        .select_from(TurnoutCommitment).join(Action, Action.id == TurnoutCommitment.action_id)
        .where(held, or_(TurnoutCommitment.institution_id.is_not(None), TurnoutCommitment.leader_id.is_not(None)))
    ).one()
    out["commitments_kept"] = (kept / total if total else None, kept, total)

    # 4. Wins. (The people-measures are counted apart: ``_people_measures``.)
    wins = db.session.scalar(select(func.count()).select_from(CampaignWin).where(
        CampaignWin.campaign_id == campaign.id, CampaignWin.won_on >= period.start, CampaignWin.won_on <= period.end))
    out["wins"] = (wins or 0, None, None)
    return out


PEOPLE_MEASURES = ("reached", "turned_out", "moved_up", "new_leaders")


def _people_measures(campaign: Campaign, period: Period, before: Period, leader_position: int,
                     first_position: int) -> tuple[list[tuple], list[tuple]]:
    """The people-measures as ``(dim, k1, k2, measure, people)`` rows: over the campaign's
    ``period`` with their split by group, and over the ``before`` period (the baseline) alone.
    Two statements, one cache lookup for both (each lookup reads the data version)."""
    key = ("scorecard-people", campaign.id, period, period.bounds(), before, before.bounds(), leader_position,
           first_position)

    def rows(over: Period, by_group: bool) -> list[tuple]:
        statement = _people_statement(campaign, over, leader_position, first_position, by_group=by_group)
        return [tuple(r) for r in db.session.execute(statement)]

    def compute() -> tuple[list[tuple], list[tuple]]:
        return rows(period, True), rows(before, False)

    return cached(key, compute, lambda pair: (list(pair[0]), list(pair[1])))


def _people_statement(campaign: Campaign, period: Period, leader_position: int, first_position: int,
                      *, by_group: bool):
    """The people-measures over ``period`` in one statement that reads the measures' rows once:
    dim ``all`` is each measure's value (every person once); ``by_group`` adds the rows of the
    split by race/ethnicity and by neighborhood (people in the base, as every split counts
    them), without the race-by-neighborhood cells the page never shows."""
    sets = _sets(campaign, period, leader_position, first_position).cte("sets")
    parts = [select(dim_constant("all").label("dim"), no_key().label("k1"), no_key().label("k2"), sets.c.measure,
                    func.count(distinct(sets.c.person_id))).group_by(sets.c.measure)]
    if by_group:
        people = Person.__table__
        # Each (measure, person) once, with the person's split columns. A person has each race
        # once, so a plain count is a count of distinct people.
        source = select(sets.c.measure, sets.c.person_id, people.c.neighborhood_id, people.c.preferred_language) \
            .select_from(sets.join(people, people.c.id == sets.c.person_id)) \
            .where(people.c.archived_at.is_(None)).distinct().cte("campaign_people")
        query = EquityQuery(period, split="race_neighborhood")
        parts += [select(dim, k1, k2, source.c.measure, func.count()).select_from(from_)
                  .group_by(k1, k2, source.c.measure)
                  for from_, dim, k1, k2 in grouped_parts(query, source)[1:]]
    return union_all(*parts)


def _people_values(rows: list[tuple]) -> dict[str, tuple[float | None, int | None, int | None]]:
    counts = {measure: int(n) for dim, _k1, _k2, measure, n in rows if dim == "all"}
    return {key: (counts.get(key, 0), None, None) for key in PEOPLE_MEASURES}


def _breakdowns(rows: list[tuple], period: Period, threshold: int) -> list[Breakdown]:
    """People-measures by race/ethnicity and by neighborhood (``_people_measures`` rows), suppressed."""
    query = EquityQuery(period, split="race_neighborhood", threshold=threshold)
    raw = {(m, (dim, k1, k2)): int(n) for dim, k1, k2, m, n in rows if dim != "all"}
    races, neighborhoods = group_labels(query)
    people_measures = [m for m in MEASURES if m.by_group]
    out = []
    for title, dim, labels, position in ((_l("By race/ethnicity (alone or in combination)"), "race", races, 1),
                                         (_l("By neighborhood"), "nb", neighborhoods, 2)):
        keys = {k for (_m, k) in raw if k[0] == dim}
        if dim == "race":
            keys |= {("race", v.value, None) for v in RaceEthnicity} | {("race", None, None)}
        keys = sorted(keys, key=lambda k: group_sort_key(labels, k[position]))
        groups = [Group(k, labels.get(k[position], k[position] or ""), "group") for k in keys]
        groups.append(Group(TOTAL, str(_l("Total (each person once)")), "total"))
        cells = {(m.key, g.key): raw.get((m.key, g.key), 0) for m in people_measures for g in groups}
        # People of several races count in each (the lines add up to at least the total); the Total,
        # shown in both tables and as the measure's value, is hidden only when small.
        lines = [Line([(m.key, k) for k in keys], (m.key, TOTAL), exact=dim == "nb") for m in people_measures]
        hidden = suppress(cells, lines, threshold, eligible=lambda key: key[1] != TOTAL)
        out.append(Breakdown(title, groups, people_measures, cells, hidden, threshold))
    return out


def _positions() -> tuple[int, int]:
    all_stages = stages()
    return leader_position(all_stages), (all_stages[0].position if all_stages else 0)


def scorecard(campaign: Campaign, today: date, threshold: int) -> Scorecard:
    """The campaign's scorecard; a fixed number of queries whatever the data."""
    period = campaign_period(campaign, today)
    length = (period.end - period.start).days + 1
    before = Period(period.start - timedelta(days=length), period.start - timedelta(days=1))
    leader, first = _positions()
    now_people, before_people = _people_measures(campaign, period, before, leader, first)
    now_values = {**_measures(campaign, period, today, leader, first), **_people_values(now_people)}
    before_values = {**_measures(campaign, before, period.start - timedelta(days=1), leader, first),
                     **_people_values(before_people)}
    targets = {t.measure: t for t in db.session.scalars(select(MeasureTarget).where(
        MeasureTarget.campaign_id == campaign.id))}
    measures = []
    for definition in MEASURES:
        value, num, den = now_values[definition.key]
        entered = targets.get(definition.key)
        baseline = entered.baseline if entered and entered.baseline is not None else before_values[definition.key][0]
        measures.append(MeasureValue(definition, value, num, den, baseline,
                                     baseline_entered=bool(entered and entered.baseline is not None),
                                     target=entered.target if entered else None,
                                     threshold=threshold if definition.by_group else None))
    indicators = [_indicator_view(i) for i in db.session.scalars(
        select(CommunityIndicator).where(CommunityIndicator.campaign_id == campaign.id)
        .order_by(CommunityIndicator.id).options(selectinload(CommunityIndicator.points)))]
    wins = list(db.session.scalars(select(CampaignWin).where(CampaignWin.campaign_id == campaign.id)
                                   .order_by(CampaignWin.won_on.desc(), CampaignWin.id.desc())))
    card = Scorecard(campaign, period, before, measures, indicators, wins)
    card.breakdowns = _breakdowns(now_people, period, threshold)
    return card


# --- population results ----------------------------------------------------------------------


def _fit(points: list[IndicatorPoint]) -> tuple[float, float]:
    """Least-squares line (intercept, slope per day) through the baseline points; flat for one point."""
    xs = [p.observed_on.toordinal() for p in points]
    ys = [p.value for p in points]
    if len(points) < 2 or len(set(xs)) < 2:
        return (ys[-1] if ys else 0.0), 0.0
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    return my - slope * mx, slope


def _indicator_view(indicator: CommunityIndicator) -> IndicatorView:
    """The indicator's history, its baseline's forecast carried forward, and whether the curve turned."""
    points = list(indicator.points)
    if indicator.baseline_on is not None:
        base_points = [p for p in points if p.observed_on <= indicator.baseline_on]
    else:
        base_points = points[:1]
    baseline = base_points[-1] if base_points else None
    latest = points[-1] if points else None
    intercept, slope = _fit(base_points)
    forecast = (lambda d: intercept + slope * d.toordinal()) if base_points else None
    forecast_latest = forecast(latest.observed_on) if forecast and latest and baseline and \
        latest.observed_on > baseline.observed_on else None
    turning = None
    if forecast_latest is not None and latest is not None:
        better = latest.value > forecast_latest if indicator.higher_is_better else latest.value < forecast_latest
        turning = better
    labels = [p.observed_on.isoformat() for p in points]
    datasets = [{"label": str(_l("Actual")), "data": [p.value for p in points]}]
    if forecast and baseline:
        datasets.append({"label": str(_l("Forecast from the baseline")), "borderDash": [6, 4],
                         "data": [round(forecast(p.observed_on), 2) if p.observed_on >= baseline.observed_on else None
                                  for p in points]})
    if indicator.target_value is not None:
        # The value aimed at ("meta"), not a power-analysis target ("blanco"): its own context.
        datasets.append({"label": pgettext("goal", "Target"), "borderDash": [2, 2], "pointRadius": 0,
                         "data": [indicator.target_value for _p in points]})
    chart = {"type": "line", "data": {"labels": labels, "datasets": datasets},
             "options": {"plugins": {"legend": {"position": "bottom"}}}}
    return IndicatorView(indicator, baseline, latest, forecast_latest, turning, chart)


@dataclass
class IndicatorData:
    name: str
    unit: str = ""
    higher_is_better: bool = False
    baseline_on: date | None = None
    target_value: float | None = None
    target_on: date | None = None


def add_indicator(campaign: Campaign, data: IndicatorData, actor: User) -> CommunityIndicator:
    """Add a community indicator to the campaign (audited)."""
    indicator = CommunityIndicator(campaign_id=campaign.id, name=data.name.strip(), unit=data.unit.strip(),
                                   higher_is_better=data.higher_is_better, baseline_on=data.baseline_on,
                                   target_value=data.target_value, target_on=data.target_on)
    db.session.add(indicator)
    db.session.flush()
    record(actor, "create", indicator, {"campaign_id": campaign.id, "name": indicator.name})
    return indicator


def get_indicator(campaign: Campaign, indicator_id: int) -> CommunityIndicator:
    """The campaign's indicator.

    :raise NotFound: when the campaign has none with this id.
    """
    indicator = db.session.get(CommunityIndicator, indicator_id)
    if indicator is None or indicator.campaign_id != campaign.id:
        raise NotFound()
    return indicator


def add_point(indicator: CommunityIndicator, observed_on: date, value: float, source: str,
              actor: User) -> IndicatorPoint:
    """Add a dated value with its source (audited).

    :raise ScorecardError: when the indicator already has a value for that date.
    """
    exists = db.session.scalar(select(IndicatorPoint.id).where(IndicatorPoint.indicator_id == indicator.id,
                                                               IndicatorPoint.observed_on == observed_on))
    if exists is not None:
        raise ScorecardError(str(_l("This indicator already has a value for that date.")))
    point = IndicatorPoint(indicator_id=indicator.id, observed_on=observed_on, value=value, source=source.strip())
    db.session.add(point)
    db.session.flush()
    record(actor, "create", point, {"indicator_id": indicator.id, "observed_on": observed_on.isoformat(),
                                    "value": value, "source": point.source}, summary=indicator.name[:255])
    return point


def add_win(campaign: Campaign, won_on: date, description: str, actor: User) -> CampaignWin:
    """Record a dated win (audited)."""
    win = CampaignWin(campaign_id=campaign.id, won_on=won_on, description=description.strip())
    db.session.add(win)
    db.session.flush()
    record(actor, "create", win, {"campaign_id": campaign.id, "won_on": won_on.isoformat()},
           summary=win.description[:255])
    return win


def set_measure_target(campaign: Campaign, measure: str, baseline: float | None, target: float | None,
                       actor: User) -> bool:
    """Set a performance measure's baseline and target; False when nothing changed (audited otherwise).

    :raise ScorecardError: for an unknown measure.
    """
    if measure not in MEASURE_KEYS:
        raise ScorecardError("unknown measure")
    row = db.session.scalar(select(MeasureTarget).where(MeasureTarget.campaign_id == campaign.id,
                                                        MeasureTarget.measure == measure))
    if row is not None and row.baseline == baseline and row.target == target:
        return False
    if row is None and baseline is None and target is None:
        return False
    before = None if row is None else {"baseline": row.baseline, "target": row.target}
    if row is None:
        row = MeasureTarget(campaign_id=campaign.id, measure=measure)
        db.session.add(row)
    row.baseline, row.target = baseline, target
    db.session.flush()
    record(actor, "update" if before else "create", row, {"measure": measure, "before": before,
                                                          "after": {"baseline": baseline, "target": target}},
           summary=f"{campaign.name}: {measure}"[:255])
    return True
