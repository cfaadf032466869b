"""The equity dashboard: every measure split by race/ethnicity, neighborhood, institution or
preferred language (or race/ethnicity crossed with neighborhood), with small cells suppressed.

Every count is computed in SQL: one row of *facts* per person in the base (not archived), each
activity table aggregated by person over the period once, then summed with ``GROUP BY`` for
every group the person belongs to and once more for the Total (and, for the crossed split, the
race/ethnicity and neighborhood subtotals), so one query answers every row of the table and
the page costs the same number of queries however many people there are. People who chose several races are in each of their groups
("alone or in combination"), unless the "multiracial as its own group" view is chosen.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import flask
from flask import current_app, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, and_, case, cast, func, literal, literal_column, null, select, union_all

from organizer.actions.models import Action, Attendance, Rsvp, RsvpStatus
from organizer.audit.services import record
from organizer.auth.models import User
from organizer.extensions import db
from organizer.institutions.models import Institution, Membership
from organizer.people.forms import LANGUAGE_CHOICES, RACE_ETHNICITY_LABELS
from organizer.people.models import Person, PersonRaceEthnicity, RaceEthnicity, SmsConsent
from organizer.relational.models import OneToOne, PersonPipeline, Stage, StageMove
from organizer.relational.services import stages
from organizer.reports import maintained
from organizer.reports.models import NeighborhoodPopulation
from organizer.reports.suppression import DEFAULT_THRESHOLD, Line, hidden_mark, suppress
from organizer.settings.models import Neighborhood
from organizer.settings.services import organization_zone
from organizer.sms.models import InboundMessage, OutboxMessage

SPLITS = {
    "race": _l("Race/ethnicity"),
    "neighborhood": _l("Neighborhood"),
    "institution": _l("Institution"),
    "language": _l("Preferred language"),
    "race_neighborhood": _l("Race/ethnicity × neighborhood"),
}
RACE_MODES = {
    "combination": _l("Alone or in combination (a person who chose several races counts in each)"),
    "multiracial": _l("Multiracial as its own group (a person who chose several races counts once)"),
}
TRENDS = {
    "one_to_ones": _l("One-to-ones held"),
    "reached": _l("People reached"),
    "attended": _l("People who attended an action"),
}
MULTIRACIAL = "multiracial"
PREFER_NOT = RaceEthnicity.PREFER_NOT_TO_SAY.value
LEADER_STAGE = "Leader"  # this stage and every later one count as leaders
PARITY_THRESHOLD = 0.8  # a group with less than 80% of its fair share of leaders is flagged
TOTAL = ("total", None, None)

# The measures, in the order of the page and the CSV: key, label, section.
BASE_MEASURES = [
    ("base", _l("People in the base"), "reach"),
    ("reached", _l("People reached (had a one-to-one)"), "reach"),
    ("one_to_ones", _l("One-to-ones held"), "reach"),
    ("moved_up", _l("Moved up the pipeline"), "leadership"),
    ("leaders", _l("Leaders (Leader and above)"), "leadership"),
    ("rsvp_yes", _l("RSVPed yes"), "turnout"),
    ("yes_attended", _l("RSVPed yes and came"), "turnout"),
    ("attended", _l("Attended"), "turnout"),
    ("texted", _l("Texted"), "texting"),
    ("delivered", _l("Text delivered"), "texting"),
    ("replied", _l("Replied"), "texting"),
    ("opted_out", _l("Opted out"), "texting"),
]
SECTIONS = {
    "reach": _l("Base and reach"),
    "leadership": _l("Leadership"),
    "turnout": _l("Turnout"),
    "texting": _l("Texting"),
}
# Rates: key, label, numerator, denominator, section.
RATES = [
    ("reach_rate", _l("Reached ÷ base"), "reached", "base", "reach"),
    ("leader_rate", _l("Leaders ÷ base"), "leaders", "base", "leadership"),
    ("show_up_rate", _l("Show-up rate (RSVPed yes and came ÷ RSVPed yes)"), "yes_attended", "rsvp_yes", "turnout"),
    ("delivery_rate", _l("Delivered ÷ texted"), "delivered", "texted", "texting"),
    ("reply_rate", _l("Replied ÷ texted"), "replied", "texted", "texting"),
]


class ReportError(ValueError):
    """A report asked for with arguments that make no sense (an unknown split, a reversed period)."""


@dataclass(frozen=True)
class Period:
    """Calendar days from ``start`` to ``end``, both included, in the federation's time zone."""

    start: date
    end: date

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as aware UTC instants: local midnight of ``start`` to local midnight after ``end``."""
        zone = organization_zone()
        begin = datetime.combine(self.start, time(0), tzinfo=zone).astimezone(UTC)
        finish = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        return begin, finish

    def months(self) -> list[str]:
        """Every month the period touches, as ``YYYY-MM``."""
        out, y, m = [], self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


def default_period(today: date) -> Period:
    """The last twelve months up to ``today``."""
    return Period(date(today.year - 1, today.month, 1) if today.month != 12 else date(today.year, 1, 1), today)


@dataclass(frozen=True)
class EquityQuery:
    """What the page (and its CSV) were asked for."""

    period: Period
    split: str = "race"
    race_mode: str = "combination"
    trend: str = "one_to_ones"
    threshold: int = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ReportError("unknown split")
        if self.race_mode not in RACE_MODES:
            raise ReportError("unknown race mode")
        if self.trend not in TRENDS:
            raise ReportError("unknown trend")
        if self.period.end < self.period.start:
            raise ReportError("the period ends before it starts")
        if self.threshold < 1:
            raise ReportError("the threshold must be at least 1")


GroupKey = tuple[str, str | None, str | None]  # (dim, first key, second key)


@dataclass
class Group:
    key: GroupKey
    label: str
    kind: str  # "group", "subtotal" or "total"


@dataclass
class Cell:
    """One number as shown: ``shown`` is the text (``hidden_mark`` when suppressed), ``value`` None when hidden."""

    value: int | None
    shown: str


@dataclass
class RateCell:
    numerator: Cell
    denominator: Cell
    value: float | None

    @property
    def shown(self) -> str:
        return "—" if self.value is None else f"{100 * self.value:.0f}%"


@dataclass
class RepresentationRow:
    group: Group
    share_base: float | None
    share_reached: float | None
    share_leaders: float | None
    parity: float | None
    flagged: bool
    share_population: float | None = None


@dataclass
class EquityReport:
    """Everything the page, its charts and its CSV show, already suppressed."""

    query: EquityQuery
    groups: list[Group]
    measures: list[tuple[str, str, str]]  # key, label, section (stage measures included)
    cells: dict[Hashable, int]
    hidden: set[Hashable]
    months: list[str]
    representation: list[RepresentationRow] = field(default_factory=list)
    population_note: str = ""

    def cell(self, measure: str, key: GroupKey) -> Cell:
        return self._cell(("m", measure, key))

    def _cell(self, ref: Hashable) -> Cell:
        value = self.cells.get(ref, 0)
        if ref in self.hidden:
            return Cell(None, hidden_mark(value, self.query.threshold))
        return Cell(value, f"{value:,}")

    def rate(self, numerator: str, denominator: str, key: GroupKey) -> RateCell:
        num, den = self.cell(numerator, key), self.cell(denominator, key)
        value = num.value / den.value if num.value is not None and den.value else None
        return RateCell(num, den, value)

    def trend_cell(self, key: GroupKey, month: str) -> Cell:
        return self._cell(("t", key, month))

    def section_measures(self, section: str) -> list[tuple[str, str, str]]:
        return [m for m in self.measures if m[2] == section]

    def section_rates(self, section: str) -> list[tuple[str, str, str, str, str]]:
        return [r for r in RATES if r[4] == section]

    @property
    def rows(self) -> list[Group]:
        return [g for g in self.groups if g.kind != "total"]

    @property
    def total(self) -> Group:
        return next(g for g in self.groups if g.kind == "total")


# --- groupings ---------------------------------------------------------------------------

_TEXT = String(40)


def _text(column) -> object:
    return cast(column, _TEXT)


def no_key() -> object:
    """A part's missing group key (a NULL of the keys' type, so the parts' columns agree)."""
    return cast(null(), _TEXT)


