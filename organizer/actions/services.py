"""Rules for actions: planning, commitments, RSVPs, check-in at the door, turnout and sign-up.

Who sees whom: lists of people (RSVPs, no-shows, first-timers, check-in search) go through
``people_visible_to``; a leader sees their own people there, and the action's totals only as
numbers. At the door, a leader finds and checks in their own people (and walk-ins).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.sql.elements import BindParameter
from werkzeug.exceptions import NotFound

from organizer.actions.models import (
    Action,
    ActionInstitutionCount,
    ActionRecruiterCount,
    ActionTurnoutCount,
    ActionType,
    Attendance,
    HeldSignup,
    PersonTurnoutCount,
    Rsvp,
    RsvpSource,
    RsvpStatus,
    SignupAttempt,
    TurnoutCommitment,
)
from organizer.audit.services import record, record_changes, snapshot
from organizer.auth.models import User
from organizer.db import paged, utcnow
from organizer.extensions import db
from organizer.institutions.models import Institution, Membership, MembershipRole
from organizer.people.models import ConsentMethod, Person, PersonSource, SmsConsent, display_name
from organizer.people.services import (
    PersonFilters,
    PhoneError,
    find_same_person,
    normalize_phone,
    page_of_people,
    people_visible_to,
    people_visible_to_viewer,
    search_people,
    set_sms_consent,
    viewer_params,
    viewer_scope,
)
from organizer.settings.services import get_organization


class ActionError(ValueError):
    """A change to an action that breaks a rule (end before start, unknown time zone)."""


class SignupThrottled(Exception):
    """Too many sign-up submissions from one address (for one phone or email, or in all) for one action."""


# --- planning ---------------------------------------------------------------------------


@dataclass
class ActionData:
    """An action's editable fields; start and end are wall-clock times in ``timezone``."""

    title: str
    type: ActionType
    starts_local: datetime
    ends_local: datetime
    timezone: str
    campaign_id: int | None = None
    prepares_for_id: int | None = None
    location: str = ""
    turnout_goal: int = 0
    description: str | None = None


