"""Rules for one-to-ones, follow-ups, the pipeline and the relational network.

Every query that returns people is scoped with ``people_visible_to(user)``: a leader
logs, reads and moves only their own people; organizers and admins work with everyone.
A one-to-one is visible exactly when its person is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, has_app_context
from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    distinct,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import aliased, joinedload, selectinload
from werkzeug.exceptions import NotFound

from organizer.audit.services import record, record_changes, snapshot
from organizer.auth.models import Role, User
from organizer.db import utcnow
from organizer.extensions import db
from organizer.institutions.models import Institution, Membership
from organizer.people.models import Person, display_name
from organizer.people.services import (
    PersonData,
    create_person,
    get_visible_person,
    people_visible_to,
    people_visible_to_viewer,
    unarchived_people_count,
    viewer_params,
    viewer_scope,
)
from organizer.people.timeline import TimelineEntry
from organizer.relational.models import (
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    Issue,
    MeetingMode,
    OneToOne,
    PersonPipeline,
    Stage,
    StageMove,
)
from organizer.settings.services import SettingsError, add_list_entry, organization_zone


class RelationalError(ValueError):
    """A one-to-one, follow-up or pipeline change that breaks a rule."""


# --- managed lists ----------------------------------------------------------------------

DEFAULT_STAGES = [
    ("Contact", "Someone we know of or have met once."),
    ("Prospect", "Had a real one-to-one; we know their self-interest and story."),
    ("Emerging leader", "Shows energy about an issue, follows through on commitments, starts bringing others."),
    ("Leader", "Holds one-to-ones, has a following and turns them out; on a team."),
    ("Core leader", "Shapes strategy, develops other leaders, negotiates with power."),
]
SUGGEST_FOR_STAGE = "Emerging leader"
DEFAULT_ISSUES = ["housing", "transit", "wages", "immigration", "schools", "health", "safety",
                  "public safety", "environment", "childcare"]


def seed_defaults() -> None:
    """Add the default stages and issues when their lists are empty (idempotent; the caller commits)."""
    if db.session.scalar(select(Stage.id).limit(1)) is None:
        for position, (name, description) in enumerate(DEFAULT_STAGES, start=1):
            db.session.add(Stage(name=name, position=position, description=description,
                                 suggest_for=name == SUGGEST_FOR_STAGE))
    if db.session.scalar(select(Issue.id).limit(1)) is None:
        db.session.add_all(Issue(name=name) for name in DEFAULT_ISSUES)
    db.session.flush()
    _forget_stages()


def stages() -> list[Stage]:
    """The pipeline's stages in order.

    Cached on ``g`` (as the organization is): a page asks once however many of its parts need
    them. Changing the stages here forgets the cache.
    """
    if has_app_context() and "pipeline_stages" in g:
        return g.pipeline_stages
    all_stages = list(db.session.scalars(_stages_statement()))
    if has_app_context():
        g.pipeline_stages = all_stages
    return all_stages


@cache
def _stages_statement() -> Select[tuple[Stage]]:
    """Built once per process: building a statement costs more than running it."""
    return select(Stage).order_by(Stage.position, Stage.id)


def _forget_stages() -> None:
    if has_app_context():
        g.pop("pipeline_stages", None)


def issues() -> list[Issue]:
    return list(db.session.scalars(select(Issue).order_by(Issue.name)))


def _first_stage_id(all_stages: Sequence[Stage]) -> int:
    """The stage of people who have no pipeline row yet.

    :raise RelationalError: when there are no stages at all.
    """
    if not all_stages:
        raise RelationalError(_("There are no pipeline stages; an admin must add one."))
    return all_stages[0].id


def save_stage(stage: Stage | None, *, name: str, position: int, description: str, suggest_for: bool,
               actor: User) -> Stage:
    """Create or change a stage (the caller commits). Only one stage is the target of suggestions.

    :raise RelationalError: when the name is empty or taken by another stage.
    """
    name = " ".join(name.split())
    if not name:
        raise RelationalError(_("A name is required."))
    clash = db.session.scalar(select(Stage.id).where(Stage.name == name))
    if clash is not None and (stage is None or clash != stage.id):
        raise RelationalError(_("There is already a stage called %(name)s.", name=name))
    creating = stage is None
    if stage is None:
        stage = Stage(name=name)
        db.session.add(stage)
    fields = ("name", "position", "description", "suggest_for")
    before = snapshot(stage, fields)
    stage.name, stage.position, stage.description = name, position, description.strip()
    if suggest_for and not stage.suggest_for:
        db.session.execute(update(Stage).where(Stage.suggest_for.is_(True)).values(suggest_for=False))
    stage.suggest_for = suggest_for
    db.session.flush()
    _forget_stages()
    if creating:
        record(actor, "save", stage)
    else:
        record_changes(actor, stage, before, snapshot(stage, fields), action="save")
    return stage


def delete_stage(stage: Stage, actor: User) -> None:
    """Remove a stage nobody is in and nobody ever moved to.

    :raise RelationalError: when people are (or were) in it, or it is the last stage.
    """
    in_use = db.session.scalar(select(PersonPipeline.person_id).where(PersonPipeline.stage_id == stage.id).limit(1))
    moved = db.session.scalar(select(StageMove.id).where(StageMove.to_stage_id == stage.id).limit(1))
    if in_use is not None or moved is not None:
        raise RelationalError(_("People are or were in this stage; rename it instead."))
    if db.session.scalar(select(func.count()).select_from(Stage)) <= 1:
        raise RelationalError(_("The pipeline needs at least one stage."))
    record(actor, "delete", stage)
    db.session.delete(stage)
    _forget_stages()


def add_issue(name: str, actor: User) -> Issue:
    """Add an issue to the managed list (the caller commits).

    :raise RelationalError: when the name is empty or already on the list.
    """
    try:
        return add_list_entry(Issue, name.lower(), actor)  # issues are tags: kept in lower case
    except SettingsError as error:
        raise RelationalError(str(error)) from None


# --- dates ------------------------------------------------------------------------------


def local_today() -> date:
    """Today in the federation's time zone (one-to-ones and follow-ups are dated, not timed)."""
    return datetime.now(organization_zone()).date()


class MeetingDateError(RelationalError):
    """A one-to-one dated after today, or a follow-up set before its meeting; ``field`` names
    the form field to show it on."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def check_meeting_dates(held_on: date, follow_up_on: date | None, *, check_held_on: bool = True) -> None:
    """A meeting cannot be dated after today in the federation's time zone (a future date would
    hide the person from going-cold and stalled lists until then), and its follow-up cannot be
    earlier than the meeting.

    :raise MeetingDateError: naming the field at fault.
    """
    if check_held_on and held_on > local_today():
        raise MeetingDateError(_("A one-to-one cannot be dated after today."), "held_on")
    if follow_up_on is not None and follow_up_on < held_on:
        raise MeetingDateError(_("The follow-up cannot be earlier than the meeting."), "follow_up_on")


def date_as_datetime(day: date) -> datetime:
    """Noon of ``day`` in the federation's time zone, as aware UTC (to sort dates among timestamps)."""
    return datetime.combine(day, time(12), tzinfo=organization_zone()).astimezone(UTC)


