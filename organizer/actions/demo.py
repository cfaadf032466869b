"""Demo data: a year of past actions with RSVPs and attendance, and an upcoming hearing being organized."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from organizer.actions.models import ANSWERS, Action, ActionType, Attendance, TurnoutCommitment, Rsvp, RsvpSource, RsvpStatus
from organizer.campaigns.models import Campaign
from organizer.db import utcnow
from organizer.demo import DemoContext, step
from organizer.extensions import db

ZONE = "America/Chicago"

PAST = [
    # (days ago, type, title, campaign index or None, goal)
    (340, ActionType.RESEARCH_MEETING, "Riders' research meeting", 0, 25),
    (325, ActionType.HOUSE_MEETING, "House meeting at the García home", 0, 15),
    (310, ActionType.TRAINING, "One-to-one training", None, 40),
    (296, ActionType.HOUSE_MEETING, "House meeting at Greater Mt. Zion", 1, 20),
    (282, ActionType.RESEARCH_MEETING, "Research meeting with the Transit Authority planners", 0, 12),
    (268, ActionType.PUBLIC_MEETING, "Transit listening session", 0, 80),
    (254, ActionType.TRAINING, "Public narrative training", None, 35),
    (240, ActionType.RESEARCH_MEETING, "Workers' research meeting", 1, 20),
    (226, ActionType.RALLY, "Rally for the Route 9 bus", 0, 150),
    (212, ActionType.HOUSE_MEETING, "House meeting at St. Mark's", 1, 20),
    (198, ActionType.ACCOUNTABILITY_SESSION, "Accountability session with Ald. Delgado", 0, 120),
    (184, ActionType.TRAINING, "Power analysis training", None, 30),
    (170, ActionType.PUBLIC_MEETING, "Living wage town hall", 1, 100),
    (156, ActionType.HOUSE_MEETING, "House meeting at Masjid Al-Noor", 1, 18),
    (142, ActionType.HEARING, "Transit Authority board hearing", 0, 100),
    (128, ActionType.RESEARCH_MEETING, "Tenants' research meeting", 2, 20),
    (114, ActionType.TRAINING, "Leaders' retreat", None, 45),
    (100, ActionType.ACCOUNTABILITY_SESSION, "Budget accountability session", 1, 200),
    (86, ActionType.HOUSE_MEETING, "House meeting at Lawrence Ave", 2, 20),
    (72, ActionType.RALLY, "Night bus vigil", 0, 80),
    (58, ActionType.RESEARCH_MEETING, "Right-to-counsel research meeting", 2, 15),
    (44, ActionType.PUBLIC_MEETING, "Wage theft public meeting", 1, 90),
    (30, ActionType.HOUSE_MEETING, "House meeting at Iglesia Nueva Vida", 2, 15),
    (16, ActionType.TRAINING, "Turnout training", None, 30),
    (6, ActionType.ACCOUNTABILITY_SESSION, "Housing accountability session", 2, 120),
]


def _at(days: int, hour: int) -> datetime:
    """A time ``days`` from today at ``hour`` o'clock, Chicago time, as UTC."""
    local = datetime.now(ZoneInfo(ZONE)).replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(days=days)
    return local.astimezone(ZoneInfo("UTC"))