def to_utc(local: datetime, timezone: str) -> datetime:
    """A naive wall-clock time in ``timezone`` as aware UTC.

    :raise ActionError: when ``timezone`` is not an IANA zone name.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ActionError(_("Unknown time zone %(zone)s.", zone=timezone)) from None
    return local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))


def to_local(when: datetime, timezone: str) -> datetime:
    """A stored UTC time as wall-clock time in ``timezone`` (naive, for forms)."""
    return when.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def save_action(action: Action | None, data: ActionData, actor: User) -> Action:
    """Create (``action`` None) or change an action; the caller commits.

    :raise ActionError: on an unknown time zone, an end that is not after the start, or a prep
        meeting for itself or for another prep meeting (one level: prep meetings build major actions).
    """
    starts_at, ends_at = to_utc(data.starts_local, data.timezone), to_utc(data.ends_local, data.timezone)
    if ends_at <= starts_at:
        raise ActionError(_("The action must end after it starts."))
    if data.prepares_for_id:
        major = db.session.get(Action, data.prepares_for_id)
        if major is None or (action is not None and major.id == action.id) or major.prepares_for_id:
            raise ActionError(_("Choose a major action, not this action or another prep meeting."))
        if action is not None and action.prep_meetings:
            raise ActionError(_("This action has prep meetings of its own, so it cannot be one."))
    creating = action is None
    if action is None:
        action = Action(created_by_id=actor.id)
        db.session.add(action)
    fields = ("title", "type", "campaign_id", "prepares_for_id", "starts_at", "ends_at", "timezone", "location",
              "turnout_goal", "description")
    before = snapshot(action, fields)
    action.title = data.title.strip()
    action.type = data.type
    action.campaign_id = data.campaign_id or None
    action.prepares_for_id = data.prepares_for_id or None
    action.starts_at, action.ends_at, action.timezone = starts_at, ends_at, data.timezone
    action.location = (data.location or "").strip()
    action.turnout_goal = max(data.turnout_goal or 0, 0)
    action.description = (data.description or "").strip() or None
    db.session.flush()
    if creating:
        record(actor, "create", action, {"starts_at": starts_at.isoformat(), "goal": action.turnout_goal})
    else:
        record_changes(actor, action, before, snapshot(action, fields))
    return action


def archive_action(action: Action, actor: User) -> None:
    """Take an action off the lists (its RSVPs and attendance stay in everyone's history)."""
    if action.archived_at is None:
        action.archived_at = utcnow()
        record(actor, "archive", action)


def get_action(action_id: int) -> Action:
    """The action with ``action_id``, campaign loaded.

    :raise NotFound: when there is none.
    """
    action = db.session.scalar(_action_statement(), {"action_id": action_id})
    if action is None:
        raise NotFound()
    return action


def action_for_page(action_id: int) -> Row:
    """The action's columns (``id``, ``title``, ``starts_at``...) with its campaign's name
    (``campaign_name``) and the title of the action it prepares for (``prepares_for_title``),
    ``None`` when there is none: what the action page shows, in one row (one query, no objects).

    :raise NotFound: when there is none.
    """
    row = db.session.execute(_action_page_statement(), {"action_id": action_id}).one_or_none()
    if row is None:
        raise NotFound()
    return row


@functools.cache
def _action_page_statement() -> Select:
    # Of the tables' columns: run without the ORM's loading of two objects (see _rsvp_statements).
    from organizer.campaigns.models import Campaign

    actions, campaigns = Action.__table__, Campaign.__table__
    prepares_for = actions.alias("prepares_for")
    return (
        select(actions, campaigns.c.name.label("campaign_name"), prepares_for.c.title.label("prepares_for_title"))
        .select_from(actions)
        .outerjoin(campaigns, campaigns.c.id == actions.c.campaign_id)
        .outerjoin(prepares_for, prepares_for.c.id == actions.c.prepares_for_id)
        .where(actions.c.id == _ThisAction.id)
    )


@functools.cache
def _action_statement() -> Select:
    """The action by id (``action_id``), its campaign joined: built once, every action page reads it."""
    return select(Action).where(Action.id == _ThisAction.id).options(joinedload(Action.campaign))


def major_actions() -> list[Action]:
    """Actions a prep meeting can build toward: not archived, not prep meetings, soonest first."""
    return list(db.session.scalars(
        select(Action).where(Action.archived_at.is_(None), Action.prepares_for_id.is_(None))
        .order_by(Action.starts_at.desc()).limit(200)
    ))


def prep_meetings_with_attendance(action: Action) -> list[Row]:
    """The prep meetings held for ``action`` (``id``, ``title``, ``starts_at``, ``timezone``), each
    with how many people ``came`` (one query, the columns the action page shows)."""
    return list(db.session.execute(_prep_meetings_statement(), {"action_id": action.id}))


@functools.cache
def _prep_meetings_statement() -> Select:
    # Of the tables' columns: run without the ORM's loading of each row (see _rsvp_statements).
    actions, attendances = Action.__table__, Attendance.__table__
    a = actions.c
    return (
        select(a.id, a.title, a.starts_at, a.timezone, func.count(attendances.c.id).label("came"))
        .select_from(actions)
        .outerjoin(attendances, attendances.c.action_id == a.id)
        .where(a.prepares_for_id == _ThisAction.id, a.archived_at.is_(None))
        .group_by(a.id, a.title, a.starts_at, a.timezone).order_by(a.starts_at)
    )


def upcoming_actions() -> list[Action]:
    """Actions not yet over and not archived, soonest first."""
    return list(db.session.scalars(
        select(Action)
        .where(Action.archived_at.is_(None), Action.ends_at >= utcnow())
        .options(joinedload(Action.campaign))
        .order_by(Action.starts_at, Action.id)
    ))


@dataclass
class NextAction:
    """An action coming up, as the home page shows it."""

    action: Action
    committed: int  # turnout promised by institutions and leaders
    mine: int  # of which the user's own commitment
    yes: int
    predicted: float


def next_actions(user: User, limit: int = 3) -> list[NextAction]:
    """The next ``limit`` actions not yet over, with turnout committed (and ``user``'s own
    commitment), RSVP yes and predicted turnout. At most 3 + 3 × ``limit`` queries."""
    actions = list(db.session.scalars(
        select(Action).where(Action.archived_at.is_(None), Action.ends_at >= utcnow())
        .order_by(Action.starts_at, Action.id).limit(limit)
    ))
    ids = [a.id for a in actions]
    if not ids:
        return []
    committed = {
        action_id: (total or 0, mine or 0) for action_id, total, mine in db.session.execute(
            select(TurnoutCommitment.action_id, func.sum(TurnoutCommitment.number),
                   func.sum(TurnoutCommitment.number).filter(TurnoutCommitment.leader_id == user.id,
                                                             TurnoutCommitment.institution_id.is_(None)))
            .where(TurnoutCommitment.action_id.in_(ids)).group_by(TurnoutCommitment.action_id)
        )
    }
    counts = action_counts(ids)
    return [NextAction(a, *committed.get(a.id, (0, 0)), yes=counts[a.id]["yes"],
                       predicted=predict_turnout(a).expected) for a in actions]


def past_actions(limit: int = 100) -> list[Action]:
    """The latest ``limit`` actions already over (not archived), latest first."""
    return list(db.session.scalars(
        select(Action).where(Action.archived_at.is_(None), Action.ends_at < utcnow())
        .options(joinedload(Action.campaign)).order_by(Action.starts_at.desc()).limit(limit)
    ))


def action_counts(action_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """RSVP yes and checked-in counts for several actions (two queries), for list pages."""
    counts = {i: {"yes": 0, "attended": 0} for i in action_ids}
    if not action_ids:
        return counts
    for action_id, n in db.session.execute(
        select(Rsvp.action_id, func.count()).where(Rsvp.action_id.in_(action_ids), Rsvp.status == RsvpStatus.YES)
        .group_by(Rsvp.action_id)
    ):
        counts[action_id]["yes"] = n
    for action_id, n in db.session.execute(
        select(Attendance.action_id, func.count()).where(Attendance.action_id.in_(action_ids))
        .group_by(Attendance.action_id)
    ):
        counts[action_id]["attended"] = n
    return counts


# --- commitments ------------------------------------------------------------------------


def save_commitment(
    action: Action, number: int, actor: User, *, institution: Institution | None = None,
    committed_by_name: str | None = None, note: str | None = None,
) -> TurnoutCommitment:
    """Record (or change) a promise of turnout; the caller commits.

    With ``institution``: that institution's commitment, staff only, ``committed_by_name`` says
    who spoke for it. Without: the actor's own ("I will bring 8").
    :raise PermissionError: when a leader tries to commit for an institution.
    :raise ActionError: on a negative number.
    """
    if number < 0:
        raise ActionError(_("A commitment cannot be negative."))
    if institution is not None and not actor.is_staff:
        raise PermissionError(_("Only organizers record institutions' commitments."))
    stmt = select(TurnoutCommitment).where(TurnoutCommitment.action_id == action.id)
    if institution is not None:
        stmt = stmt.where(TurnoutCommitment.institution_id == institution.id)
    else:
        stmt = stmt.where(TurnoutCommitment.institution_id.is_(None), TurnoutCommitment.leader_id == actor.id)
    commitment = db.session.scalar(stmt)
    creating = commitment is None
    if commitment is None:
        commitment = TurnoutCommitment(action_id=action.id, institution_id=institution.id if institution else None,
                                leader_id=None if institution else actor.id, number=number,
                                committed_by_name=None if institution else actor.name)
        db.session.add(commitment)
    fields = ("number", "committed_by_name", "note")
    before = snapshot(commitment, fields)
    commitment.number = number
    if institution is not None:  # one's own commitment has no "who spoke for it" field to change
        commitment.committed_by_name = (committed_by_name or "").strip() or None
    commitment.note = (note or "").strip() or None
    ids = {"institution_id": commitment.institution_id, "leader_id": commitment.leader_id}
    if creating:
        commitment.recorded_by_id = actor.id
        db.session.flush()
        record(actor, "commitment", action, {**ids, "number": number})
    elif record_changes(actor, action, before, snapshot(commitment, fields), action="commitment", extra=ids):
        commitment.recorded_by_id = actor.id
    return commitment


def delete_commitment(action: Action, commitment_id: int, actor: User) -> None:
    """Remove a commitment of ``action``: staff any, a leader only their own; others are ignored."""
    commitment = db.session.get(TurnoutCommitment, commitment_id)
    if commitment is None or commitment.action_id != action.id:
        return
    if not actor.is_staff and commitment.leader_id != actor.id:
        return
    db.session.delete(commitment)
    record(actor, "commitment_removed", action, {"commitment_id": commitment_id})


@dataclass(slots=True)
class CommitmentRow:
    """One commitment as the action and turnout pages show it: the institution's or the
    leader's name with it (``None`` when there is none)."""

    id: int
    institution_id: int | None
    institution_name: str | None
    leader_id: int | None
    leader_name: str | None
    committed_by_name: str | None
    number: int
    note: str | None


def commitments_of(action: Action) -> list[CommitmentRow]:
    """The action's commitments, institutions' first, largest first, with the institutions' and
    leaders' names (one query; the columns shown, not the three whole rows of each)."""
    return [CommitmentRow(*row) for row in db.session.execute(_commitments_statement(), {"action_id": action.id})]


@functools.cache
def _commitments_statement() -> Select:
    # Of the tables' columns: run without the ORM's loading of each row (see _rsvp_statements).
    commitments, institutions, users = TurnoutCommitment.__table__, Institution.__table__, User.__table__
    c = commitments.c
    return (
        select(c.id, c.institution_id, institutions.c.name, c.leader_id, users.c.name, c.committed_by_name, c.number,
               c.note)
        .select_from(commitments)
        .outerjoin(institutions, institutions.c.id == c.institution_id)
        .outerjoin(users, users.c.id == c.leader_id)
        .where(c.action_id == _ThisAction.id)
        .order_by(c.institution_id.is_(None), c.number.desc())
    )


# --- RSVPs ------------------------------------------------------------------------------


def record_rsvp(
    action: Action, person: Person, status: RsvpStatus, source: RsvpSource, *,
    actor: User | None = None, recruited_by: User | None = None,
) -> Rsvp:
    """Set ``person``'s answer to ``action`` (one RSVP per person and action; audited).

    An existing RSVP keeps who recruited them unless ``recruited_by`` is given. The same answer
    again changes nothing: not its source (what the person told us stays theirs), not who
    recruited them, not its time. The caller checks that the actor may see ``person`` and commits.
    """
    rsvp = db.session.scalar(select(Rsvp).where(Rsvp.action_id == action.id, Rsvp.person_id == person.id))
    if rsvp is not None and rsvp.status is status:
        return rsvp
    before = rsvp.status.value if rsvp else None
    if rsvp is None:
        rsvp = Rsvp(action_id=action.id, person_id=person.id, status=status, source=source,
                    recruited_by_id=recruited_by.id if recruited_by else None)
        db.session.add(rsvp)
    else:
        rsvp.status, rsvp.source = status, source
        if recruited_by is not None:
            rsvp.recruited_by_id = recruited_by.id
        rsvp.updated_at = utcnow()
    db.session.flush()
    record(actor, "rsvp", rsvp, {"action_id": action.id, "person_id": person.id, "from": before,
                                 "to": status.value, "source": source.value},
           summary=f"{person.display_name}: {status.value} to {action.title}"[:255])
    return rsvp


def rsvp_by_user(action: Action, person: Person, status: RsvpStatus, actor: User) -> Rsvp:
    """An organizer or leader answers for one of their people; the actor is the recruiter.

    The caller loads ``person`` through ``get_visible_person`` (a leader's own people only).
    """
    source = RsvpSource.LEADER if actor.is_leader else RsvpSource.ORGANIZER
    before = db.session.scalar(select(Rsvp.status).where(Rsvp.action_id == action.id, Rsvp.person_id == person.id))
    rsvp = record_rsvp(action, person, status, source, actor=actor, recruited_by=actor)
    if status is RsvpStatus.YES and before is not RsvpStatus.YES:
        _confirm_staff_yes(rsvp)
    return rsvp


@dataclass(slots=True)
class RsvpRow:
    """One answer as the action page and the sign-in sheet show it: the answer, the person's
    names and phone, the recruiter's name (``None`` when nobody recruited them), whether they came."""

    id: int
    status: RsvpStatus
    source: RsvpSource
    recruited_by_id: int | None
    recruited_by: str | None
    person_id: int
    first_name: str
    preferred_name: str | None
    last_name: str
    phone: str | None
    came: bool

    @property
    def display_name(self) -> str:
        return display_name(self.first_name, self.preferred_name, self.last_name)

    @property
    def full_name(self) -> str:  # as ``Person.full_name``
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(slots=True)
class RsvpPage:
    """One page of an action's RSVPs as a viewer sees them, and the figures shown with it."""

    rows: list[RsvpRow]
    total: int  # the RSVPs the viewer may see (with the answer asked for), on every page
    checked_in: int  # everyone checked in at the action, whoever sees them


def rsvps_visible(user: User, action: Action, *, status: RsvpStatus | None = None,
                  page: int = 1, per_page: int = 50) -> RsvpPage:
    """A page of the RSVPs of people ``user`` may see, by name, each with whether they checked
    in; how many there are in all, and how many people checked in at the action (two queries,
    whatever the size).

    The page's RSVPs are chosen by name first (ids and names only) and only those fifty are read:
    sorting every RSVP with its person's and recruiter's whole rows and its check-in (1,500
    RSVPs to a large action) took four times as long. Staff see everyone, so their total is
    counted in the RSVPs' index without reading anyone's row. The statements are built once per
    kind of viewer, and the rows read are the columns shown, not whole people and users: building
    the statements and the objects was most of the action page's time."""
    params = {**viewer_params(user), "action_id": action.id, "status": status,
              "limit": per_page, "offset": (max(page, 1) - 1) * per_page}
    counts, rows = _rsvp_statements(viewer_scope(user), status is not None)
    total, checked_in = db.session.execute(counts, params).one()
    return RsvpPage([RsvpRow(*row[:-1], came=bool(row[-1])) for row in db.session.execute(rows, params).all()],
                    total or 0, checked_in or 0)


@functools.cache
def _rsvp_statements(scope: str, by_status: bool) -> tuple[Select, Select]:
    """For a viewer of that role: the count of the RSVPs of an action (``action_id``) they may see
    (with ``status`` when ``by_status``) with the action's check-in count, and one page of those
    RSVPs (``limit``, ``offset``) by name.

    Of the tables' columns, not the mapped attributes: a statement of plain columns is run by the
    session without the ORM's loading of each row (most of its Python time). A leader's condition
    (``people_visible_to_viewer``, the one rule of ``people_visible_to``) brings the ORM's back for theirs."""
    rsvps, people, users, attendances = Rsvp.__table__, Person.__table__, User.__table__, Attendance.__table__
    chosen = (
        select(rsvps.c.id)
        .join(people, people.c.id == rsvps.c.person_id)
        .where(rsvps.c.action_id == _ThisAction.id, people_visible_to_viewer(scope))
    )
    everyone = select(func.count()).select_from(rsvps).where(rsvps.c.action_id == _ThisAction.id)
    if by_status:
        status = bindparam("status", type_=rsvps.c.status.type)
        chosen, everyone = chosen.where(rsvps.c.status == status), everyone.where(rsvps.c.status == status)
    # people_visible_to is no condition for staff: every RSVP is theirs to see
    count = everyone if scope == "staff" else select(func.count()).select_from(chosen.subquery())
    checked_in = select(func.count()).select_from(attendances).where(attendances.c.action_id == _ThisAction.id)
    counts = select(count.scalar_subquery(), checked_in.scalar_subquery())
    by_name = (people.c.last_name, people.c.first_name, people.c.id)
    one_page = (chosen.order_by(*by_name).limit(bindparam("limit", type_=Integer()))
                .offset(bindparam("offset", type_=Integer())))
    # ``SELECT id``, not ``exists()``'s ``SELECT *``: SQLite then answers from the index alone.
    came = select(attendances.c.id).where(attendances.c.action_id == rsvps.c.action_id,
                                          attendances.c.person_id == rsvps.c.person_id).exists()
    rows = (
        select(rsvps.c.id, rsvps.c.status, rsvps.c.source, rsvps.c.recruited_by_id, users.c.name, people.c.id,
               people.c.first_name, people.c.preferred_name, people.c.last_name, people.c.phone, came)
        .select_from(rsvps)
        .join(people, people.c.id == rsvps.c.person_id)
        .outerjoin(users, users.c.id == rsvps.c.recruited_by_id)
        .where(rsvps.c.id.in_(one_page))
        .order_by(*by_name)
    )
    return counts, rows


def find_people_for_rsvp(user: User, action: Action, q: str, limit: int = 20) -> list[tuple[Person, RsvpStatus | None]]:
    """People ``user`` may see matching ``q``, with their current answer to ``action`` (one query)."""
    if not q.strip():
        return []
    stmt = (
        search_people(user, PersonFilters(q=q))
        .add_columns(Rsvp.status)
        .outerjoin(Rsvp, and_(Rsvp.person_id == Person.id, Rsvp.action_id == action.id))
        .limit(limit)
    )
    return [(p, s) for p, s in db.session.execute(stmt).all()]


# --- check-in ---------------------------------------------------------------------------


@dataclass
class CheckinRow:
    person: Person
    rsvp_status: RsvpStatus | None
    checked_in: bool

    @property
    def institutions(self) -> list[str]:
        return [m.institution.name for m in self.person.memberships]


def checkin_search(action: Action, user: User, q: str, limit: int = 20) -> list[CheckinRow]:
    """People matching a name or phone for the door, with RSVP and check-in state (two queries).

    Without ``q``: the people who said yes and have not arrived yet, by name.
    """
    if q.strip():
        stmt = search_people(user, PersonFilters(q=q))
    else:
        stmt = (
            select(Person).where(people_visible_to(user), Person.archived_at.is_(None))
            .join(Rsvp, and_(Rsvp.person_id == Person.id, Rsvp.action_id == action.id, Rsvp.status == RsvpStatus.YES))
            .where(~exists().where(Attendance.action_id == action.id, Attendance.person_id == Person.id))
            .order_by(Person.last_name, Person.first_name, Person.id)
        )
    rsvp, attendance = aliased(Rsvp), aliased(Attendance)
    stmt = (
        stmt.add_columns(rsvp.status, attendance.id)
        .outerjoin(rsvp, and_(rsvp.person_id == Person.id, rsvp.action_id == action.id))
        .outerjoin(attendance, and_(attendance.person_id == Person.id, attendance.action_id == action.id))
        .options(selectinload(Person.memberships).joinedload(Membership.institution))
        .limit(limit)
    )
    return [CheckinRow(p, s, a is not None) for p, s, a in db.session.execute(stmt).all()]


def checked_in_count(action: Action) -> int:
    """How many people have checked in at ``action``."""
    return db.session.scalar(_checked_in_statement(), {"action_id": action.id}) or 0


@functools.cache
def _checked_in_statement() -> Select:
    return select(func.count()).select_from(Attendance).where(Attendance.action_id == _ThisAction.id)


def check_in(action: Action, person: Person, actor: User) -> tuple[Attendance, bool]:
    """Check ``person`` in at ``action``; returns the attendance and whether it is new.

    Two devices checking in the same person at once both succeed and count one arrival:
    the second insert hits the unique (action, person) pair and gets the existing row.
    """
    existing = _attendance(action.id, person.id)
    if existing is not None:
        return existing, False
    said_yes = db.session.scalar(select(Rsvp.id).where(
        Rsvp.action_id == action.id, Rsvp.person_id == person.id, Rsvp.status == RsvpStatus.YES))
    attendance = Attendance(action_id=action.id, person_id=person.id, checked_in_by_id=actor.id,
                            walk_in=said_yes is None)
    try:
        with db.session.begin_nested():
            db.session.add(attendance)
    except IntegrityError:
        existing = _attendance(action.id, person.id)
        if existing is None:
            raise
        return existing, False
    record(actor, "check_in", action, {"person_id": person.id, "walk_in": attendance.walk_in},
           summary=f"{person.display_name} at {action.title}"[:255])
    return attendance, True


def _attendance(action_id: int, person_id: int) -> Attendance | None:
    return db.session.scalar(
        select(Attendance).where(Attendance.action_id == action_id, Attendance.person_id == person_id)
        .execution_options(populate_existing=True)
    )


def undo_check_in(action: Action, person_id: int, actor: User) -> bool:
    """Remove a check-in made by mistake; returns whether there was one."""
    attendance = _attendance(action.id, person_id)
    if attendance is None:
        return False
    db.session.delete(attendance)
    record(actor, "check_in_undone", action, {"person_id": person_id})
    return True


@dataclass
class WalkInData:
    first_name: str
    last_name: str = ""
    phone: str | None = None
    institution_id: int | None = None


def match_or_create_person(
    first_name: str, last_name: str, phone: str | None, email: str | None, *,
    actor: User | None, region: str, source: str, person_source: PersonSource,
) -> tuple[Person, bool]:
    """The person with this email, or this phone and name (:func:`find_same_person`), else a new
    one with no owner; and whether new.

    Existing records are reused as they are: nothing typed here overwrites them.
    :raise PhoneError: when the phone is not a valid number.
    """
    phone = normalize_phone(phone, region)
    email = (email or "").strip().lower() or None
    found = find_same_person(first_name, last_name, phone, email)
    if found is not None:
        return found, False
    person = Person(first_name=first_name.strip(), last_name=(last_name or "").strip(), phone=phone, email=email,
                    created_by_id=actor.id if actor else None, source=person_source)
    db.session.add(person)
    db.session.flush()
    record(actor, "create", person, {"source": source})
    return person, True


def _number_declined_by_another(person: Person) -> bool:
    """Whether somebody else with this person's phone has opted out of texts: a box ticked on a
    public form, which anyone can fill with any number, does not outweigh that "no"."""
    return db.session.scalar(
        select(func.count()).select_from(Person).where(
            Person.phone == person.phone, Person.id != person.id, Person.sms_consent == SmsConsent.OPTED_OUT)
    ) > 0


def walk_in(action: Action, data: WalkInData, actor: User, *, region: str) -> tuple[Attendance, Person, bool]:
    """Check in somebody at the door who may not be in Organizer yet: matched (phone and name), else created.

    Returns the attendance, the person and whether the person is new.
    :raise PhoneError: when the phone is not a valid number.
    """
    person, created = match_or_create_person(
        data.first_name, data.last_name, data.phone, None, actor=actor, region=region,
        source=f"walk-in at {action.title}"[:80], person_source=PersonSource.WALK_IN,
    )
    if created and actor.is_leader:
        # A leader at the door brought this person in: they join the leader's list, which is
        # also what lets the leader see the check-in they just made.
        person.owner_id = actor.id
    if data.institution_id and not any(m.institution_id == data.institution_id for m in person.memberships):
        person.memberships.append(Membership(institution_id=data.institution_id, role=MembershipRole.MEMBER))
        record(actor, "membership", person, {"institution_id": data.institution_id, "role": "member"})
    attendance, _new = check_in(action, person, actor)
    return attendance, person, created


# --- turnout ----------------------------------------------------------------------------

MIN_HISTORY = 2  # past RSVPs "yes" before a person's own show-up rate is trusted
MAYBE_WEIGHT = 0.5  # a "maybe" counts half as much as a "yes" from the same person
DEFAULT_SHOW_UP_RATE = 0.7  # used only when the federation has no past actions at all


@dataclass
class Prediction:
    expected: float
    federation_rate: float
    with_history: int
    without_history: int
    maybes: int


def predict_turnout(action: Action) -> Prediction:
    """Expected turnout from each RSVP'd person's own show-up history.

    A person's rate is actions attended / RSVPs "yes" over actions before this one; with fewer
    than ``MIN_HISTORY`` such RSVPs the federation's average rate stands in. Each "yes" adds
    the rate, each "maybe" ``MAYBE_WEIGHT`` times it.

    Two queries, cached by data version (``organizer.data_cache``): the prediction reads each
    answering person's kept counts (thousands at a large federation), and every write to RSVPs,
    check-ins or actions' starts changes that version in its own transaction, so a cached
    prediction is always the one computed afresh.
    """
    from organizer.data_cache import cached

    return cached(("turnout_prediction", action.id, action.starts_at), lambda: _predict(action), replace)


def _predict(action: Action, *, from_counts: bool = True) -> Prediction:
    """``predict_turnout`` computed: the federation's rate, then one row adding up everyone.

    The database adds it all up and answers one row: loading the thousands of answers and
    histories to add them in Python cost more than finding them.

    The figures come from the counts the triggers keep (``ActionTurnoutCount``,
    ``PersonTurnoutCount``): the rate adds up the earlier actions' counts (one row per action),
    and each answering person's history is their count less their yes answers to the actions
    *not* before this one (this one, later ones, archived ones), which are few when the action is
    recent (the one organizers watch); for an older action, where those are the many, the history
    is read from the earlier answers themselves. ``from_counts=False`` computes everything from
    the answers and check-ins alone (what the counts must always agree with).
    """
    params = {"action_id": action.id, "starts_at": action.starts_at}
    if from_counts:
        total, came, not_before, others = db.session.execute(_rate_statement(True), params).one()
        total, came = total or 0, came or 0
    else:
        total, came = db.session.execute(_rate_statement(False), params).one()
    federation_rate = (came / total) if total else DEFAULT_SHOW_UP_RATE
    if from_counts and (not_before or 0) <= total:
        # With no yes to another action not before this one (the latest action), there is
        # nothing to take from a person's counts but their own answer here.
        history = "counts" if others else "counts_only"
    else:
        history = "answers"
    own, with_history, answered, maybes, newcomers = db.session.execute(_sums_statement(history), params).one()
    expected = float(own or 0) + federation_rate * float(newcomers or 0)
    return Prediction(expected=expected, federation_rate=federation_rate, with_history=with_history,
                      without_history=answered - with_history, maybes=maybes)


class _ThisAction:
    """Stands for the action in a statement built once (``_rate_statement``...): its id and
    start are parameters given at execution (``action_id``, ``starts_at``). Building these
    statements (aliases, subqueries) cost more Python time than running some of them."""

    id = bindparam("action_id", type_=Integer())
    starts_at = bindparam("starts_at", type_=Action.__table__.c.starts_at.type)


@functools.cache
def _rate_statement(from_counts: bool) -> Select:
    """The federation's yes answers and arrivals among them before the action; from the kept
    counts, also the yes answers to the actions not before it, and to those other than this one
    (which history to read, and whether there are other answers to take away)."""
    before = _before(_ThisAction)  # type: ignore[arg-type]
    if from_counts:
        counts = ActionTurnoutCount
        return (select(func.sum(counts.said_yes).filter(before), func.sum(counts.yes_attended).filter(before),
                       func.sum(counts.said_yes).filter(~before),
                       func.sum(counts.said_yes).filter(~before, Action.id != _ThisAction.id))
                .select_from(counts).join(Action, Action.id == counts.action_id))
    return (
        select(func.count(), func.count(Attendance.id))
        .select_from(Rsvp)
        .join(Action, Action.id == Rsvp.action_id)
        .outerjoin(Attendance, and_(Attendance.action_id == Rsvp.action_id, Attendance.person_id == Rsvp.person_id))
        .where(Rsvp.status == RsvpStatus.YES, before)
    )


@functools.cache
def _sums_statement(history: str) -> Select:
    """One row adding up the action's answers with each person's history: their own rates
    (weighted), how many have a history, answers, maybes, and the weights of the others.

    ``history``: "counts" (kept counts less the answers not before this action), "counts_only"
    (the same when no other action not before this one has a yes), "answers" (the earlier
    answers and check-ins themselves)."""
    action, answer = _ThisAction, aliased(Rsvp)
    before = _before(action)  # type: ignore[arg-type]
    weight = case((answer.status == RsvpStatus.YES, 1.0), else_=MAYBE_WEIGHT)
    if history == "answers":
        answers, n, k = _history_from_answers(action, answer, before)  # type: ignore[arg-type]
    else:
        answers, n, k = _history_from_counts(action, answer, before,  # type: ignore[arg-type]
                                             others=history == "counts")
    has_history = n >= MIN_HISTORY
    return answers.with_only_columns(
        func.sum(case((has_history, weight * k / n))),
        func.count().filter(has_history),
        func.count(),
        func.count().filter(answer.status == RsvpStatus.MAYBE),
        func.sum(case((has_history, 0.0), else_=weight)),
    )


def _answers(action: Action, answer: type[Rsvp]) -> Select:
    """The action's yes and maybe answers (the rows the prediction adds up)."""
    return select(answer).where(answer.action_id == action.id,
                                answer.status.in_([RsvpStatus.YES, RsvpStatus.MAYBE]))


def _history_from_counts(action: Action, answer: type[Rsvp], before: ColumnElement[bool], *, others: bool):
    """The answers joined to each person's earlier yes answers (``n``) and arrivals among them
    (``k``): their kept counts less their yes answers to the actions not before this one.

    The answer to this action is taken away from its own row (a yes, and whether they came,
    joined by the check-in's unique key); only the *other* actions not before it are read from
    their answers (none, for the latest action): gathering this action's thousands of answers a
    second time, to group them, was most of the query. ``others`` false: there are none."""
    mine = PersonTurnoutCount
    here = aliased(Attendance)
    answers = (_answers(action, answer)
               .outerjoin(mine, mine.person_id == answer.person_id)
               .outerjoin(here, and_(here.action_id == action.id, here.person_id == answer.person_id)))
    said_yes = answer.status == RsvpStatus.YES
    n = func.coalesce(mine.said_yes, 0) - case((said_yes, 1), else_=0)
    k = func.coalesce(mine.yes_attended, 0) - case((and_(said_yes, here.id.is_not(None)), 1), else_=0)
    if not others:
        return answers, n, k
    # The actions as a list (``IN``), not a join: without statistics SQLite otherwise scanned
    # every yes answer of the federation to find those few actions' ones.
    other_actions = select(Action.id).where(~before, Action.id != action.id)
    elsewhere = (
        select(Rsvp.person_id, func.count().label("n"), func.count(Attendance.id).label("k"))
        .outerjoin(Attendance, and_(Attendance.action_id == Rsvp.action_id, Attendance.person_id == Rsvp.person_id))
        .where(Rsvp.action_id.in_(other_actions), Rsvp.status == RsvpStatus.YES)
        .group_by(Rsvp.person_id)
        .subquery()
    )
    answers = answers.outerjoin(elsewhere, elsewhere.c.person_id == answer.person_id)
    return answers, n - func.coalesce(elsewhere.c.n, 0), k - func.coalesce(elsewhere.c.k, 0)


def _history_from_answers(action: Action, answer: type[Rsvp], before: ColumnElement[bool]):
    """The same as ``_history_from_counts``, read from the earlier answers and check-ins of
    each answering person (people with fewer than ``MIN_HISTORY`` have ``n`` 0)."""
    history = (
        select(Rsvp.person_id, func.count().label("n"), func.count(Attendance.id).label("k"))
        .join(Action, Action.id == Rsvp.action_id)
        .outerjoin(Attendance, and_(Attendance.action_id == Rsvp.action_id, Attendance.person_id == Rsvp.person_id))
        .where(Rsvp.status == RsvpStatus.YES, before,
               Rsvp.person_id.in_(select(Rsvp.person_id).where(
                   Rsvp.action_id == action.id, Rsvp.status.in_([RsvpStatus.YES, RsvpStatus.MAYBE]))))
        .group_by(Rsvp.person_id)
        .having(func.count() >= MIN_HISTORY)
        .subquery()
    )
    answers = _answers(action, answer).outerjoin(history, history.c.person_id == answer.person_id)
    return answers, func.coalesce(history.c.n, 0), func.coalesce(history.c.k, 0)


def _before(action: Action) -> ColumnElement[bool]:
    """For a row joined to ``Action``: an action before ``action`` (its history), not archived."""
    return and_(Action.starts_at < action.starts_at, Action.archived_at.is_(None), Action.id != action.id)


@dataclass
class BreakdownRow:
    label: str
    committed: int = 0
    yes: int = 0
    attended: int = 0


#: Names the turnout page lists per list (the CSV has everyone).
PEOPLE_LISTED = 200


@dataclass
class ListedPerson:
    """One name on a turnout list: the link, the name, the phone as people write it."""

    id: int
    display_name: str
    phone: str


@dataclass
class Turnout:
    """The turnout page's figures; the lists of names hold at most ``PEOPLE_LISTED`` each."""

    goal: int
    committed: int
    yes: int
    maybe: int
    no: int
    attended: int
    attended_yes: int
    walk_ins: int
    prediction: Prediction
    by_institution: list[BreakdownRow]
    by_recruiter: list[BreakdownRow]
    started: bool
    # Sign-ups for people already on file, not yet confirmed: counted in nothing above.
    pending: int = 0
    no_shows: list[ListedPerson] = field(default_factory=list)  # the first PEOPLE_LISTED, by name
    first_timers: list[ListedPerson] = field(default_factory=list)
    no_show_count: int = 0  # all of them, counted by the database
    first_timer_count: int = 0

    @property
    def flakes(self) -> int:
        return self.yes - self.attended_yes

    @property
    def flake_rate(self) -> float | None:
        return (self.flakes / self.yes) if self.started and self.yes else None


def turnout(action: Action, user: User) -> Turnout:
    """Goal, commitments, answers, arrivals, prediction and breakdowns for ``action``.

    A fixed number of queries whatever the size. The totals cover everybody; the lists of
    names (no-shows, first-timers) only the people ``user`` may see.
    """
    # Kept by the triggers (``ActionTurnoutCount``): no row until someone answered or came.
    c = ActionTurnoutCount
    counts = db.session.execute(
        select(c.said_yes, c.said_maybe, c.said_no, c.yes_attended, c.pending, c.attended, c.walk_ins)
        .where(c.action_id == action.id)
    ).one_or_none() or (0,) * 7
    commitments = commitments_of(action)
    started = action.has_started
    result = Turnout(
        goal=action.turnout_goal, committed=sum(c.number for c in commitments),
        yes=counts[0], maybe=counts[1], no=counts[2], attended_yes=counts[3], pending=counts[4], attended=counts[5],
        walk_ins=counts[6], prediction=predict_turnout(action),
        by_institution=_by_institution(action, commitments), by_recruiter=_by_recruiter(action, commitments),
        started=started,
    )
    if started:
        region = get_organization().default_phone_region
        result.no_shows, result.no_show_count = _listed("no_show", action, user, region)
        result.first_timers, result.first_timer_count = _listed("first_timer", action, user, region)
    return result


def _listed(which: str, action: Action, user: User, region: str) -> tuple[list[ListedPerson], int]:
    """The first ``PEOPLE_LISTED`` of the action's ``which`` list that ``user`` may see, by name
    (names and phones only, phones formatted for those alone), and how many there are in all:
    one query, whatever the size.

    Each row carries the count of them all (``count(*) OVER ()``, computed before the limit):
    finding the people is most of the work, and a separate count did it a second time."""
    from organizer.people.services import format_phone

    statement = _list_statement(which, viewer_scope(user))
    rows = db.session.execute(statement, {**viewer_params(user), "action_id": action.id,
                                          "listed": PEOPLE_LISTED}).all()
    shown = [ListedPerson(pid, display_name(first, preferred, last), format_phone(phone, region) if phone else "")
             for pid, first, preferred, last, phone, _total in rows]
    return shown, rows[0][-1] if rows else 0


@functools.cache
def _list_statement(which: str, scope: str) -> Select:
    """The people of the action's ``which`` list (:data:`TURNOUT_LISTS`) a viewer of that role
    may see, by name: the first ``listed`` (a parameter), each row with the count of them all."""
    return (
        select(Person.id, Person.first_name, Person.preferred_name, Person.last_name, Person.phone,
               func.count().over())
        .where(turnout_condition(_ThisAction.id, which), people_visible_to_viewer(scope))
        .order_by(Person.last_name, Person.first_name, Person.id)
        .limit(bindparam("listed", type_=Integer()))
    )


def _by_institution(action: Action, commitments: list[CommitmentRow]) -> list[BreakdownRow]:
    """Per institution: committed, RSVP yes and arrived among its members (a person in two counts in both)."""
    rows = db.session.execute(_by_institution_statement(), {"action_id": action.id}).all()
    table = {i: BreakdownRow(name, yes=y, attended=a) for i, name, y, a in rows}
    for c in commitments:
        if c.institution_id is not None:
            table.setdefault(c.institution_id, BreakdownRow(c.institution_name or "")).committed += c.number
    return sorted(table.values(), key=lambda r: (-max(r.committed, r.yes), r.label))


def _by_recruiter(action: Action, commitments: list[CommitmentRow]) -> list[BreakdownRow]:
    """Per recruiter (who entered the RSVP): their own commitment, RSVP yes and arrived."""
    rows = db.session.execute(_by_recruiter_statement(), {"action_id": action.id}).all()
    table = {i: BreakdownRow(name, yes=y, attended=a) for i, name, y, a in rows}
    for c in commitments:
        if c.institution_id is None and c.leader_id is not None:
            table.setdefault(c.leader_id, BreakdownRow(c.leader_name or "")).committed += c.number
    return sorted(table.values(), key=lambda r: (-max(r.committed, r.yes), r.label))


@functools.cache
def _by_institution_statement() -> Select:
    """Per institution (id, name): members who said yes to the action, members who came, from
    the counts the triggers keep (``ActionInstitutionCount``): adding up every member's answer
    and check-in was the page's heaviest breakdown."""
    counts = ActionInstitutionCount
    return (select(Institution.id, Institution.name, counts.said_yes, counts.attended)
            .join(counts, counts.institution_id == Institution.id)
            .where(counts.action_id == _ThisAction.id))


@functools.cache
def _by_recruiter_statement() -> Select:
    """Per recruiter (id, name): the action's yes answers they entered, and those who came,
    from the counts the triggers keep (``ActionRecruiterCount``)."""
    counts = ActionRecruiterCount
    return (select(User.id, User.name, counts.said_yes, counts.yes_attended)
            .join(counts, counts.recruiter_id == User.id)
            .where(counts.action_id == _ThisAction.id))


#: The turnout lists a mobilization's audience (and the follow-ups) can be drawn from:
#: ``no_show``: said yes and were not checked in; ``first_timer``: checked in, and had never
#: come to an earlier action; ``attended``: checked in.
TURNOUT_LISTS = ("no_show", "first_timer", "attended")


def turnout_condition(action_id: int | BindParameter[int], which: str) -> ColumnElement[bool]:
    """The condition on ``Person`` for one of :data:`TURNOUT_LISTS` of the action: the one
    definition the turnout page's lists and the texts to them share, so both count the same
    people. Raises ``ValueError`` for another ``which``."""
    # The people come from the action's own rows (``IN``), not from testing every person
    # (``EXISTS`` per row): SQLite then walks this action's RSVPs or check-ins by index instead
    # of all the people (counting 2,000 no-shows among 100,000 people: ~10x faster). The test
    # that keeps or drops each row is made on those rows too (correlated to the RSVP or the
    # check-in, not to ``Person``): so only the people kept are read from ``people``, a lookup
    # that cost as much as the rest of the list (3,700 yeses for 1,300 no-shows).
    came_ids = select(Attendance.person_id).where(Attendance.action_id == action_id)
    if which == "no_show":
        # ``SELECT id`` (the row id every index holds), not ``SELECT *``: SQLite answers these
        # tests from the index alone instead of reading each check-in's row.
        came = select(Attendance.id).where(Attendance.action_id == action_id,
                                           Attendance.person_id == Rsvp.person_id).exists()
        return Person.id.in_(select(Rsvp.person_id).where(Rsvp.action_id == action_id,
                                                          Rsvp.status == RsvpStatus.YES, ~came))
    if which == "attended":
        return Person.id.in_(came_ids)
    if which == "first_timer":
        arrival, earlier = aliased(Attendance), aliased(Attendance)
        earlier_action = aliased(Action)
        this_action = select(Action.starts_at).where(Action.id == action_id).scalar_subquery()
        came_before = select(earlier.id).where(
            earlier.person_id == arrival.person_id, earlier.action_id == earlier_action.id,
            earlier_action.starts_at < this_action).exists()
        return Person.id.in_(select(arrival.person_id).where(arrival.action_id == action_id, ~came_before))
    raise ValueError(which)


def attendance_counts(person_ids: Iterable[int]) -> dict[int, int]:
    """How many actions each person attended (one query); people with none are left out."""
    ids = list(set(person_ids))
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Attendance.person_id, func.count()).where(Attendance.person_id.in_(ids))
        .group_by(Attendance.person_id)
    ).all())