# --- logging one-to-ones ----------------------------------------------------------------


@dataclass
class CommitmentData:
    kind: CommitmentKind
    quantity: int | None = None
    note: str | None = None


@dataclass
class OneToOneData:
    """A one-to-one as the form hands it over: an existing person, or a new one's name and phone."""

    held_on: date
    person_id: int | None = None
    new_first_name: str | None = None
    new_last_name: str | None = None
    new_phone: str | None = None
    held_by_id: int | None = None  # staff only; leaders always hold their own
    duration_minutes: int | None = None
    mode: MeetingMode = MeetingMode.IN_PERSON
    place: str | None = None
    self_interest: str | None = None
    story: str | None = None
    issue_ids: Sequence[int] = field(default_factory=list)
    assessment: int | None = None
    commitments: Sequence[CommitmentData] = field(default_factory=list)
    next_step: str | None = None
    follow_up_on: date | None = None


def _holder(data: OneToOneData, actor: User) -> User:
    """Who held the meeting: a leader always themselves; staff themselves or any active leader or organizer.

    :raise RelationalError: when the chosen account is not an active user who holds relationships.
    """
    if actor.is_leader or not data.held_by_id or data.held_by_id == actor.id:
        return actor
    return _active_account(data.held_by_id)


def _active_account(user_id: int) -> User:
    """The account ``user_id`` if it may hold one-to-ones.

    :raise RelationalError: when there is no such account or it is not active.
    """
    holder = db.session.get(User, user_id)
    if holder is None or not holder.active:
        raise RelationalError(_("That account cannot hold one-to-ones."))
    return holder


def _check_assessment(assessment: int | None) -> None:
    """:raise RelationalError: when an assessment is given outside 1-5."""
    if assessment is not None and not 1 <= assessment <= 5:
        raise RelationalError(_("The assessment is from 1 to 5."))


def log_one_to_one(data: OneToOneData, actor: User, *, region: str) -> OneToOne:
    """Record a one-to-one (the caller commits), creating the person on the spot if asked.

    A leader logs only with their own people; a new person they create is theirs. When a
    staff member logs on behalf of someone, a new person's relationship is held by that someone.
    Logging a meeting closes the holder's open follow-ups with the same person.

    :raise NotFound: when ``person_id`` is someone the actor may not see.
    :raise RelationalError: when neither a person nor a new name is given, or the holder is invalid.
    :raise PhoneError: when the new person's phone is not a valid number.
    :raise MeetingDateError: when the meeting is dated after today or its follow-up before it.
    """
    check_meeting_dates(data.held_on, data.follow_up_on)
    holder = _holder(data, actor)
    if data.person_id:
        person = get_visible_person(actor, data.person_id)
    elif data.new_first_name and data.new_first_name.strip():
        person = create_person(
            PersonData(first_name=data.new_first_name, last_name=data.new_last_name or "",
                       phone=data.new_phone, owner_id=holder.id),
            actor, region=region,
        )
    else:
        raise RelationalError(_("Choose a person or enter a new person's name."))
    _check_assessment(data.assessment)
    # The meeting itself is the follow-up the holder had planned with this person.
    db.session.execute(
        update(OneToOne)
        .where(OneToOne.person_id == person.id, OneToOne.held_by_id == holder.id,
               OneToOne.follow_up_on.is_not(None), OneToOne.follow_up_done_at.is_(None))
        .values(follow_up_done_at=utcnow())
    )
    one = OneToOne(
        person_id=person.id, held_by_id=holder.id, held_on=data.held_on,
        duration_minutes=data.duration_minutes, mode=data.mode, place=_clean(data.place),
        self_interest=_clean(data.self_interest), story=_clean(data.story), assessment=data.assessment,
        next_step=_clean(data.next_step), follow_up_on=data.follow_up_on, created_by_id=actor.id,
    )
    if data.issue_ids:
        one.issues = list(db.session.scalars(select(Issue).where(Issue.id.in_(data.issue_ids))))
    one.commitments = [Commitment(kind=c.kind, quantity=c.quantity, note=_clean(c.note)) for c in data.commitments]
    db.session.add(one)
    db.session.flush()
    refresh_summary(person.id)
    record(actor, "create", one, {"person_id": person.id, "held_by_id": holder.id},
           summary=f"one-to-one with {person.display_name}")
    return one


def _clean(text: str | None) -> str | None:
    return (text or "").strip() or None


def _pipeline_row(person_id: int) -> PersonPipeline:
    """The person's pipeline row, made at the first stage when they have none."""
    row = db.session.get(PersonPipeline, person_id)
    if row is None:
        row = PersonPipeline(person_id=person_id, stage_id=_first_stage_id(stages()), one_to_one_count=0)
        db.session.add(row)
    return row


def refresh_summary(person_id: int) -> PersonPipeline:
    """Recompute the person's one-to-one summary (count, last date, latest assessment) from the meetings."""
    count, last = db.session.execute(
        select(func.count(), func.max(OneToOne.held_on)).where(OneToOne.person_id == person_id)
    ).one()
    latest = db.session.scalar(
        select(OneToOne.assessment)
        .where(OneToOne.person_id == person_id, OneToOne.assessment.is_not(None))
        .order_by(OneToOne.held_on.desc(), OneToOne.id.desc()).limit(1)
    )
    row = _pipeline_row(person_id)
    row.one_to_one_count, row.last_one_to_one_on, row.last_assessment = count, last, latest
    db.session.flush()
    return row


def get_visible_one_to_one(user: User, one_to_one_id: int) -> OneToOne:
    """The one-to-one if ``user`` may see its person.

    :raise NotFound: when there is no such meeting or its person is outside the user's list.
    """
    one = db.session.scalar(
        select(OneToOne).join(Person, Person.id == OneToOne.person_id)
        .where(OneToOne.id == one_to_one_id, people_visible_to(user))
        .options(joinedload(OneToOne.person), joinedload(OneToOne.held_by),
                 selectinload(OneToOne.issues), selectinload(OneToOne.commitments))
    )
    if one is None:
        raise NotFound()
    return one


def can_edit_one_to_one(user: User, one: OneToOne) -> bool:
    """Whether ``user`` may correct ``one``, a meeting from ``get_visible_one_to_one`` (so with
    someone on their list): staff any; a leader only a meeting they held themselves."""
    return user.is_staff or one.held_by_id == user.id


def get_editable_one_to_one(user: User, one_to_one_id: int) -> OneToOne:
    """The one-to-one if ``user`` may correct it (see ``can_edit_one_to_one``).

    :raise NotFound: when there is no such meeting or the user may not see or change it; the
        cases look the same, so nobody learns about meetings they cannot edit.
    """
    one = get_visible_one_to_one(user, one_to_one_id)
    if not can_edit_one_to_one(user, one):
        raise NotFound()
    return one


# Free text about the person: in the audit log only for those who may see sensitive data.
_PRIVATE_FIELDS = ("place", "self_interest", "story", "next_step")