@step
def actions(ctx: DemoContext) -> None:
    """25 past actions with RSVPs and attendance (about 30% flake), and a hearing in ten days with 120 RSVPs."""
    rng = ctx.rng
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.id)))
    staff = [ctx.admin, *ctx.organizers]
    # Each resident has their own habit of showing up, so predictions differ from person to person.
    reliability = {p.id: rng.choice([0.95, 0.85, 0.75, 0.6, 0.45]) for p in ctx.people}
    people = [p for p in ctx.people if p.id is not None]

    def recruiter(person):
        owner = person.owner
        return owner if owner is not None else rng.choice(staff)

    for days_ago, kind, title, campaign_index, goal in PAST:
        starts = _at(-days_ago, 18 if kind is not ActionType.TRAINING else 10)
        action = Action(
            title=title, type=kind, campaign=campaigns[campaign_index] if campaign_index is not None else None,
            starts_at=starts, ends_at=starts + timedelta(hours=2), timezone=ZONE,
            location=rng.choice(ctx.institutions).address or "", turnout_goal=goal,
            created_by=rng.choice(ctx.organizers), created_at=starts - timedelta(days=21),
        )
        db.session.add(action)
        db.session.flush()
        invited = rng.sample(people, k=min(len(people), int(goal * rng.uniform(0.8, 1.2))))
        for person in invited:
            status = rng.choices(list(ANSWERS), weights=[70, 18, 12])[0]
            who = recruiter(person)
            db.session.add(Rsvp(
                action_id=action.id, person_id=person.id, status=status,
                source=RsvpSource.LEADER if who.is_leader else rng.choice([RsvpSource.ORGANIZER, RsvpSource.SIGNUP]),
                recruited_by_id=who.id, created_at=starts - timedelta(days=rng.randint(1, 14)),
            ))
            chance = reliability[person.id] if status is RsvpStatus.YES else 0.25 if status is RsvpStatus.MAYBE else 0.02
            if rng.random() < chance:
                db.session.add(Attendance(
                    action_id=action.id, person_id=person.id, walk_in=status is not RsvpStatus.YES,
                    checked_in_at=starts + timedelta(minutes=rng.randint(-20, 30)), checked_in_by_id=action.created_by.id,
                ))
        invited_ids = {p.id for p in invited}
        for person in rng.sample([p for p in people if p.id not in invited_ids], k=rng.randint(0, max(1, goal // 10))):
            db.session.add(Attendance(action_id=action.id, person_id=person.id, walk_in=True,
                                      checked_in_at=starts + timedelta(minutes=rng.randint(0, 40)),
                                      checked_in_by_id=action.created_by.id))

    _upcoming_hearing(ctx, campaigns, people, recruiter)


def _upcoming_hearing(ctx: DemoContext, campaigns, people, recruiter) -> None:
    """The City Council hearing in ten days: commitments from institutions and leaders, 120 RSVPs."""
    rng = ctx.rng
    starts = _at(10, 17)
    hearing = Action(
        title="City Council transportation committee hearing on the Route 9 bus", type=ActionType.HEARING,
        campaign=campaigns[0], starts_at=starts, ends_at=starts + timedelta(hours=2, minutes=30), timezone=ZONE,
        location="City Hall, 121 N LaSalle St, Council Chambers", turnout_goal=200,
        description="Pack the chambers: riders testify about the Route 9 cuts. Wear green. Childcare and Spanish "
                    "interpretation at St. Mark's from 4:30 pm; carpools leave the churches at 4 pm.",
        created_by=ctx.organizers[0], created_at=utcnow() - timedelta(days=12),
    )
    db.session.add(hearing)
    db.session.flush()
    for institution, number, who in zip(ctx.institutions[:5], [40, 25, 15, 20, 10],
                                        ["Fr. Miguel", "Rev. Johnson", "Pastor Anderson", "Imam Hassan", "Rabbi Cohen"],
                                        strict=True):
        db.session.add(TurnoutCommitment(action_id=hearing.id, institution_id=institution.id, number=number,
                                  committed_by_name=who, recorded_by_id=ctx.organizers[0].id))
    for leader in ctx.leaders[:6]:
        db.session.add(TurnoutCommitment(action_id=hearing.id, leader_id=leader.id, committed_by_name=leader.name,
                                  number=rng.choice([5, 6, 8, 10, 12]), recorded_by_id=leader.id))
    for person in rng.sample(people, k=min(120, len(people))):
        who = recruiter(person)
        db.session.add(Rsvp(
            action_id=hearing.id, person_id=person.id, status=rng.choices(list(ANSWERS), weights=[78, 15, 7])[0],
            source=RsvpSource.LEADER if who.is_leader else rng.choice([RsvpSource.ORGANIZER, RsvpSource.SIGNUP]),
            recruited_by_id=who.id, created_at=utcnow() - timedelta(days=rng.randint(0, 10)),
        ))
    house_starts = _at(4, 19)
    db.session.add(Action(
        title="House meeting at First Lutheran", type=ActionType.HOUSE_MEETING, campaign=campaigns[2],
        starts_at=house_starts, ends_at=house_starts + timedelta(hours=1, minutes=30), timezone=ZONE,
        location=ctx.institutions[2].address or "", turnout_goal=15, created_by=ctx.organizers[2],
    ))
    # Turnout meetings at the congregations build toward the hearing.
    for days, institution in ((3, ctx.institutions[0]), (6, ctx.institutions[1])):
        prep_starts = _at(days, 19)
        db.session.add(Action(
            title=f"Turnout meeting at {institution.name}", type=ActionType.HOUSE_MEETING, campaign=campaigns[0],
            prepares_for=hearing, starts_at=prep_starts, ends_at=prep_starts + timedelta(hours=1), timezone=ZONE,
            location=institution.address or "", turnout_goal=20, created_by=ctx.organizers[0],
        ))