def turnout_history(campaign_id: int) -> list[tuple[Action, int, int]]:
    """A campaign's past and current actions, each with RSVP yes and attended (one query)."""
    yes = (select(func.count()).where(Rsvp.action_id == Action.id, Rsvp.status == RsvpStatus.YES)
           .correlate(Action).scalar_subquery())
    came = (select(func.count()).where(Attendance.action_id == Action.id).correlate(Action).scalar_subquery())
    rows = db.session.execute(
        select(Action, yes, came).where(Action.campaign_id == campaign_id, Action.archived_at.is_(None))
        .order_by(Action.starts_at)
    ).all()
    return [(a, y, c) for a, y, c in rows]


def attendance_timeline(user: User, person: Person) -> list:
    """Timeline entries for the actions ``person`` attended (one query; the page checked visibility)."""
    from flask import url_for
    from flask_babel import gettext as _

    from organizer.people.timeline import TimelineEntry

    rows = db.session.execute(_attendance_timeline_statement(viewer_scope(user)),
                              {**viewer_params(user), "person_id": person.id}).all()
    return [
        TimelineEntry(when=when, kind="attendance", title=_("Attended %(title)s", title=title),
                      url=url_for("actions.detail", action_id=action_id))
        for when, action_id, title in rows
    ]


@functools.cache
def _attendance_timeline_statement(scope: str) -> Select:
    """Built once per kind of viewer: building a statement costs more than running it."""
    return (
        select(Attendance.checked_in_at, Action.id, Action.title)
        .join(Action, Action.id == Attendance.action_id)
        .where(Attendance.person_id == bindparam("person_id", type_=Integer), people_visible_to_viewer(scope))
        .join(Person, Person.id == Attendance.person_id)
    )