def _race_keys(mode: str):
    """(person_id, race key) from the race table alone, for people with at least one row: every
    row ("alone or in combination"), or one key per person ("multiracial as its own group").
    People without a row get no row here; an outer join makes their key NULL ("not recorded")."""
    races = PersonRaceEthnicity.__table__
    if mode == "combination":
        return select(races.c.person_id, _text(races.c.value).label("k")).subquery("race")
    named = case((races.c.value != PREFER_NOT, 1))
    key = case(
        (func.count(named) > 1, literal(MULTIRACIAL, _TEXT)),
        (func.count(named) == 1, func.max(case((races.c.value != PREFER_NOT, _text(races.c.value))))),
        else_=literal(PREFER_NOT, _TEXT),
    )
    return select(races.c.person_id, key.label("k")).group_by(races.c.person_id).subquery("race")


def dim_constant(name: str):
    """A part's ``dim`` as an inline constant (a bound one cannot stand ungrouped in PostgreSQL)."""
    return literal_column(f"'{name}'", _TEXT)


def grouped_parts(query: EquityQuery, source) -> list[tuple[object, object, object, object]]:
    """The rows of the table a per-person ``source`` counts in, as ``(from clause, dim, k1, k2)``
    parts to ``GROUP BY`` and ``UNION ALL``: the same rows as ``grouping`` gives, but reached
    from ``source`` (columns ``person_id``, ``neighborhood_id``, ``preferred_language``, only
    people in the base) instead of joining a person-by-group list to it. On large data this is
    what keeps a report to one pass over the per-person rows (plus one index probe per person
    for the race or membership split) rather than a join of a list of every person's every
    group, which cost a probe of each per-person aggregate twice per person."""
    nb = _text(source.c.neighborhood_id)
    total = (source, dim_constant("total"), no_key(), no_key())
    if query.split in ("race", "race_neighborhood"):
        race = _race_keys(query.race_mode)
        with_race = source.outerjoin(race, race.c.person_id == source.c.person_id)
        if query.split == "race":
            return [(with_race, dim_constant("split"), race.c.k, no_key()), total]
        return [(with_race, dim_constant("split"), race.c.k, nb),
                (with_race, dim_constant("race"), race.c.k, no_key()),
                (source, dim_constant("nb"), no_key(), nb), total]
    if query.split == "neighborhood":
        return [(source, dim_constant("split"), nb, no_key()), total]
    if query.split == "language":
        language = case((source.c.preferred_language == "", no_key()), else_=_text(source.c.preferred_language))
        return [(source, dim_constant("split"), language, no_key()), total]
    memberships = Membership.__table__
    return [(source.outerjoin(memberships, memberships.c.person_id == source.c.person_id),
             dim_constant("split"), _text(memberships.c.institution_id), no_key()), total]


def _grouped_sums(query: EquityQuery, source, extra: list, sums) -> object:
    """``dim, k1, k2, *extra, *sums()`` summed by group (and ``extra``) over ``source``: one
    statement, a ``UNION ALL`` of ``grouped_parts``."""
    selects = []
    for from_, dim, k1, k2 in grouped_parts(query, source):
        keys = [dim.label("dim"), k1.label("k1"), k2.label("k2")]
        selects.append(select(*keys, *extra, *sums()).select_from(from_)
                       .group_by(k1, k2, *extra))
    return union_all(*selects)


# --- the measures -------------------------------------------------------------------------


MEASURE_COLUMNS = ["base", "reached", "one_to_ones", "moved_up", "rsvp_yes", "yes_attended", "attended", "texted",
                   "delivered", "replied", "opted_out"]