def _meeting_snapshot(one: OneToOne) -> dict[str, object]:
    return snapshot(one, ("held_on", "held_by_id", "duration_minutes", "mode", "place", "self_interest", "story",
                          "assessment", "next_step", "follow_up_on", "follow_up_done_at"),
                    issues=[i.id for i in one.issues])


def update_one_to_one(one: OneToOne, data: OneToOneData, actor: User) -> OneToOne:
    """Correct a logged one-to-one (the caller commits): its date, length, mode, place, what was
    learned, issues, assessment, next step and follow-up date, and (staff only) who held it.

    The person met never changes and commitments keep their own flow (marked kept or not), so
    ``data``'s person and commitment fields are not read. A new follow-up date reopens the
    follow-up, as rescheduling does. The person's summary (last one-to-one, latest assessment)
    is recomputed. The audit event has the old and new value of each changed field (free text
    marked sensitive); saved unchanged, nothing is recorded.

    :raise RelationalError: when ``actor`` may not change this meeting, the assessment is not
        1-5, the chosen holder cannot hold one-to-ones, or the dates are not possible.
    """
    if not can_edit_one_to_one(actor, one):
        raise RelationalError(_("Only whoever held the meeting, or an organizer, can change it."))
    _check_assessment(data.assessment)
    check_meeting_dates(data.held_on, data.follow_up_on)
    holder = one.held_by
    if actor.is_staff and data.held_by_id and data.held_by_id != one.held_by_id:
        holder = _active_account(data.held_by_id)
    before = _meeting_snapshot(one)
    if data.follow_up_on != one.follow_up_on:
        one.follow_up_done_at = None
    one.held_by = holder
    one.held_on, one.duration_minutes, one.mode = data.held_on, data.duration_minutes, data.mode
    one.place, one.self_interest, one.story = _clean(data.place), _clean(data.self_interest), _clean(data.story)
    one.issues = list(db.session.scalars(select(Issue).where(Issue.id.in_(data.issue_ids or []))))
    one.assessment, one.next_step, one.follow_up_on = data.assessment, _clean(data.next_step), data.follow_up_on
    db.session.flush()
    if record_changes(actor, one, before, _meeting_snapshot(one), sensitive=_PRIVATE_FIELDS,
                      summary=f"one-to-one with {one.person.display_name}"):
        refresh_summary(one.person_id)
    return one


def mark_commitment(commitment: Commitment, status: CommitmentStatus, actor: User) -> None:
    """Mark a commitment kept, not kept, or open again (the caller commits); its own status
    again changes nothing."""
    if status is commitment.status:
        return
    commitment.status = status
    commitment.marked_at = None if status is CommitmentStatus.OPEN else utcnow()
    commitment.marked_by_id = actor.id
    record(actor, "commitment", commitment.one_to_one, {"commitment_id": commitment.id, "status": status.value})


# --- follow-ups -------------------------------------------------------------------------

FOLLOW_UP_LIMIT = 50


@dataclass
class FollowUps:
    overdue: list[OneToOne]
    today: list[OneToOne]
    upcoming: list[OneToOne]
    counts: dict[str, int]


def follow_ups(user: User, today: date) -> FollowUps:
    """The user's open follow-ups (from meetings they held with people they can see): overdue,
    due today, upcoming; each list capped at ``FOLLOW_UP_LIMIT`` with the full counts. Four queries."""
    base = (
        select(OneToOne).join(Person, Person.id == OneToOne.person_id)
        .where(OneToOne.held_by_id == user.id, OneToOne.follow_up_done_at.is_(None),
               OneToOne.follow_up_on.is_not(None), Person.archived_at.is_(None), people_visible_to(user))
    )
    counts_row = db.session.execute(base.with_only_columns(
        func.count().filter(OneToOne.follow_up_on < today),
        func.count().filter(OneToOne.follow_up_on == today),
        func.count().filter(OneToOne.follow_up_on > today),
    )).one()

    def page(condition: ColumnElement[bool], order) -> list[OneToOne]:
        return list(db.session.scalars(
            base.where(condition).options(joinedload(OneToOne.person)).order_by(order, OneToOne.id)
            .limit(FOLLOW_UP_LIMIT)
        ))

    return FollowUps(
        overdue=page(OneToOne.follow_up_on < today, OneToOne.follow_up_on),
        today=page(OneToOne.follow_up_on == today, OneToOne.id),
        upcoming=page(OneToOne.follow_up_on > today, OneToOne.follow_up_on),
        counts={"overdue": counts_row[0] or 0, "today": counts_row[1] or 0, "upcoming": counts_row[2] or 0},
    )


def _check_follow_up_owner(one: OneToOne, actor: User) -> None:
    if not (actor.is_staff or one.held_by_id == actor.id):
        raise RelationalError(_("Only whoever held the meeting can change its follow-up."))


def complete_follow_up(one: OneToOne, actor: User) -> None:
    """Mark a follow-up done (the caller commits).

    :raise RelationalError: when a leader tries to close someone else's follow-up.
    """
    _check_follow_up_owner(one, actor)
    one.follow_up_done_at = utcnow()
    record(actor, "follow_up_done", one)


def reschedule_follow_up(one: OneToOne, new_date: date, actor: User) -> None:
    """Move a follow-up to ``new_date`` and reopen it (the caller commits); the date it already
    has changes nothing (a done follow-up stays done).

    :raise RelationalError: when a leader tries to change someone else's follow-up.
    :raise MeetingDateError: when ``new_date`` is before the meeting.
    """
    _check_follow_up_owner(one, actor)
    check_meeting_dates(one.held_on, new_date, check_held_on=False)
    if new_date == one.follow_up_on:
        return
    before = snapshot(one, ("follow_up_on", "follow_up_done_at"))
    one.follow_up_on = new_date
    one.follow_up_done_at = None
    record_changes(actor, one, before, snapshot(one, ("follow_up_on", "follow_up_done_at")),
                   action="follow_up_rescheduled")


def going_cold(user: User, today: date, days: int, limit: int = 50) -> tuple[list[tuple[Person, date]], int]:
    """People whose relationship ``user`` holds and whose last one-to-one is more than ``days`` old,
    coldest first (capped at ``limit``), and how many there are. People never met are not "going
    cold": they are not warm yet. Two queries."""
    cutoff = today - timedelta(days=days)
    stmt = (
        select(Person, PersonPipeline.last_one_to_one_on)
        .join(PersonPipeline, PersonPipeline.person_id == Person.id)
        .where(Person.owner_id == user.id, Person.archived_at.is_(None), people_visible_to(user),
               PersonPipeline.last_one_to_one_on < cutoff)
    )
    total = db.session.scalar(stmt.with_only_columns(func.count())) or 0
    rows = db.session.execute(stmt.order_by(PersonPipeline.last_one_to_one_on, Person.id).limit(limit)).all()
    return [(p, d) for p, d in rows], total


# --- stages and moves -------------------------------------------------------------------