# --- exports ----------------------------------------------------------------------------


def export_csv(action: Action, user: User, kind: str) -> Iterator[str]:
    """The sign-in list ("signin": everyone who said yes or maybe, and walk-ins) or the turnout
    list ("turnout": everyone who came) as CSV chunks, limited to the people ``user`` may see.

    Audited right away with the number of rows (one count), so the caller commits before it
    streams; the rows are plain columns with each person's institutions joined in the same
    query, so the export costs the same few queries whatever its size.
    """
    from organizer.db import joined_strings
    from organizer.people.services import LIST_SEPARATOR, format_phone, joined_list, stream_csv, streaming_rows

    rsvp, attendance = aliased(Rsvp), aliased(Attendance)
    institutions = (select(joined_strings(Institution.name, LIST_SEPARATOR))
                    .join(Membership, Membership.institution_id == Institution.id)
                    .where(Membership.person_id == Person.id).scalar_subquery())
    stmt = (
        select(Person.id, Person.first_name, Person.last_name, Person.phone, Person.email, institutions,
               rsvp.status, attendance.checked_in_at, attendance.walk_in, User.name)
        .outerjoin(rsvp, and_(rsvp.person_id == Person.id, rsvp.action_id == action.id))
        .outerjoin(attendance, and_(attendance.person_id == Person.id, attendance.action_id == action.id))
        .outerjoin(User, User.id == rsvp.recruited_by_id)
        .where(people_visible_to(user))
        .order_by(Person.last_name, Person.first_name, Person.id)
    )
    if kind == "turnout":
        stmt = stmt.where(attendance.id.is_not(None))
    else:
        stmt = stmt.where(or_(rsvp.status.in_([RsvpStatus.YES, RsvpStatus.MAYBE]), attendance.id.is_not(None)))
    count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    record(user, "export", action, {"list": kind, "rows": count},
           summary=f"{kind} list of {action.title}: {count} rows"[:255])
    engine = db.engine

    def rows() -> Iterator[list[object]]:
        with streaming_rows(engine, stmt) as found:
            for person_id, first, last, phone, email, names, status, at, was_walk_in, recruiter in found:
                yield [person_id, first, last, format_phone(phone), email or "", joined_list(names),
                       status.value if status else "", recruiter or "", at.isoformat() if at else "",
                       "yes" if was_walk_in else ""]

    return stream_csv(["person_id", "first_name", "last_name", "phone", "email", "institutions", "rsvp",
                       "recruited_by", "checked_in_at", "walk_in"], rows())