def _facts(query: EquityQuery, all_stages: list[Stage], only: Select | None = None):
    """One row per person in the base with what they did in the period (each activity table is
    aggregated by person first, then joined once): the stage they are at, one-to-ones held, and
    0/1 flags for every other measure. ``only``: just the people this subquery names."""

    def of(person) -> list:  # rows of those people only (``person``: the column naming them), if asked
        return [] if only is None else [person.in_(only)]

    begin, finish = query.period.bounds()
    first = all_stages[0].id if all_stages else 0
    first_position = all_stages[0].position if all_stages else 0
    people, pipeline = Person.__table__, PersonPipeline.__table__
    ones = OneToOne.__table__
    months = month_starts(query.period)
    # The trend's months ride along as per-person columns (t0, t1...), so the trend costs no
    # second pass over the activity: one-to-ones held that month, or 0/1 for reached/attended.
    trend_ones = []
    if query.trend in ("one_to_ones", "reached"):
        for i, (lo, hi) in enumerate(zip(months, months[1:], strict=False)):
            in_month = and_(ones.c.held_on >= lo, ones.c.held_on < hi)
            count = func.sum(case((in_month, 1), else_=0))
            trend_ones.append((count if query.trend == "one_to_ones" else func.max(case((in_month, 1), else_=0)))
                              .label(f"t{i}"))
    met = select(ones.c.person_id, func.count().label("n"), *trend_ones) \
        .where(ones.c.held_on >= query.period.start, ones.c.held_on <= query.period.end, *of(ones.c.person_id)) \
        .group_by(ones.c.person_id).subquery("met")
    moves, to_stage, from_stage = StageMove.__table__, Stage.__table__.alias("to_s"), Stage.__table__.alias("from_s")
    moved = select(moves.c.person_id).select_from(
        moves.join(to_stage, to_stage.c.id == moves.c.to_stage_id)
        .outerjoin(from_stage, from_stage.c.id == moves.c.from_stage_id)
    ).where(moves.c.moved_at >= begin, moves.c.moved_at < finish,
            to_stage.c.position > func.coalesce(from_stage.c.position, first_position), *of(moves.c.person_id)) \
        .group_by(moves.c.person_id).subquery("moved")
    rsvps, actions, attendances = Rsvp.__table__, Action.__table__, Attendance.__table__
    held = and_(actions.c.starts_at >= begin, actions.c.starts_at < finish, actions.c.starts_at <= datetime.now(UTC),
                actions.c.archived_at.is_(None))
    said_yes = select(rsvps.c.person_id, func.max(case((attendances.c.id.is_not(None), 1), else_=0)).label("came")) \
        .select_from(rsvps.join(actions, actions.c.id == rsvps.c.action_id)
                     .outerjoin(attendances, and_(attendances.c.action_id == rsvps.c.action_id,
                                                  attendances.c.person_id == rsvps.c.person_id))) \
        .where(held, rsvps.c.status == RsvpStatus.YES.value, *of(rsvps.c.person_id)).group_by(rsvps.c.person_id) \
        .subquery("said_yes")
    trend_came = []
    if query.trend == "attended":  # months of the action's start in the federation's time zone
        zone = organization_zone()
        utc = [datetime.combine(m, time(0), tzinfo=zone).astimezone(UTC) for m in months]
        trend_came = [func.max(case((and_(actions.c.starts_at >= lo, actions.c.starts_at < hi), 1), else_=0))
                      .label(f"t{i}") for i, (lo, hi) in enumerate(zip(utc, utc[1:], strict=False))]
    came = select(attendances.c.person_id, *trend_came) \
        .select_from(attendances.join(actions, actions.c.id == attendances.c.action_id)) \
        .where(held, *of(attendances.c.person_id)).group_by(attendances.c.person_id).subquery("came")
    trend_source = came if query.trend == "attended" else met
    trend = [func.coalesce(trend_source.c[f"t{i}"], 0).label(f"t{i}") for i in range(len(months) - 1)]
    outbox = OutboxMessage.__table__
    # The period is read through coalesce() so no index can serve it as a range: SQLite, once
    # ANALYZE has run, otherwise skip-scans the (status, sent_at) index and fetches every
    # period's text row for its person (3x slower on a million texts than reading the covering
    # (person_id, sent_at, status) index whole, in the GROUP BY's order, as it does here).
    # That index holds sent texts only (``sent_at IS NOT NULL``): the query says so to use it.
    sent_at = func.coalesce(outbox.c.sent_at, outbox.c.sent_at)
    texted = select(outbox.c.person_id, func.max(case((outbox.c.status == "delivered", 1), else_=0)).label("delivered")) \
        .where(sent_at >= begin, sent_at < finish, outbox.c.person_id.is_not(None), outbox.c.sent_at.is_not(None),
               *of(outbox.c.person_id)) \
        .group_by(outbox.c.person_id).subquery("texted")
    inbound = InboundMessage.__table__
    replied = select(inbound.c.person_id).where(inbound.c.received_at >= begin, inbound.c.received_at < finish,
                                                inbound.c.person_id.is_not(None), *of(inbound.c.person_id)) \
        .group_by(inbound.c.person_id).subquery("replied")

    def flag(condition):
        return case((condition, 1), else_=0)

    opted_out = and_(people.c.sms_consent == SmsConsent.OPTED_OUT.value,
                     people.c.sms_consent_at >= begin, people.c.sms_consent_at < finish)
    return select(
        people.c.id.label("person_id"),
        people.c.neighborhood_id,
        people.c.preferred_language,
        func.coalesce(pipeline.c.stage_id, first).label("stage"),
        flag(met.c.n.is_not(None)).label("reached"),
        func.coalesce(met.c.n, 0).label("one_to_ones"),
        flag(moved.c.person_id.is_not(None)).label("moved_up"),
        flag(said_yes.c.person_id.is_not(None)).label("rsvp_yes"),
        func.coalesce(said_yes.c.came, 0).label("yes_attended"),
        flag(came.c.person_id.is_not(None)).label("attended"),
        flag(texted.c.person_id.is_not(None)).label("texted"),
        func.coalesce(texted.c.delivered, 0).label("delivered"),
        flag(replied.c.person_id.is_not(None)).label("replied"),
        flag(opted_out).label("opted_out"),
        *trend,
    ).select_from(
        people.outerjoin(pipeline, pipeline.c.person_id == people.c.id)
        .outerjoin(met, met.c.person_id == people.c.id)
        .outerjoin(moved, moved.c.person_id == people.c.id)
        .outerjoin(said_yes, said_yes.c.person_id == people.c.id)
        .outerjoin(came, came.c.person_id == people.c.id)
        .outerjoin(texted, texted.c.person_id == people.c.id)
        .outerjoin(replied, replied.c.person_id == people.c.id)
    ).where(people.c.archived_at.is_(None), *of(people.c.id)).cte("facts")