def current_stage(person_id: int) -> tuple[Stage | None, datetime | None]:
    """The person's stage and since when (``None`` for when they never moved). The stage comes
    from ``stages()``, which the person page reads anyway."""
    row = db.session.execute(_pipeline_row_statement(), {"person_id": person_id}).first()
    all_stages = stages()
    if row is not None:
        return next((s for s in all_stages if s.id == row.stage_id), None), row.entered_at
    return (all_stages[0] if all_stages else None), None


@cache
def _pipeline_row_statement() -> Select[tuple[int, datetime]]:
    """Built once per process, of the table's columns (see ``_timeline_statements``)."""
    pipeline = PersonPipeline.__table__.c
    return select(pipeline.stage_id, pipeline.entered_at).where(
        pipeline.person_id == bindparam("person_id", type_=Integer))


def move_person(person: Person, stage: Stage, actor: User, reason: str | None = None) -> StageMove | None:
    """Put ``person`` in ``stage`` and record the move (the caller commits); ``None`` if already there.

    The caller has loaded ``person`` through ``get_visible_person``, so leaders move only their own people.
    """
    existing = db.session.get(PersonPipeline, person.id)
    if (existing.stage_id if existing else _first_stage_id(stages())) == stage.id:
        return None
    row = existing or _pipeline_row(person.id)
    from_stage_id = row.stage_id
    now = utcnow()
    row.stage_id, row.entered_at = stage.id, now
    move = StageMove(person_id=person.id, from_stage_id=from_stage_id, to_stage_id=stage.id, moved_at=now,
                     moved_by_id=actor.id, reason=_clean(reason))
    db.session.add(move)
    db.session.flush()
    record(actor, "stage_move", person, {"from": from_stage_id, "to": stage.id, "reason": move.reason})
    return move


# --- the board --------------------------------------------------------------------------


@dataclass
class BoardFilters:
    institution_id: int | None = None
    neighborhood_id: int | None = None
    organizer_id: int | None = None
    leader_id: int | None = None


@dataclass
class CardPerson:
    """What a board card shows of a person: the link, the name and their institutions."""

    id: int
    display_name: str
    institutions: list[str] = field(default_factory=list)


@dataclass
class Card:
    person: CardPerson
    stage_id: int
    last_one_to_one_on: date | None
    last_assessment: int | None
    actions_attended: int = 0


@dataclass
class Column:
    stage: Stage
    count: int
    cards: list[Card]
    page: int = 1
    per_page: int = 50

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.per_page))


def _stage_expr(first_id: int):
    return func.coalesce(PersonPipeline.stage_id, first_id)


def current_stages(person_ids: Iterable[int]) -> dict[int, Stage]:
    """Each person's current pipeline stage (people with no row are at the first stage); two queries."""
    ids = list(person_ids)
    all_stages = stages()
    if not ids or not all_stages:
        return {}
    by_id = {stage.id: stage for stage in all_stages}
    rows = dict(db.session.execute(
        select(PersonPipeline.person_id, PersonPipeline.stage_id).where(PersonPipeline.person_id.in_(ids))
    ).all())
    return {pid: by_id[rows.get(pid, all_stages[0].id)] for pid in ids}


def in_stage(stage_id: int) -> ColumnElement[bool]:
    """The condition on ``Person`` for being in ``stage_id`` (people with no row are in the first stage)."""
    all_stages = stages()
    first = all_stages[0].id if all_stages else None
    in_rows = Person.id.in_(select(PersonPipeline.person_id).where(PersonPipeline.stage_id == stage_id))
    if stage_id != first:
        return in_rows
    return or_(in_rows, ~Person.id.in_(select(PersonPipeline.person_id)))


def _filtered_people(user: User, filters: BoardFilters):
    """Visible, unarchived people matching the board's filters, outer-joined to their pipeline row."""
    return _filtered_people_statement(viewer_scope(user), *_filter_kinds(filters)).params(
        **_filter_params(user, filters))


def _filter_kinds(filters: BoardFilters) -> tuple[bool, bool, bool, bool]:
    """Which of the board's filters are set: the shape of its statements."""
    return (bool(filters.institution_id), bool(filters.neighborhood_id), bool(filters.organizer_id),
            bool(filters.leader_id))


def _filter_params(user: User, filters: BoardFilters) -> dict[str, int | None]:
    """The parameters of a statement of ``_filtered_people_statement``."""
    return {**viewer_params(user), "institution_id": filters.institution_id,
            "neighborhood_id": filters.neighborhood_id, "organizer_id": filters.organizer_id,
            "leader_id": filters.leader_id}


@cache
def _filtered_people_statement(scope: str, institution: bool, neighborhood: bool, organizer: bool,
                               leader: bool) -> Select:
    """``_filtered_people`` for a viewer of ``scope`` and the filters set, built once: the
    filters' values are the parameters ``institution_id``... (``_filter_params``). The board
    runs a dozen statements a view; building them cost more Python time than SQLite took."""
    stmt = (
        select(Person.id).outerjoin(PersonPipeline, PersonPipeline.person_id == Person.id)
        .where(people_visible_to_viewer(scope), Person.archived_at.is_(None))
    )
    if institution:
        stmt = stmt.where(Person.id.in_(
            select(Membership.person_id).where(Membership.institution_id == bindparam("institution_id"))))
    if neighborhood:
        stmt = stmt.where(Person.neighborhood_id == bindparam("neighborhood_id"))
    if organizer:
        stmt = stmt.where(Person.owner_id == bindparam("organizer_id"))
    if leader:
        stmt = stmt.where(Person.owner_id == bindparam("leader_id"))
    return stmt


def stage_counts(user: User, filters: BoardFilters | None = None) -> dict[int, int]:
    """How many people the user can see are in each stage (one query)."""
    all_stages = stages()
    if not all_stages:
        return {}
    filters = filters or BoardFilters()
    if user.is_staff and filters == BoardFilters():
        return _everyone_stage_counts(all_stages)
    expr = _stage_expr(all_stages[0].id)
    rows = db.session.execute(
        _filtered_people(user, filters).with_only_columns(expr, func.count()).group_by(expr)
    ).all()
    counts = {s.id: 0 for s in all_stages}
    counts.update({stage_id: n for stage_id, n in rows})
    return counts


def _everyone_stage_counts(all_stages: Sequence[Stage]) -> dict[int, int]:
    """``stage_counts`` of everybody not archived (a staff member's unfiltered board and funnel),
    from indexes alone: pipeline rows per stage (the stage index) less the archived people's,
    and the first stage gets everyone else. Outer-joining every person to their pipeline row,
    as a filtered board does, reads all the people: 1 s at 100,000 people instead of ~50 ms.
    Four queries."""
    counted, archived_counted = _everyone_stage_statements()
    rows = dict(db.session.execute(counted).all())
    archived = db.session.execute(archived_counted).all()
    for stage_id, n in archived:
        rows[stage_id] -= n
    first = all_stages[0].id
    counts = {s.id: rows.get(s.id, 0) for s in all_stages}
    counts[first] = unarchived_people_count() - sum(n for stage_id, n in counts.items() if stage_id != first)
    return counts