# --- public sign-up ---------------------------------------------------------------------
#
# Anybody can type anybody's phone number on the public page, so a sign-up is evidence of
# nothing about a person already on file: it never changes what they told us (an answer, an
# opt-out), and its "yes" for them waits as PENDING until they confirm by text or staff do.
# Floods: each address may send only a few sign-ups per phone or email (a household on one
# Wi-Fi signs up many different people), and past a cap per action and hour sign-ups are held
# for staff instead of creating anything.


def check_signup_rate(action: Action, address: str, contact: str | None, *, max_attempts: int,
                      max_per_address: int, window_seconds: int) -> SignupAttempt:
    """Count this submission and return it (the caller sets its outcome), refusing it when
    this address already sent too many for this phone or email, or too many in all.

    :raise SignupThrottled: when ``max_attempts`` were made from ``address`` for ``contact``, or
        ``max_per_address`` from ``address``, within ``window_seconds``.
    """
    since = utcnow() - timedelta(seconds=window_seconds)
    contact = (contact or "")[:254]
    same_address = and_(SignupAttempt.action_id == action.id, SignupAttempt.address == address[:64],
                        SignupAttempt.at >= since)
    from_address, same_contact = db.session.execute(
        select(func.count(), func.count().filter(SignupAttempt.contact == contact)).where(same_address)
    ).one()
    if (same_contact or 0) >= max_attempts or (from_address or 0) >= max_per_address:
        raise SignupThrottled()
    attempt = SignupAttempt(action_id=action.id, address=address[:64], contact=contact)
    db.session.add(attempt)
    return attempt