def _count_cells(query: EquityQuery, all_stages: list[Stage]) -> dict[Hashable, int]:
    """Every count of the table, keyed ``("m", measure, group)``, and the trend, keyed ``("t",
    group, month)``, in one query: the per-person facts (computed once) summed by group and stage
    (people are at one stage, so the stage rows of a group add up to the group)."""
    facts = _facts(query, all_stages)
    months = query.period.months()
    stmt = _grouped_sums(query, facts, [facts.c.stage],
                         lambda: [func.count()] + [func.sum(facts.c[name]) for name in MEASURE_COLUMNS[1:]]
                         + [func.sum(facts.c[f"t{i}"]) for i in range(len(months))])
    return _cells(db.session.execute(stmt), months)


def _cells(rows, months: list[str]) -> dict[Hashable, int]:
    """The table's counts from its rows summed by group and stage: ``(dim, k1, k2, stage,
    people, *measures, *months)``."""
    cells: dict[Hashable, int] = {}
    width = len(MEASURE_COLUMNS) - 1
    for row in rows:
        key = (row[0], row[1], row[2])
        cells[("m", f"stage:{row[3]}", key)] = int(row[4])
        for name, value in zip(MEASURE_COLUMNS[1:], row[5:5 + width], strict=True):
            ref = ("m", name, key)
            cells[ref] = cells.get(ref, 0) + int(value or 0)
        # A person is at one stage, so a group's month is the sum of its stages' months.
        for month, value in zip(months, row[5 + width:], strict=True):
            if value:
                ref = ("t", key, month)
                cells[ref] = cells.get(ref, 0) + int(value)
    return cells


def month_starts(period: Period) -> list[date]:
    """The first day of every month the period touches, and of the month after the last."""
    starts = [date(int(m[:4]), int(m[5:]), 1) for m in period.months()]
    last = starts[-1]
    return [*starts, date(last.year + 1, 1, 1) if last.month == 12 else date(last.year, last.month + 1, 1)]


# --- labels --------------------------------------------------------------------------------


def group_labels(query: EquityQuery) -> tuple[dict[str | None, str], dict[str | None, str]]:
    """Labels for the first and second group keys (two queries at most: neighborhoods, institutions),
    read once per request and split (a page counted afresh needs them twice)."""
    if not has_request_context():
        return _group_labels(query)
    memo = flask.g.setdefault("report_group_labels", {})
    if query.split not in memo:
        memo[query.split] = _group_labels(query)
    first, second = memo[query.split]
    return dict(first), dict(second)


def _group_labels(query: EquityQuery) -> tuple[dict[str | None, str], dict[str | None, str]]:
    race = {v.value: str(label) for v, label in RACE_ETHNICITY_LABELS.items()}
    race[MULTIRACIAL] = str(_l("Multiracial (two or more)"))
    race[None] = str(_l("Not recorded"))
    neighborhoods = {str(i): name for i, name in db.session.execute(select(Neighborhood.id, Neighborhood.name))} \
        if query.split in ("neighborhood", "race_neighborhood") else {}
    neighborhoods[None] = str(_l("No neighborhood recorded"))
    if query.split == "race":
        return race, {}
    if query.split == "neighborhood":
        return neighborhoods, {}
    if query.split == "language":
        languages = {code: str(label) for code, label in LANGUAGE_CHOICES if code}
        languages[None] = str(_l("Not recorded"))
        return languages, {}
    if query.split == "institution":
        institutions = {str(i): name for i, name in db.session.execute(select(Institution.id, Institution.name))}
        institutions[None] = str(_l("No institution"))
        return institutions, {}
    return race, neighborhoods


def group_sort_key(labels: dict[str | None, str], key: str | None) -> tuple[int, str]:
    """Named groups first, by name; "prefer not to say" and "not recorded" last (never dropped)."""
    if key is None:
        return (2, "")
    if key == PREFER_NOT:
        return (1, "")
    return (0, labels.get(key, key).casefold())


def _groups(query: EquityQuery, cells: dict[Hashable, int]) -> list[Group]:
    labels1, labels2 = group_labels(query)
    present = {key for (_m, _name, key) in (k for k in cells if k[0] == "m")}
    # Every category of the split appears even with no one in it, so an empty group is seen as 0.
    if query.split in ("race", "neighborhood"):
        present |= {("split", k, None) for k in _every_category(query, query.split, labels1)}
    groups: list[Group] = []
    if query.split == "race_neighborhood":
        # And every subtotal, as the race/ethnicity and neighborhood pages show them: a reader adding
        # up the subtotals shown must find the same gap here as there.
        present |= {("race", k, None) for k in _every_category(query, "race", labels1)}
        present |= {("nb", None, k) for k in _every_category(query, "neighborhood", labels2)}
        nbs = sorted({k[2] for k in present if k[0] in ("split", "nb")}, key=lambda k: group_sort_key(labels2, k))
        for nb in nbs:
            for key in sorted((k for k in present if k[0] == "split" and k[2] == nb),
                              key=lambda k: group_sort_key(labels1, k[1])):
                groups.append(Group(key, f"{labels1.get(key[1], key[1])} · {labels2.get(nb, nb)}", "group"))
            groups.append(Group(("nb", None, nb), str(_l("All of %(place)s", place=labels2.get(nb, nb))), "subtotal"))
        for key in sorted((k for k in present if k[0] == "race"), key=lambda k: group_sort_key(labels1, k[1])):
            groups.append(Group(key, str(_l("All neighborhoods: %(group)s", group=labels1.get(key[1], key[1]))),
                                "subtotal"))
    else:
        for key in sorted((k for k in present if k[0] == "split"), key=lambda k: group_sort_key(labels1, k[1])):
            groups.append(Group(key, labels1.get(key[1], key[1] or ""), "group"))
    groups.append(Group(TOTAL, str(_l("Total (each person once)")), "total"))
    return groups