@cache
def _everyone_stage_statements() -> tuple[Select, Select]:
    """``_everyone_stage_counts``'s pipeline rows per stage, and the archived people's (built once)."""
    counted = select(PersonPipeline.stage_id, func.count()).group_by(PersonPipeline.stage_id)
    # IN, not a join: SQLite then starts from the archived few (a join walked every pipeline row).
    archived = (select(PersonPipeline.stage_id, func.count())
                .where(PersonPipeline.person_id.in_(select(Person.id).where(Person.archived_at.is_not(None))))
                .group_by(PersonPipeline.stage_id))
    return counted, archived


#: The furthest page of a board column: beyond it, the people list (paged, sorted) serves better.
BOARD_MAX_PAGE = 20


def board(user: User, filters: BoardFilters, per_column: int = 50,
          pages: dict[int, int] | None = None) -> list[Column]:
    """A column per stage with its count and a page of ``per_column`` people, the most recently met
    first, then those never met (page ``pages[stage_id]``, else the first; at most ``BOARD_MAX_PAGE``).

    A fixed number of queries whatever the number of people: stages, counts, two per stage
    (people by last one-to-one, newest first, walking the (stage, last one-to-one) index; then
    people never met), their institutions and the actions they attended.

    The cards are plain rows, names read by the walks themselves (they visit each person's row
    anyway): loading each card's whole person and memberships as ORM objects was a third of the
    board's time at 100,000 people.
    """
    from organizer.actions.services import attendance_counts

    all_stages = stages()
    if not all_stages:
        return []
    counts = stage_counts(user, filters)
    first = all_stages[0].id
    met_statement, never_statement, never_first_statement = _board_walks(viewer_scope(user), *_filter_kinds(filters))
    params = _filter_params(user, filters)
    rows_by_stage: dict[int, list] = {}
    page_of = {s.id: min(max((pages or {}).get(s.id, 1), 1), BOARD_MAX_PAGE) for s in all_stages}
    for stage in all_stages:
        # Each walk stops after the rows up to this page: a page further is a few rows more.
        upto = per_column * page_of[stage.id]
        walk = {**params, "stage_id": stage.id, "upto": upto}
        met = db.session.execute(met_statement, walk).all()
        never = db.session.execute(never_first_statement if stage.id == first else never_statement, walk).all()
        rows_by_stage[stage.id] = (list(met) + list(never))[upto - per_column:upto]
    people = {pid: CardPerson(pid, display_name(first_name, preferred, last_name))
              for rows in rows_by_stage.values() for pid, _last, _assessment, first_name, preferred, last_name in rows}
    if people:
        for person_id, name in db.session.execute(
            select(Membership.person_id, Institution.name)
            .join(Institution, Institution.id == Membership.institution_id)
            .where(Membership.person_id.in_(list(people))).order_by(Membership.person_id, Membership.id)
        ):
            people[person_id].institutions.append(name)
    attended = attendance_counts(list(people)) if people else {}
    return [
        Column(stage=s, count=counts.get(s.id, 0),
               cards=[Card(people[row[0]], s.id, row[1], row[2], attended.get(row[0], 0))
                      for row in rows_by_stage[s.id]],
               page=page_of[s.id], per_page=per_column)
        for s in all_stages
    ]


@cache
def _board_walks(scope: str, *filter_kinds: bool) -> tuple[Select, Select, Select]:
    """A board column's two walks for a viewer of ``scope`` and the filters set, built once: the
    people met, by last one-to-one, newest first; those never met, newest first (for the first
    stage, people without a pipeline row too). Parameters: the filters' (``_filter_params``),
    ``stage_id`` and ``upto`` (the rows up to the page shown)."""
    base = _filtered_people_statement(scope, *filter_kinds).with_only_columns(
        Person.id, PersonPipeline.last_one_to_one_on, PersonPipeline.last_assessment,
        Person.first_name, Person.preferred_name, Person.last_name)
    stage_id, upto = bindparam("stage_id", type_=Integer()), bindparam("upto", type_=Integer())
    met = (base.where(PersonPipeline.stage_id == stage_id, PersonPipeline.last_one_to_one_on.is_not(None))
           .order_by(PersonPipeline.last_one_to_one_on.desc(), PersonPipeline.person_id.desc()).limit(upto))
    never_met = PersonPipeline.last_one_to_one_on.is_(None)
    never = base.where(PersonPipeline.stage_id == stage_id, never_met).order_by(Person.id.desc()).limit(upto)
    never_first = (base.where(or_(PersonPipeline.stage_id == stage_id, PersonPipeline.person_id.is_(None)), never_met)
                   .order_by(Person.id.desc()).limit(upto))
    return met, never, never_first


# --- funnel, time in stage, stalled -----------------------------------------------------


@dataclass
class FunnelRow:
    stage: Stage
    current: int
    entered: int
    moved_on: int

    @property
    def rate(self) -> float | None:
        return self.moved_on / self.entered if self.entered else None


def funnel(user: User, start: date, end: date) -> list[FunnelRow]:
    """Per stage: people in it now, people who entered it between ``start`` and ``end``
    (inclusive; entering the first stage means being added), and how many of those later
    reached a further stage. Three queries."""
    all_stages = stages()
    if not all_stages:
        return []
    counts = stage_counts(user)
    since, until = date_as_datetime(start) - timedelta(hours=12), date_as_datetime(end) + timedelta(hours=12)
    entries = union_all(
        select(StageMove.person_id, StageMove.to_stage_id.label("stage_id"), StageMove.moved_at.label("at"))
        .join(Person, Person.id == StageMove.person_id)
        .where(StageMove.moved_at >= since, StageMove.moved_at < until, people_visible_to(user)),
        select(Person.id, literal(all_stages[0].id).label("stage_id"), Person.created_at.label("at"))
        .where(Person.created_at >= since, Person.created_at < until, people_visible_to(user)),
    ).subquery()
    entered_stage = aliased(Stage)
    later = aliased(StageMove)
    later_stage = aliased(Stage)
    moved_on = (
        select(later.id).join(later_stage, later_stage.id == later.to_stage_id)
        .where(later.person_id == entries.c.person_id, later.moved_at > entries.c.at,
               later_stage.position > entered_stage.position)
        .exists()
    )
    rows = db.session.execute(
        select(entries.c.stage_id, func.count(distinct(entries.c.person_id)),
               func.count(distinct(case((moved_on, entries.c.person_id)))))
        .join(entered_stage, entered_stage.id == entries.c.stage_id)
        .group_by(entries.c.stage_id)
    ).all()
    by_stage = {stage_id: (entered, moved) for stage_id, entered, moved in rows}
    return [FunnelRow(stage=s, current=counts.get(s.id, 0), entered=by_stage.get(s.id, (0, 0))[0],
                      moved_on=by_stage.get(s.id, (0, 0))[1]) for s in all_stages]


TIME_BUCKETS = (30, 90, 180)  # days: under 30, 30-89, 90-179, 180 and more