def signup_contact(phone: str | None, email: str | None, region: str) -> str:
    """What identifies who a sign-up is for, for the per-address limit: the phone as E.164 (as
    typed when it is not a valid number), else the email. Raises nothing."""
    try:
        normalized = normalize_phone(phone, region)
    except PhoneError:
        normalized = (phone or "").strip()
    return normalized or (email or "").strip().lower()


def signup_cap_reached(action: Action, cap: int, now: datetime | None = None) -> bool:
    """Whether ``action`` has taken ``cap`` sign-ups in the last hour, from all addresses
    together (``cap`` 0 or less: no cap). Raises nothing."""
    if cap <= 0:
        return False
    since = (now or utcnow()) - timedelta(hours=1)
    taken = db.session.scalar(
        select(func.count()).select_from(SignupAttempt)
        .where(SignupAttempt.action_id == action.id, SignupAttempt.outcome == "accepted", SignupAttempt.at >= since)
    ) or 0
    return taken >= cap


def open_for_signup(token: str) -> Action:
    """The action behind a public sign-up link, while it is not over or archived.

    :raise NotFound: for an unknown token, an archived action or one already over.
    """
    action = db.session.scalar(select(Action).where(Action.signup_token == token))
    if action is None or action.archived_at is not None or action.ends_at < utcnow():
        raise NotFound()
    return action