def _every_category(query: EquityQuery, split: str, labels: dict[str | None, str]) -> set[str | None]:
    """The keys of every race/ethnicity (with "not recorded", and "multiracial" in that view) or
    every neighborhood (with "none recorded"), whether or not anyone is in it."""
    if split == "race":
        keys: set[str | None] = {value.value for value in RaceEthnicity} | {None}
        return keys | {MULTIRACIAL} if query.race_mode == "multiracial" else keys
    return set(labels)


# --- suppression ---------------------------------------------------------------------------


def _group_lines(query: EquityQuery, groups: list[Group]) -> list[tuple[list[GroupKey], GroupKey, bool]]:
    """The groups whose counts add up to another group's: ``(members, total, exact)``. ``exact``
    is false where a person counts in several members (races alone or in combination,
    institutions), so that the members add up to at least the total."""
    members = [g.key for g in groups if g.kind == "group"]
    one_race = query.race_mode == "multiracial"
    if query.split == "race_neighborhood":
        # every subtotal, those of races and places without anyone in them too (``_groups``)
        races = {g.key[1] for g in groups if g.key[0] == "race"}
        nbs = {g.key[2] for g in groups if g.key[0] == "nb"}
        return ([([k for k in members if k[2] == nb], ("nb", None, nb), one_race) for nb in nbs]  # a place's races
                + [([k for k in members if k[1] == race], ("race", race, None), True) for race in races]
                + [([("nb", None, nb) for nb in nbs], TOTAL, True),
                   ([("race", r, None) for r in races], TOTAL, one_race)])
    return [(members, TOTAL, query.split in ("neighborhood", "language") or (query.split == "race" and one_race))]


def _lines(query: EquityQuery, layout: Layout) -> tuple[list[Line], list[Line]]:
    """Every set of cells a reader could add up and compare with a total shown on the page: those
    of the measures, and those that the trend's months add."""
    groups, months = layout.groups, layout.months
    by_group = _group_lines(query, groups)
    measure_lines = [Line([("m", m, k) for k in members], ("m", m, total), exact=exact)
                     for m in layout.keys for members, total, exact in by_group]
    below_leader = [s for s in layout.stage_keys if s not in layout.leader_keys]
    for g in groups:  # a group's stages add up to its base; its leader stages to its leaders, the rest to the difference
        measure_lines.append(Line([("m", s, g.key) for s in layout.stage_keys], ("m", "base", g.key)))
        measure_lines.append(Line([("m", s, g.key) for s in layout.leader_keys], ("m", "leaders", g.key)))
        measure_lines.append(Line([("m", s, g.key) for s in below_leader], ("m", "base", g.key),
                                  minus=[("m", "leaders", g.key)]))
    # A group's months add up to its count for the period: exactly for one-to-ones; a person reached
    # (or who came) in two months counts in both, and once in the period.
    trend_total = {"one_to_ones": "one_to_ones", "reached": "reached", "attended": "attended"}[query.trend]
    month_lines = [Line([("t", g.key, month) for month in months], ("m", trend_total, g.key),
                        exact=query.trend == "one_to_ones") for g in groups]
    month_lines += [Line([("t", k, month) for k in members], ("t", total, month), exact=exact)
                    for month in months for members, total, exact in by_group]
    return measure_lines, month_lines


def _hidden_cells(query: EquityQuery, cells: dict[Hashable, int], layout: Layout, hidden: set[Hashable],
                  protected: set[GroupKey], fixed: set[GroupKey]) -> set[Hashable]:
    """The cells the page hides, beyond ``hidden`` (hidden by another page showing the same
    numbers). The measures are settled first, then the trend's months, which may hide more months
    but no measure: a count is hidden or shown whatever trend is drawn. The groups ``protected``
    (the Total) are hidden only when small, never to protect another cell unless nothing else in
    the line can be; those ``fixed`` never are, their counts being known from elsewhere."""
    measure_lines, month_lines = _lines(query, layout)
    last_resort = protected | fixed
    out = suppress(cells, measure_lines, query.threshold, hidden=hidden,
                   eligible=lambda key: key[0] == "m" and key[2] not in last_resort,
                   fallback=lambda key: key[0] == "m" and key[2] not in fixed)
    return suppress(cells, measure_lines + month_lines, query.threshold, hidden=out,
                    eligible=lambda key: key[0] == "t" and key[1] not in last_resort,
                    fallback=lambda key: key[0] == "t" and key[1] not in fixed)


def _nobody_in(cells: dict[Hashable, int], layout: Layout) -> set[GroupKey]:
    """The groups nobody is in (every count 0). Other pages say so: the race/ethnicity ×
    neighborhood table has no row of theirs, the institutions page counts no member. So their
    zeros, hidden as "<5", would protect nothing."""
    return {g.key for g in layout.groups
            if g.kind == "group" and not any(cells[("m", key, g.key)] for key in layout.keys)}


def _counted(query: EquityQuery, all_stages: list[Stage]) -> tuple[dict[Hashable, int], set[Hashable]]:
    """The page's counts and the cells it hides: keyed ``("m", measure, group)`` and, for the
    trend, ``("t", group, month)``. The count reads every activity row of the period, the one
    part of the page whose cost grows with the data: so it is kept, and after a write counted
    again only for the people whose data changed (``organizer.reports.maintained``)."""
    if not current_app.config.get("REPORTS_CACHE", True):
        return _suppressed(query, _count_cells(query, all_stages), all_stages)
    key = ("equity", query.period, query.split, query.race_mode, query.trend, query.threshold, query.period.bounds(),
           tuple((s.id, s.position, s.name) for s in all_stages))
    months = query.period.months()
    # Actions count once they have started: the next start to come is part of what is kept.
    upcoming = select(func.min(Action.starts_at)).where(Action.starts_at > datetime.now(UTC))
    return maintained.kept(
        key, upcoming, lambda only: _person_records(query, all_stages, only),
        lambda sums: _suppressed(query, _cells(((*group, stage, *values) for (group, stage), values in sums.items()),
                                               months), all_stages),
        lambda v: (dict(v[0]), set(v[1])))