def time_in_stage(user: User) -> dict[int, list[int]]:
    """Per stage, how many people have been in it under 30 days, 30-89, 90-179 and 180+ (one query).

    People who never moved count from the day they were added.
    """
    all_stages = stages()
    if not all_stages:
        return {}
    now = utcnow()
    since = func.coalesce(PersonPipeline.entered_at, Person.created_at)
    cut = [now - timedelta(days=d) for d in TIME_BUCKETS]
    expr = _stage_expr(all_stages[0].id)
    rows = db.session.execute(
        _filtered_people(user, BoardFilters()).with_only_columns(
            expr,
            func.count().filter(since >= cut[0]),
            func.count().filter(since < cut[0], since >= cut[1]),
            func.count().filter(since < cut[1], since >= cut[2]),
            func.count().filter(since < cut[2]),
        ).group_by(expr)
    ).all()
    result = {s.id: [0, 0, 0, 0] for s in all_stages}
    result.update({r[0]: [r[1], r[2], r[3], r[4]] for r in rows})
    return result


def stalled(user: User, today: date, stalled_days: int, cold_days: int, limit: int = 50):
    """People past the first stage who have been in their stage more than ``stalled_days`` and had
    no one-to-one in ``cold_days`` (or none at all): longest-stalled first, capped, with the total.
    Returns ``([(person, stage_id, entered_at, last_one_to_one_on)], total)``; two queries."""
    all_stages = stages()
    if len(all_stages) < 2:
        return [], 0
    stmt = (
        select(Person, PersonPipeline.stage_id, PersonPipeline.entered_at, PersonPipeline.last_one_to_one_on)
        .join(PersonPipeline, PersonPipeline.person_id == Person.id)
        .where(people_visible_to(user), Person.archived_at.is_(None),
               PersonPipeline.stage_id != all_stages[0].id,
               PersonPipeline.entered_at < utcnow() - timedelta(days=stalled_days),
               or_(PersonPipeline.last_one_to_one_on.is_(None),
                   PersonPipeline.last_one_to_one_on < today - timedelta(days=cold_days)))
    )
    total = db.session.scalar(stmt.with_only_columns(func.count())) or 0
    rows = db.session.execute(stmt.order_by(PersonPipeline.entered_at, Person.id).limit(limit)).all()
    return [tuple(r) for r in rows], total


# --- accountability ---------------------------------------------------------------------


@dataclass
class AccountabilityRow:
    user: User
    week: int
    month: int

    @property
    def goal(self) -> int | None:
        return self.user.monthly_one_to_one_goal

    @property
    def percent(self) -> int | None:
        return round(100 * self.month / self.goal) if self.goal else None


def accountability(today: date, only: User | None = None
                   ) -> tuple[list[AccountabilityRow], list[AccountabilityRow], date, date]:
    """One-to-ones held this week (from Monday) and this month by each active organizer and leader,
    with their monthly goals: ``(organizers, leaders, week_start, month_start)``. Two queries.
    ``only``: that user's own row and nobody else's (what a leader sees of it)."""
    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    since = min(week_start, month_start)
    counts = {
        user_id: (week, month) for user_id, week, month in db.session.execute(
            select(OneToOne.held_by_id, func.count().filter(OneToOne.held_on >= week_start),
                   func.count().filter(OneToOne.held_on >= month_start))
            .where(OneToOne.held_on >= since, OneToOne.held_on <= today)
            .group_by(OneToOne.held_by_id)
        )
    }
    users_query = select(User).where(User.active.is_(True), User.role.in_([Role.ORGANIZER, Role.LEADER]))
    if only is not None:
        users_query = users_query.where(User.id == only.id)
    users = db.session.scalars(users_query.order_by(User.name)).all()
    rows = [AccountabilityRow(u, *counts.get(u.id, (0, 0))) for u in users]
    return ([r for r in rows if r.user.role is Role.ORGANIZER], [r for r in rows if r.user.role is Role.LEADER],
            week_start, month_start)


@dataclass
class InstitutionAccountabilityRow:
    """An institution's month: one-to-ones held with its members and by its own leaders against
    its goal, and the turnout it delivered to the month's past actions against what it committed."""

    institution_id: int
    name: str
    goal: int | None
    with_members: int = 0
    by_its_leaders: int = 0
    committed: int = 0
    delivered: int = 0

    @property
    def percent(self) -> int | None:
        return round(100 * self.by_its_leaders / self.goal) if self.goal else None

    @property
    def delivered_percent(self) -> int | None:
        return round(100 * self.delivered / self.committed) if self.committed else None


def institution_accountability(month_start: date, today: date, timezone: str) -> list[InstitutionAccountabilityRow]:
    """Per active institution, for the month from ``month_start`` up to ``today``: one-to-ones
    held with its members, those held by its leaders (accounts linked to a member), its goal, and
    for the month's actions already held, turnout committed and members who came. Four queries."""
    from organizer.actions.models import Action, Attendance, TurnoutCommitment
    from organizer.institutions.models import Institution

    rows = {
        i: InstitutionAccountabilityRow(i, name, goal) for i, name, goal in db.session.execute(
            select(Institution.id, Institution.name, Institution.monthly_one_to_one_goal)
            .where(Institution.archived_at.is_(None))
            .order_by(Institution.name)
        )
    }
    held = (OneToOne.held_on >= month_start, OneToOne.held_on <= today)
    for institution_id, n in db.session.execute(
        select(Membership.institution_id, func.count(distinct(OneToOne.id)))
        .join(OneToOne, OneToOne.person_id == Membership.person_id).where(*held)
        .group_by(Membership.institution_id)
    ):
        if institution_id in rows:
            rows[institution_id].with_members = n
    for institution_id, n in db.session.execute(
        select(Membership.institution_id, func.count(distinct(OneToOne.id)))
        .join(User, User.person_id == Membership.person_id)
        .join(OneToOne, OneToOne.held_by_id == User.id).where(*held)
        .group_by(Membership.institution_id)
    ):
        if institution_id in rows:
            rows[institution_id].by_its_leaders = n
    zone = ZoneInfo(timezone)
    window = (Action.starts_at >= datetime.combine(month_start, time(), zone).astimezone(UTC),
              Action.starts_at <= utcnow(), Action.archived_at.is_(None))
    came = (select(Membership.institution_id.label("institution_id"),
                   func.count(distinct(Attendance.id)).label("delivered"), literal(0).label("committed"))
            .join(Attendance, Attendance.person_id == Membership.person_id)
            .join(Action, Action.id == Attendance.action_id).where(*window)
            .group_by(Membership.institution_id))
    promised = (select(TurnoutCommitment.institution_id, literal(0), func.sum(TurnoutCommitment.number))
                .join(Action, Action.id == TurnoutCommitment.action_id)
                .where(*window, TurnoutCommitment.institution_id.is_not(None))
                .group_by(TurnoutCommitment.institution_id))
    for institution_id, delivered, committed in db.session.execute(union_all(came, promised)):
        if institution_id in rows:
            rows[institution_id].delivered += int(delivered or 0)
            rows[institution_id].committed += int(committed or 0)
    return list(rows.values())