def over_for_signup(token: str) -> Action | None:
    """The action behind a public sign-up link when it has already happened (not archived), else None.

    Its link then answers with a page pointing to what's next rather than a bare 404.
    """
    action = db.session.scalar(select(Action).where(Action.signup_token == token))
    if action is None or action.archived_at is not None or action.ends_at >= utcnow():
        return None
    return action


def next_public_action(action: Action) -> Action | None:
    """The earliest action of the same campaign still open for sign-up, if any."""
    if action.campaign_id is None:
        return None
    return db.session.scalar(
        select(Action).where(
            Action.campaign_id == action.campaign_id, Action.id != action.id,
            Action.archived_at.is_(None), Action.ends_at >= utcnow(),
        ).order_by(Action.starts_at, Action.id).limit(1)
    )


@dataclass
class SignupData:
    first_name: str
    last_name: str
    phone: str | None
    email: str | None
    sms_consent: bool


@dataclass
class SignupResult:
    """What a sign-up did: held for review, or an RSVP (maybe pending the person's confirmation)."""

    held: HeldSignup | None = None
    rsvp: Rsvp | None = None
    person_created: bool = False

    @property
    def pending(self) -> bool:
        return self.rsvp is not None and self.rsvp.status is RsvpStatus.PENDING


def public_signup(action: Action, data: SignupData, *, region: str, address: str, cap: int) -> SignupResult:
    """A sign-up from the public page: held for staff when the action's hourly ``cap`` is
    reached, else applied (:func:`apply_signup`). The caller counted the attempt and commits.

    :raise PhoneError: when the phone is not a valid number.
    """
    phone = normalize_phone(data.phone, region)
    if signup_cap_reached(action, cap):
        held = HeldSignup(action_id=action.id, first_name=data.first_name.strip()[:80],
                          last_name=(data.last_name or "").strip()[:80], phone=phone,
                          email=(data.email or "").strip().lower() or None, sms_consent=data.sms_consent,
                          address=address[:64])
        db.session.add(held)
        db.session.flush()
        record(None, "signup_held", action, {"held_signup_id": held.id},
               summary=f"sign-up held for review: {action.title}"[:255])
        return SignupResult(held=held)
    return apply_signup(action, data, actor=None, region=region)