def _person_records(query: EquityQuery, all_stages: list[Stage],
                    only: Select | None) -> dict[int, maintained.Record]:
    """Each person's record for ``maintained``: the groups of the table they count in (the rows
    ``grouped_parts`` gives them), their stage and their values (the facts' measures and months)."""
    facts = _facts(query, all_stages, only)
    keys: dict[int, list[str | None]] = {}
    if query.split in ("race", "race_neighborhood", "institution"):
        if query.split == "institution":
            memberships = Membership.__table__
            person, key = memberships.c.person_id, _text(memberships.c.institution_id)
        else:
            race = _race_keys(query.race_mode)
            person, key = race.c.person_id, race.c.k
        source = select(person, key)
        for pid, k in db.session.execute(source if only is None else source.where(person.in_(only))):
            keys.setdefault(pid, []).append(k)
    records = {}
    groups: dict[tuple, tuple[GroupKey, ...]] = {}  # people with the same groups share one tuple
    for row in db.session.execute(select(facts)):
        where = (row[1], row[2] or None, tuple(keys.get(row[0], (None,))))
        found = groups.get(where)
        if found is None:
            neighborhood = None if row[1] is None else str(row[1])
            found = groups[where] = _groups_of(query.split, neighborhood, where[1], list(where[2]))
        records[row[0]] = (found, row[3], tuple(row[4:]))
    return records


def _groups_of(split: str, neighborhood: str | None, language: str | None,
               keys: list[str | None]) -> tuple[GroupKey, ...]:
    """The groups a person counts in, as ``grouped_parts`` groups them: their race/ethnicity
    keys or institutions (``keys``), neighborhood or language, and the Total."""
    if split in ("race", "institution"):
        return (*(("split", k, None) for k in keys), TOTAL)
    if split == "race_neighborhood":
        return (*(("split", k, neighborhood) for k in keys), *(("race", k, None) for k in keys),
                ("nb", None, neighborhood), TOTAL)
    return ("split", neighborhood if split == "neighborhood" else language, None), TOTAL


def _suppressed(query: EquityQuery, cells: dict[Hashable, int],
                all_stages: list[Stage]) -> tuple[dict[Hashable, int], set[Hashable]]:
    """The counts, and the cells hidden. The race/ethnicity × neighborhood table's subtotals are
    the race/ethnicity page's rows and the neighborhood page's: it hides what those pages hide
    (worked out here as they work it out, from its own counts), and hides no other subtotal, nor
    the Total: those pages show them, so its own cells protect each other."""
    layout = _prepared(query, cells, all_stages)
    hidden: set[Hashable] = set()
    if query.split == "race_neighborhood":
        for split, dim in (("race", "race"), ("neighborhood", "nb")):
            page = EquityQuery(query.period, split, query.race_mode, query.trend, query.threshold)
            view = {mapped: value for key, value in cells.items() if (mapped := _cell_in(dim, key)) is not None}
            their_layout = _prepared(page, view, all_stages)
            theirs = _hidden_cells(page, view, their_layout, set(), _protected(page, their_layout),
                                   _nobody_in(view, their_layout))
            hidden |= {_cell_in(dim, key, back=True) for key in theirs}
        return cells, _hidden_cells(query, cells, layout, hidden, _protected(query, layout),
                                    {g.key for g in layout.groups if g.kind != "group"})
    return cells, _hidden_cells(query, cells, layout, hidden, _protected(query, layout), _nobody_in(cells, layout))


def _protected(query: EquityQuery, layout: Layout) -> set[GroupKey]:
    """The groups hidden only when small or when nothing else can be, because other pages show
    the same counts: the Total (every page), and people whose race/ethnicity is not recorded,
    the same people in both race/ethnicity views."""
    return {TOTAL} | {g.key for g in layout.groups
                      if g.kind == "group" and query.split in ("race", "race_neighborhood") and g.key[1] is None}


def _cell_in(dim: str, key: Hashable, *, back: bool = False) -> Hashable | None:
    """A cell of the race/ethnicity × neighborhood table as the ``dim`` page keys it (its
    subtotals are that page's rows), ``None`` for another; ``back``: the other way."""
    group = key[2] if key[0] == "m" else key[1]
    if group == TOTAL:
        mapped = TOTAL
    elif back:
        mapped = (dim, group[1], None) if dim == "race" else (dim, None, group[1])
    elif group[0] == dim:
        mapped = ("split", group[1] if dim == "race" else group[2], None)
    else:
        return None
    return (key[0], key[1], mapped) if key[0] == "m" else (key[0], mapped, key[2])


@dataclass(frozen=True)
class Layout:
    """What a page shows: its groups, its measures (``keys`` in order, with labels and sections
    in ``measures``), the stages' measure keys (all, and Leader and above) and its months."""

    groups: list[Group]
    measures: list[tuple[str, str, str]]
    stage_keys: list[str]
    leader_keys: list[str]
    months: list[str]

    @property
    def keys(self) -> list[str]:
        return [key for key, _label, _section in self.measures]


def leader_position(all_stages: list[Stage]) -> int:
    """The position of the Leader stage, from which on people count as leaders (the stage before
    the last when none is named so; the first when there is only one, 0 when there are none)."""
    position = next((s.position for s in all_stages if s.name == LEADER_STAGE), None)
    if position is None and all_stages:
        position = all_stages[-2].position if len(all_stages) > 1 else all_stages[0].position
    return position or 0


def _prepared(query: EquityQuery, cells: dict[Hashable, int], all_stages: list[Stage]) -> Layout:
    """The page's layout, with ``cells`` completed: each group's base and leaders, and a zero for
    every cell the page shows."""
    groups = _groups(query, cells)
    stage_measures = [f"stage:{s.id}" for s in all_stages]
    leaders_from = leader_position(all_stages)
    leader_stages = [f"stage:{s.id}" for s in all_stages if s.position >= leaders_from]
    for g in groups:
        cells[("m", "base", g.key)] = sum(cells.get(("m", s, g.key), 0) for s in stage_measures)
        cells[("m", "leaders", g.key)] = sum(cells.get(("m", s, g.key), 0) for s in leader_stages)
    measures = list(BASE_MEASURES)
    at = next(i for i, m in enumerate(measures) if m[0] == "moved_up")
    measures[at:at] = [(f"stage:{s.id}", str(_l("Now at stage: %(stage)s", stage=s.name)), "leadership")
                       for s in all_stages]
    for key in [k for (k, _l2, _s) in measures]:  # fill zeros, so every shown cell is in ``cells``
        for g in groups:
            cells.setdefault(("m", key, g.key), 0)
    months = query.period.months()
    for g in groups:
        for month in months:
            cells.setdefault(("t", g.key, month), 0)
    return Layout(groups, measures, stage_measures, leader_stages, months)