# --- suggested emerging leaders ----------------------------------------------------------

SUGGEST_MIN_HIGH_assessments_statement = 2
SUGGEST_MIN_KEPT = 2


@dataclass
class Suggestion:
    person: Person
    high_assessments: int
    kept: int


def suggestions(user: User, limit: int = 50) -> tuple[Stage | None, list[Suggestion]]:
    """People the user can see, not yet at the suggestion stage (Emerging leader) or beyond, whose
    one-to-ones show it: at least two assessments of 4 or 5, or at least two commitments kept.
    Two queries plus one for the people."""
    target = db.session.scalar(select(Stage).where(Stage.suggest_for.is_(True)))
    all_stages = stages()
    if target is None or not all_stages:
        return target, []
    below = [s.id for s in all_stages if s.position < target.position]
    high = (
        select(OneToOne.person_id, func.count().label("n")).where(OneToOne.assessment >= 4)
        .group_by(OneToOne.person_id).subquery()
    )
    kept = (
        select(OneToOne.person_id, func.count().label("n"))
        .join(Commitment, Commitment.one_to_one_id == OneToOne.id)
        .where(Commitment.status == CommitmentStatus.KEPT)
        .group_by(OneToOne.person_id).subquery()
    )
    high_n, kept_n = func.coalesce(high.c.n, 0), func.coalesce(kept.c.n, 0)
    rows = db.session.execute(
        select(Person.id, high_n, kept_n)
        .outerjoin(high, high.c.person_id == Person.id)
        .outerjoin(kept, kept.c.person_id == Person.id)
        .outerjoin(PersonPipeline, PersonPipeline.person_id == Person.id)
        .where(people_visible_to(user), Person.archived_at.is_(None),
               _stage_expr(all_stages[0].id).in_(below),
               or_(high_n >= SUGGEST_MIN_HIGH_assessments_statement, kept_n >= SUGGEST_MIN_KEPT))
        .order_by((high_n + kept_n).desc(), Person.id)
        .limit(limit)
    ).all()
    people = {p.id: p for p in db.session.scalars(select(Person).where(Person.id.in_([r[0] for r in rows])))}
    return target, [Suggestion(people[pid], h, k) for pid, h, k in rows]


# --- the relational network -------------------------------------------------------------


@dataclass(slots=True)
class NetworkPerson:
    """Someone in a person's network, as the person page names them (``Person.display_name``)."""

    id: int
    first_name: str
    preferred_name: str | None
    last_name: str

    @property
    def display_name(self) -> str:
        return display_name(self.first_name, self.preferred_name, self.last_name)


@dataclass(slots=True)
class NetworkUser:
    """A holder of one-to-ones in a person's network: their id and name."""

    id: int
    name: str


@dataclass
class Relationship:
    person: NetworkPerson | None  # None: someone outside the viewer's list
    user: NetworkUser | None
    meetings: int
    last: date


def network(viewer: User, person: Person) -> tuple[list[Relationship], list[Relationship]]:
    """Who ``person`` has met (meetings held by their linked account) and who met them (holders of
    meetings with them), with counts and last dates. People the viewer may not see are left
    nameless. Two queries (built once per kind of viewer), each with the people the viewer may
    see, of the columns the page shows (whole people and users cost most of their time)."""
    params = {**viewer_params(viewer), "person_id": person.id}
    met_stmt, met_by_stmt = _network_statements(viewer_scope(viewer))
    met = [Relationship(_network_person(row), None, row.meetings, row.last)
           for row in db.session.execute(met_stmt, params).all()]
    met_by = [Relationship(_network_person(row), NetworkUser(row.user_id, row.user_name), row.meetings, row.last)
              for row in db.session.execute(met_by_stmt, params).all()]
    return met, met_by


def _network_person(row: Any) -> NetworkPerson | None:
    if row.id is None:  # outside the viewer's list (or no record linked to the account)
        return None
    return NetworkPerson(row.id, row.first_name, row.preferred_name, row.last_name)


@cache
def _network_statements(scope: str) -> tuple[Select[Any], Select[Any]]:
    """``network``'s two statements: the meetings held by the person's account, by whom they
    met, and the holders of meetings with the person; each outer-joined to the other side's
    person when the viewer may see them (grouped by the person's key too, which PostgreSQL
    needs to select their columns)."""
    person_id = bindparam("person_id", type_=Integer)
    seen = people_visible_to_viewer(scope)
    last = func.max(OneToOne.held_on).label("last")
    meetings = func.count().label("meetings")
    named = (Person.id, Person.first_name, Person.preferred_name, Person.last_name)
    met = (
        select(OneToOne.person_id, *named, meetings, last)
        .join(User, User.id == OneToOne.held_by_id)
        .outerjoin(Person, and_(Person.id == OneToOne.person_id, seen))
        .where(User.person_id == person_id).group_by(OneToOne.person_id, Person.id)
        .order_by(last.desc(), OneToOne.person_id)  # ties in a stable order
    )
    met_by = (
        select(User.id.label("user_id"), User.name.label("user_name"), *named, meetings, last)
        .join(OneToOne, OneToOne.held_by_id == User.id)
        .outerjoin(Person, and_(Person.id == User.person_id, seen))
        .where(OneToOne.person_id == person_id).group_by(User.id, Person.id)
        .order_by(last.desc(), User.id)
    )
    return met, met_by


# --- assessments over time and across raters ---------------------------------------------------

@dataclass
class AssessmentPoint:
    held_on: date
    assessment: int
    rater: str | None  # ``None``: a rater the viewer may not be told of
    one_to_one_id: int


def assessment_history(viewer: User, person: Person) -> list[AssessmentPoint]:
    """Every 1-5 assessment of ``person``, oldest first, with who rated (staff see every rater, a
    leader only themself: who held a one-to-one is staff's to know). One query."""
    rows = db.session.execute(_assessments_statement(), {"person_id": person.id}).all()
    return [AssessmentPoint(held_on, score, name if viewer.is_staff or rater_id == viewer.id else None, one_id)
            for held_on, score, one_id, rater_id, name in rows]


@cache
def _assessments_statement() -> Select[Any]:
    """Built once per process, of the tables' columns (see ``_timeline_statements``)."""
    one, user = OneToOne.__table__.c, User.__table__.c
    return (
        select(one.held_on, one.assessment, one.id, user.id, user.name)
        .join_from(OneToOne.__table__, User.__table__, user.id == one.held_by_id)
        .where(one.person_id == bindparam("person_id", type_=Integer), one.assessment.is_not(None))
        .order_by(one.held_on, one.id)
    )


@dataclass
class RaterRow:
    user: User
    count: int
    average: float
    spread: float  # the standard deviation of their scores
    by_score: dict[int, int]


@dataclass
class Disagreement:
    person: Person
    lowest: int
    highest: int
    scores: list[tuple[str, int, date]]  # each rater's latest score of the person, and when


#: Raters "disagree" on a person when their latest scores are this far apart or more.
DISAGREEMENT_GAP = 2