def apply_signup(action: Action, data: SignupData, *, actor: User | None, region: str) -> SignupResult:
    """Match the sign-up to a person (email, or phone and name: :func:`match_or_create_person`),
    else create one (source: sign-up),
    and record their RSVP without overriding anything they told us:

    - an answer they already gave to this action stays as it is (a "no" is not turned into a
      "yes", nor a "maybe");
    - for a new person the RSVP is "yes"; for somebody already on file it is PENDING until they
      reply YES to the confirmation text (sent by the registered confirmers) or staff confirm;
    - a ticked consent box opts in a new person, or one never asked, unless somebody else with
      that phone opted out; an opted-out person stays opted out, and an unticked box never opts
      anybody out.

    ``actor`` is the staff member accepting a held sign-up (``None`` from the public page).
    :raise PhoneError: when the phone is not a valid number.
    """
    person, created = match_or_create_person(
        data.first_name, data.last_name, data.phone, data.email, actor=actor, region=region,
        source=f"sign-up form {action.title}"[:80], person_source=PersonSource.SIGNUP,
    )
    if (data.sms_consent and person.phone and person.sms_consent in (None, SmsConsent.UNKNOWN)
            and not _number_declined_by_another(person)):
        set_sms_consent(person, SmsConsent.OPTED_IN, method=ConsentMethod.SIGNUP, actor=actor,
                        detail=f"signup form {action.title}")
    rsvp = db.session.scalar(select(Rsvp).where(Rsvp.action_id == action.id, Rsvp.person_id == person.id))
    if rsvp is not None:
        record(actor, "signup_kept_answer", rsvp, {"action_id": action.id, "person_id": person.id,
                                                    "answer": rsvp.status.value},
               summary=f"sign-up for {person.display_name} left their answer as it was"[:255])
        return SignupResult(rsvp=rsvp)
    status = RsvpStatus.YES if created else RsvpStatus.PENDING
    rsvp = record_rsvp(action, person, status, RsvpSource.SIGNUP, actor=actor)
    # Pending: the confirmers ask the person to reply YES; yes (a new person): they confirm it.
    for ask in current_app.extensions.get("signup_confirmers", []):
        ask(rsvp)
    return SignupResult(rsvp=rsvp, person_created=created)


def register_signup_confirmer(app: Flask, ask: Callable[[Rsvp], object],
                              after_commit: Callable[[], object] | None = None) -> None:
    """Let another area follow up a sign-up: ask people to confirm a pending one (texting
    does: "reply YES"), or confirm a yes. ``ask(rsvp)`` runs for every new sign-up RSVP, in
    the sign-up's transaction; ``after_commit()`` sends what it queued,
    called by the page once the sign-up is committed (:func:`signup_committed`)."""
    app.extensions.setdefault("signup_confirmers", []).append(ask)
    if after_commit is not None:
        app.extensions.setdefault("signup_after_commit", []).append(after_commit)


def register_rsvp_confirmer(app: Flask, confirm: Callable[[Rsvp], object]) -> None:
    """Let another area confirm a yes recorded by staff or a leader (texting does, when the
    organization wants it). ``confirm(rsvp)`` runs in the RSVP's transaction; the page sends
    what it queued after the commit with :func:`signup_committed`."""
    app.extensions.setdefault("rsvp_confirmers", []).append(confirm)


def _confirm_staff_yes(rsvp: Rsvp) -> None:
    for confirm in current_app.extensions.get("rsvp_confirmers", []):
        confirm(rsvp)


def signup_committed() -> None:
    """Call right after committing a sign-up: the confirmers send what they queued. Raises nothing
    of its own (a confirmer's send that fails is retried by its own machinery)."""
    for send in current_app.extensions.get("signup_after_commit", []):
        send()


def confirm_pending_rsvp(action: Action, rsvp_id: int, actor: User | None, *,
                         status: RsvpStatus = RsvpStatus.YES) -> Rsvp | None:
    """Turn a pending sign-up into an answer (staff, or the person replying YES or NO by text);
    ``None`` when ``rsvp_id`` is not a pending RSVP of ``action``. The caller commits."""
    rsvp = db.session.get(Rsvp, rsvp_id)
    if rsvp is None or rsvp.action_id != action.id or rsvp.status is not RsvpStatus.PENDING:
        return None
    rsvp = record_rsvp(action, rsvp.person, status, rsvp.source, actor=actor)
    if actor is not None and status is RsvpStatus.YES:
        _confirm_staff_yes(rsvp)
    return rsvp


def discard_pending_rsvp(action: Action, rsvp_id: int, actor: User) -> bool:
    """Staff drop a pending sign-up (not the person's, or never confirmed); returns whether
    there was one. The person record stays. The caller commits."""
    rsvp = db.session.get(Rsvp, rsvp_id)
    if rsvp is None or rsvp.action_id != action.id or rsvp.status is not RsvpStatus.PENDING:
        return False
    db.session.delete(rsvp)
    record(actor, "rsvp_discarded", action, {"person_id": rsvp.person_id, "rsvp_id": rsvp_id})
    return True


def held_signups(page: int = 1, per_page: int = 50) -> tuple[list[HeldSignup], int]:
    """Sign-ups waiting for staff, oldest first, with their actions (two queries)."""
    stmt = select(HeldSignup).where(HeldSignup.decided_at.is_(None)).order_by(HeldSignup.created_at, HeldSignup.id)
    one_page, total = paged(stmt, page, per_page)
    return list(db.session.scalars(one_page.options(joinedload(HeldSignup.action)))), total


def held_signup_count() -> int:
    """How many sign-ups wait for staff (one query)."""
    return db.session.scalar(select(func.count()).select_from(HeldSignup).where(HeldSignup.decided_at.is_(None))) or 0


def decide_held_signup(held_id: int, actor: User, *, accept: bool, region: str) -> SignupResult | None:
    """Staff accept a held sign-up (it then becomes a person and RSVP by the same rules as any
    sign-up) or discard it; ``None`` when it was decided already (two staff, two tabs).
    The caller commits.

    :raise PhoneError: never in practice: a held sign-up's phone was checked on arrival.
    """
    moved = db.session.execute(
        update(HeldSignup).where(HeldSignup.id == held_id, HeldSignup.decided_at.is_(None))
        .values(decided_at=utcnow(), decided_by_id=actor.id, decision="accepted" if accept else "discarded"),
        execution_options={"synchronize_session": False},
    ).rowcount
    if moved != 1:
        return None
    held = db.session.get(HeldSignup, held_id, populate_existing=True)
    record(actor, "signup_accepted" if accept else "signup_discarded", held.action, {"held_signup_id": held.id})
    if not accept:
        return SignupResult(held=held)
    result = apply_signup(held.action, SignupData(
        first_name=held.first_name, last_name=held.last_name, phone=held.phone, email=held.email,
        sms_consent=held.sms_consent), actor=actor, region=region)
    held.person_id = result.rsvp.person_id if result.rsvp else None
    result.held = held
    return result


def people_from_signups(page: int = 1, per_page: int = 50) -> tuple[list[Person], int]:
    """People the public sign-up page created (nobody vouched for them), newest first."""
    stmt = (select(Person).where(Person.source == PersonSource.SIGNUP, Person.archived_at.is_(None))
            .order_by(Person.created_at.desc(), Person.id.desc()))
    return page_of_people(stmt, page, per_page)