# --- the report -----------------------------------------------------------------------------


def page_lines(report: EquityReport) -> list[Line]:
    """Every set of cells of the page a reader could add up and compare with a total it shows."""
    measure_lines, month_lines = _lines(report.query, _prepared(report.query, dict(report.cells), stages()))
    return measure_lines + month_lines


def equity_report(query: EquityQuery) -> EquityReport:
    """The dashboard for ``query``: counts, suppression, representation and the trend.

    A fixed number of queries whatever the data: stages, one query for every count and the trend,
    labels (neighborhoods, institutions) and neighborhoods' populations.
    """
    all_stages = stages()
    cells, hidden = _counted(query, all_stages)
    layout = _prepared(query, cells, all_stages)
    report = EquityReport(query, layout.groups, layout.measures, cells, hidden, layout.months)
    _representation(report)
    return report


def _representation(report: EquityReport) -> None:
    """Shares of the base, of the people reached and of the leaders per group, and the parity index;
    against neighborhoods' populations where admins entered them (race/ethnicity splits)."""
    query = report.query
    population = population_shares() if query.split in ("race", "race_neighborhood", "neighborhood") else {}
    if population:
        report.population_note = str(_l(
            "Population shares come from the figures admins entered for the neighborhoods (for example "
            "census counts); a neighborhood without figures is left out of the comparison."))
    for g in report.groups:
        if g.kind != "group":
            continue
        if query.split == "race_neighborhood":
            whole = ("nb", None, g.key[2])
        else:
            whole = TOTAL
        shares = []
        for measure in ("base", "reached", "leaders"):
            part, of = report.cell(measure, g.key), report.cell(measure, whole)
            shares.append(part.value / of.value if part.value is not None and of.value else None)
        base_share, reached_share, leader_share = shares
        parity = leader_share / base_share if leader_share is not None and base_share else None
        row = RepresentationRow(g, base_share, reached_share, leader_share, parity,
                                flagged=parity is not None and parity < PARITY_THRESHOLD)
        if population:
            if query.split == "neighborhood":  # the neighborhood's share of all the neighborhoods' people
                row.share_population = population.get(("nb", g.key[1]))
            else:
                place = g.key[2] if query.split == "race_neighborhood" else "*"
                row.share_population = population.get((place, g.key[1]))
        report.representation.append(row)


def population_shares() -> dict[tuple[str, str | None], float]:
    """``(neighborhood id or "*", race key)``: that group's share of the neighborhood's (or all
    the neighborhoods with figures) population. A ``total`` row, when entered, is the denominator;
    otherwise the sum of the neighborhood's rows. ``("nb", neighborhood id)``: the neighborhood's
    share of the population of all the neighborhoods with figures."""
    rows = db.session.execute(select(NeighborhoodPopulation.neighborhood_id, NeighborhoodPopulation.race_ethnicity,
                                     NeighborhoodPopulation.population)).all()
    by_place: dict[str, dict[str, int]] = {}
    for nb, race, n in rows:
        by_place.setdefault(str(nb), {})[race] = n
    sizes = {place: counts.get("total") or sum(n for race, n in counts.items() if race != "total")
             for place, counts in by_place.items()}
    # All the neighborhoods together: each group's people over everyone in them, each
    # neighborhood counted by its own total or its rows. (Adding up only the totals entered
    # made the groups of a neighborhood without one count against another's total.)
    together: dict[str, int] = {}
    for counts in by_place.values():
        for race, n in counts.items():
            if race != "total":
                together[race] = together.get(race, 0) + n
    everyone = sum(sizes.values())
    by_place["*"], sizes["*"] = together, everyone
    shares: dict[tuple[str, str | None], float] = {}
    for place, counts in by_place.items():
        denominator = sizes[place]
        if not denominator:
            continue
        if place != "*":
            shares[("nb", place)] = denominator / everyone
        for race, n in counts.items():
            if race != "total":
                shares[(place, race)] = n / denominator
    return shares


# --- the CSV ---------------------------------------------------------------------------------


def equity_csv(report: EquityReport, actor: User) -> str:
    """The report as CSV, with the same suppression as the page; the export is audited."""
    out = io.StringIO()
    writer = csv.writer(out)
    q = report.query
    writer.writerow([str(_l("Period")), q.period.start.isoformat(), q.period.end.isoformat(),
                     str(_l("Split")), str(SPLITS[q.split]),
                     str(_l("Counts from 1 to %(n)d are shown as <%(t)d (and a zero hidden beside them); “hidden” "
                            "is a count of %(t)d or more hidden so that they cannot be worked out from the totals",
                            n=q.threshold - 1, t=q.threshold))])
    header = [str(_l("Group"))] + [label for _k, label, _s in report.measures]
    header += [label for _k, label, _n, _d, _s in RATES]
    writer.writerow(header)
    for g in report.groups:
        row = [g.label] + [report.cell(k, g.key).shown for k, _l2, _s in report.measures]
        row += [report.rate(n, d, g.key).shown for _k, _lab, n, d, _s in RATES]
        writer.writerow(row)
    writer.writerow([])
    writer.writerow([str(_l("Group")), str(_l("Share of the base")), str(_l("Share of people reached")),
                     str(_l("Share of leaders")), str(_l("Parity index")), str(_l("Share of the population"))])
    for r in report.representation:
        writer.writerow([r.group.label] + [_percent(v) for v in (r.share_base, r.share_reached, r.share_leaders)]
                        + ["—" if r.parity is None else f"{r.parity:.2f}", _percent(r.share_population)])
    writer.writerow([])
    writer.writerow([str(TRENDS[q.trend])] + report.months)
    for g in report.groups:
        writer.writerow([g.label] + [report.trend_cell(g.key, m).shown for m in report.months])
    record(actor, "export", None, {"report": "equity", "split": q.split, "race_mode": q.race_mode,
                                   "start": q.period.start.isoformat(), "end": q.period.end.isoformat()},
           object_type="report", summary="equity.csv")
    return out.getvalue()


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