def rater_calibration(limit: int = 100) -> tuple[list[RaterRow], list[Disagreement], int]:
    """How each rater scores (count, average, spread, how many of each 1-5) and the people on
    whom raters' latest scores differ by ``DISAGREEMENT_GAP`` or more (the ``limit`` most recent,
    and how many in all). Staff only (every rater and person is counted). Four queries."""
    score = OneToOne.assessment
    by_rater: dict[int, RaterRow] = {}
    for user, n, mean, mean_square, *counts in db.session.execute(
        select(User, func.count(), func.avg(score), func.avg(score * score),
               *(func.count().filter(score == s) for s in range(1, 6)))
        .join(OneToOne, OneToOne.held_by_id == User.id).where(score.is_not(None))
        .group_by(User.id).order_by(User.name)
    ):
        mean, mean_square = float(mean), float(mean_square)
        spread = max(mean_square - mean * mean, 0.0) ** 0.5  # variance = E[x²] - E[x]², no STDDEV in SQLite
        by_rater[user.id] = RaterRow(user, n, round(mean, 2), round(spread, 2), dict(zip(range(1, 6), counts)))

    # Each rater's latest score of each person they assessed...
    ranked = (
        select(OneToOne.person_id, OneToOne.held_by_id, score.label("score"), OneToOne.held_on,
               func.row_number().over(partition_by=(OneToOne.person_id, OneToOne.held_by_id),
                                      order_by=(OneToOne.held_on.desc(), OneToOne.id.desc())).label("n"))
        .where(score.is_not(None)).subquery()
    )
    latest = select(ranked).where(ranked.c.n == 1).subquery()
    # ...and the people whose raters' latest scores are far apart.
    apart = (
        select(latest.c.person_id, func.min(latest.c.score).label("lowest"), func.max(latest.c.score).label("highest"),
               func.max(latest.c.held_on).label("last"))
        .group_by(latest.c.person_id)
        .having(func.count() > 1, func.max(latest.c.score) - func.min(latest.c.score) >= DISAGREEMENT_GAP)
        .subquery()
    )
    total = db.session.scalar(select(func.count()).select_from(apart)) or 0
    shown = db.session.execute(
        select(Person, apart.c.lowest, apart.c.highest).join(apart, apart.c.person_id == Person.id)
        .order_by(apart.c.last.desc(), Person.id).limit(limit)
    ).all()
    scores: dict[int, list[tuple[str, int, date]]] = {}
    if shown:
        for person_id, name, value, held_on in db.session.execute(
            select(latest.c.person_id, User.name, latest.c.score, latest.c.held_on)
            .join(User, User.id == latest.c.held_by_id)
            .where(latest.c.person_id.in_([p.id for p, _low, _high in shown]))
            .order_by(latest.c.score.desc(), User.name)
        ):
            scores.setdefault(person_id, []).append((name, value, held_on))
    disagreements = [Disagreement(p, low, high, scores.get(p.id, [])) for p, low, high in shown]
    return list(by_rater.values()), disagreements, total


@dataclass
class Connector:
    person: Person
    relationships: int
    institutions: int
    neighborhoods: int


def connectors(limit: int = 50) -> list[Connector]:
    """People with the most distinct relationships through one-to-ones (either side of the table,
    when the holder's account is linked to a person), with how many distinct institutions and
    neighborhoods those relationships reach. Staff only (everyone is counted). Two queries."""
    holder = aliased(User)

    def side(a, b):
        return (select(a.label("a"), b.label("b")).join(holder, holder.id == OneToOne.held_by_id)
                .where(holder.person_id.is_not(None), holder.person_id != OneToOne.person_id))

    edges = union_all(side(OneToOne.person_id, holder.person_id),
                      side(holder.person_id, OneToOne.person_id)).subquery()
    other = aliased(Person)
    rows = db.session.execute(
        select(edges.c.a, func.count(distinct(edges.c.b)), func.count(distinct(Membership.institution_id)),
               func.count(distinct(other.neighborhood_id)))
        .join(other, other.id == edges.c.b)
        .outerjoin(Membership, Membership.person_id == edges.c.b)
        .group_by(edges.c.a)
        .order_by(func.count(distinct(edges.c.b)).desc(), edges.c.a)
        .limit(limit)
    ).all()
    people = {p.id: p for p in db.session.scalars(
        select(Person).where(Person.id.in_([r[0] for r in rows]))
        .options(selectinload(Person.memberships).joinedload(Membership.institution),
                 joinedload(Person.neighborhood))
    )} if rows else {}
    return [Connector(people[a], n, i, h) for a, n, i, h in rows if a in people]


# --- the timeline -----------------------------------------------------------------------


def timeline_entries(user: User, person: Person) -> list[TimelineEntry]:
    """One-to-ones with the person and their stage moves, for their timeline (two queries, of
    the columns shown; the stages' names from ``stages()``, which the person page reads anyway).

    The person page has already checked that ``user`` may see ``person``.
    """
    from flask import url_for
    from flask_babel import gettext as _

    entries = []
    meetings_stmt, moves_stmt = _timeline_statements()
    params = {"person_id": person.id}
    for one_id, held_on, self_interest, next_step, assessment, holder in db.session.execute(meetings_stmt,
                                                                                            params).all():
        detail = self_interest or next_step or ""
        if assessment:
            detail = (_("Assessment %(n)d/5.", n=assessment) + " " + detail).strip()
        entries.append(TimelineEntry(
            when=date_as_datetime(held_on), kind="one_to_one",
            title=_("One-to-one with %(holder)s", holder=holder),
            detail=detail[:200], url=url_for("relational.one_to_one", one_to_one_id=one_id),
        ))
    names = {stage.id: stage.name for stage in stages()}
    for from_id, to_id, moved_at, reason, mover in db.session.execute(moves_stmt, params).all():
        title = (_("Moved from %(old)s to %(new)s", old=names[from_id], new=names[to_id])
                 if from_id is not None else _("Moved to %(new)s", new=names[to_id]))
        by = _("by %(name)s", name=mover) if mover is not None else ""
        entries.append(TimelineEntry(when=moved_at, kind="stage", title=title,
                                     detail=" — ".join(x for x in (by, reason or "") if x)))
    return entries


@cache
def _timeline_statements() -> tuple[Select[Any], Select[Any]]:
    """``timeline_entries``' two statements, built once per process, of the tables' columns: a
    statement of plain columns runs without the ORM's steps (some 60 µs each)."""
    person_id = bindparam("person_id", type_=Integer)
    one, move, users = OneToOne.__table__, StageMove.__table__, User.__table__
    mover = users.alias("mover")
    meetings = (
        select(one.c.id, one.c.held_on, one.c.self_interest, one.c.next_step, one.c.assessment, users.c.name)
        .join_from(one, users, users.c.id == one.c.held_by_id).where(one.c.person_id == person_id)
    )
    moves = (
        select(move.c.from_stage_id, move.c.to_stage_id, move.c.moved_at, move.c.reason, mover.c.name)
        .outerjoin_from(move, mover, mover.c.id == move.c.moved_by_id).where(move.c.person_id == person_id)
    )
    return meetings, moves