# --- neighborhood populations ----------------------------------------------------------------

POPULATION_KEYS = [v.value for v in RaceEthnicity if v is not RaceEthnicity.PREFER_NOT_TO_SAY] + [MULTIRACIAL, "total"]


def population_label(key: str) -> str:
    """The name of a population row's group."""
    if key == "total":
        return str(_l("Total population"))
    if key == MULTIRACIAL:
        return str(_l("Multiracial (two or more)"))
    return str(RACE_ETHNICITY_LABELS[RaceEthnicity(key)])


def populations() -> list[NeighborhoodPopulation]:
    """Every population figure, by neighborhood then group."""
    return list(db.session.scalars(select(NeighborhoodPopulation).join(NeighborhoodPopulation.neighborhood)
                                   .order_by(Neighborhood.name, NeighborhoodPopulation.race_ethnicity)))


def set_population(neighborhood: Neighborhood, race_ethnicity: str, population: int, source: str,
                   actor: User) -> NeighborhoodPopulation | None:
    """Enter (or correct) one figure; returns the row, or ``None`` when nothing changed. Audited.

    :raise ReportError: for an unknown group or a negative number.
    """
    if race_ethnicity not in POPULATION_KEYS:
        raise ReportError(str(_l("Unknown race/ethnicity: %(value)s", value=race_ethnicity)))
    if population < 0:
        raise ReportError(str(_l("A population cannot be negative.")))
    row = db.session.scalar(select(NeighborhoodPopulation).where(
        NeighborhoodPopulation.neighborhood_id == neighborhood.id,
        NeighborhoodPopulation.race_ethnicity == race_ethnicity))
    source = source.strip()[:255]
    if row is not None and row.population == population and row.source == source:
        return None
    before = None if row is None else {"population": row.population, "source": row.source}
    if row is None:
        row = NeighborhoodPopulation(neighborhood_id=neighborhood.id, race_ethnicity=race_ethnicity)
        db.session.add(row)
    row.population, row.source = population, source
    db.session.flush()
    record(actor, "update" if before else "create", row,
           {"neighborhood": neighborhood.name, "race_ethnicity": race_ethnicity, "before": before,
            "after": {"population": population, "source": source}},
           summary=f"{neighborhood.name}: {race_ethnicity}")
    return row


def import_populations(text: str, actor: User) -> int:
    """Import figures from CSV (columns ``neighborhood, race_ethnicity, population[, source]``, a
    header row first). Every row is checked before anything is written; returns rows changed.

    :raise ReportError: naming the first bad row; nothing is written then.
    """
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    if not rows:
        raise ReportError(str(_l("The file is empty.")))
    by_name = {n.name.casefold(): n for n in db.session.scalars(select(Neighborhood))}
    checked = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 3:
            raise ReportError(str(_l("Row %(n)d: expected neighborhood, race/ethnicity and population.", n=number)))
        name, race, count = row[0].strip(), row[1].strip(), row[2].strip().replace(",", "")
        neighborhood = by_name.get(name.casefold())
        if neighborhood is None:
            raise ReportError(str(_l("Row %(n)d: no neighborhood is named “%(name)s”.", n=number, name=name)))
        if race not in POPULATION_KEYS:
            raise ReportError(str(_l("Row %(n)d: unknown race/ethnicity “%(value)s”.", n=number, value=race)))
        if not count.isdigit():
            raise ReportError(str(_l("Row %(n)d: the population must be a whole number.", n=number)))
        checked.append((neighborhood, race, int(count), row[3] if len(row) > 3 else ""))
    changed = 0
    for neighborhood, race, count, source in checked:
        if set_population(neighborhood, race, count, source, actor) is not None:
            changed += 1
    return changed


def chart_groups(report: EquityReport) -> list[Group]:
    """The rows charts draw: the groups, without subtotals and total (too tall a bar to compare)."""
    return [g for g in report.groups if g.kind == "group"]


def bar_chart(report: EquityReport, section: str) -> dict:
    """A Chart.js grouped-bar configuration: the section's counts by group (suppressed: no bar)."""
    groups = chart_groups(report)
    datasets = [{"label": label, "data": [report.cell(key, g.key).value for g in groups]}
                for key, label, _s in report.section_measures(section) if not key.startswith("stage:")]
    return {"type": "bar", "data": {"labels": [g.label for g in groups], "datasets": [
        {**d, "label": str(d["label"])} for d in datasets]},
        "options": {"indexAxis": "y", "plugins": {"legend": {"position": "bottom"}}}}


def trend_chart(report: EquityReport) -> dict:
    """A Chart.js line configuration: the trend measure by month for each group (suppressed: a gap)."""
    groups = chart_groups(report)
    return {"type": "line", "data": {"labels": report.months, "datasets": [
        {"label": g.label, "data": [report.trend_cell(g.key, m).value for m in report.months], "spanGaps": False}
        for g in groups]}, "options": {"plugins": {"legend": {"position": "bottom"}}}}


def representation_chart(report: EquityReport) -> dict:
    """A Chart.js grouped-bar configuration: each group's share of the base, reached and leaders (%)."""
    rows = report.representation
    def pct(v: float | None) -> float | None:
        return None if v is None else round(100 * v, 1)
    datasets = [
        {"label": str(_l("Share of the base")), "data": [pct(r.share_base) for r in rows]},
        {"label": str(_l("Share of people reached")), "data": [pct(r.share_reached) for r in rows]},
        {"label": str(_l("Share of leaders")), "data": [pct(r.share_leaders) for r in rows]},
    ]
    if any(r.share_population is not None for r in rows):
        datasets.append({"label": str(_l("Share of the population")), "data": [pct(r.share_population) for r in rows]})
    return {"type": "bar", "data": {"labels": [r.group.label for r in rows], "datasets": datasets},
            "options": {"indexAxis": "y", "plugins": {"legend": {"position": "bottom"}}}}

