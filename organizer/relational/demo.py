"""Demo data: 18 months of one-to-ones, commitments, follow-ups and stage moves.

Organizers and leaders meet mostly with the people whose relationship they hold; each person
has a hidden "potential" that shapes their assessments, the commitments they keep and how far
they move along the pipeline, so the funnel narrows realistically (many Contacts, few Core
leaders) and the suggestions page has real candidates.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from organizer.demo import DemoContext, step
from organizer.extensions import db
from organizer.relational.models import (
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    MeetingMode,
    OneToOne,
    PersonPipeline,
    StageMove,
)
from organizer.relational.services import issues, local_today, seed_defaults, stages

SELF_INTERESTS = [
    "Rent went up 30% and she is afraid her family will have to leave the neighborhood.",
    "Works two jobs; wants a living wage so he can be home for his kids.",
    "Her son's school lost its counselor; she wants the district to listen to parents.",
    "Waits an hour for the bus every morning; lost a job over it.",
    "Worried about deportations; his brother was detained last year.",
    "Wants the vacant lot on the corner cleaned up and made safe for kids.",
    "Lost her mother to asthma; angry about the diesel trucks on the street.",
    "Cannot find childcare she can afford near work.",
    "Landlord ignores repairs; no heat for two weeks last winter.",
    "Wants young people in the congregation to have a voice in the city.",
]
STORIES = [
    "Grew up in the neighborhood; her grandmother organized the first block club.",
    "Came from Michoacán twenty years ago; active in the parish choir.",
    "Retired bus driver; knows everyone on the block.",
    "Nurse on night shifts; sharp questions about who decides the city budget.",
    "Youth pastor; already gathers 30 young people every Friday.",
    "Union steward at the hospital; has led a grievance before.",
]
PLACES = ["Parish hall", "Her kitchen table", "Coffee shop on 18th St", "After Friday prayers", "Church basement",
          "School cafeteria", "Union hall", "Front porch"]
NEXT_STEPS = ["Invite to the housing team meeting", "Bring to the action at City Hall", "Ask to host a house meeting",
              "Introduce to the pastor", "Follow up about the research meeting", "Train on one-to-ones"]
DAYS = 540  # 18 months


@step
def one_to_ones(ctx: DemoContext) -> None:
    """About 900 one-to-ones over 18 months, with commitments, follow-ups and stage moves."""
    seed_defaults()
    rng = ctx.rng
    all_stages, all_issues = stages(), issues()
    today = local_today()
    holders = ctx.organizers + ctx.leaders
    own_people = {leader.person_id for leader in ctx.leaders}
    potential = {p.id: rng.triangular(1, 5, 2.3) for p in ctx.people}
    for pid in own_people:
        potential[pid] = rng.uniform(4, 5)

    # Who gets met: all leaders' own records, and about 60% of everyone else.
    met = [p for p in ctx.people if p.id in own_people or rng.random() < 0.6]
    meetings: dict[int, list[OneToOne]] = {}
    for person in met:
        n = 4 + rng.randint(0, 4) if person.id in own_people else max(1, min(10, round(rng.gauss(potential[person.id] + 2.1, 1.5))))
        holder = person.owner if person.owner is not None and person.owner in holders else rng.choice(ctx.organizers)
        start = DAYS if person.id in own_people else min((today - person.created_at.date()).days, DAYS)
        days_ago = sorted((rng.randint(0, max(start, 1)) for _ in range(n)), reverse=True)
        for i, ago in enumerate(days_ago):
            one = _meeting(ctx, person, holder if rng.random() < 0.85 else rng.choice(ctx.organizers),
                           today - timedelta(days=ago), potential[person.id], all_issues, last=i == n - 1)
            meetings.setdefault(person.id, []).append(one)
    db.session.add_all(o for ones in meetings.values() for o in ones)

    # Pipeline: a stage reached from potential and meetings, with a move for each step up.
    for person in ctx.people:
        ones = meetings.get(person.id, [])
        pot = potential[person.id]
        target = 0
        if ones:
            target = 1 if len(ones) >= 1 and rng.random() < 0.75 else 0
            if target and pot >= 2.8 and len(ones) >= 2:
                target = 2
            if target == 2 and pot >= 3.6 and len(ones) >= 3:
                target = 3
            if target == 3 and pot >= 4.4:
                target = 4
        if person.id in own_people:
            target = rng.choice([3, 3, 4])
        moved_at = None
        first_day = ones[0].held_on if ones else person.created_at.date()
        span = max((today - first_day).days, 1)
        for level in range(1, target + 1):
            offset = int(span * level / (target + 1))
            moved_at = datetime.combine(first_day + timedelta(days=offset), time(17), tzinfo=UTC)
            db.session.add(StageMove(
                person_id=person.id, from_stage_id=all_stages[level - 1].id, to_stage_id=all_stages[level].id,
                moved_at=moved_at, moved_by=person.owner if person.owner in holders else rng.choice(ctx.organizers),
                reason=rng.choice(["Strong one-to-one", "Kept commitments", "Turned out others", "Stepped up at action",
                                   None]),
            ))
        if ones or target:
            assessed = [o for o in ones if o.assessment]
            db.session.add(PersonPipeline(
                person_id=person.id, stage_id=all_stages[target].id,
                entered_at=moved_at or person.created_at,
                last_one_to_one_on=ones[-1].held_on if ones else None,
                last_assessment=assessed[-1].assessment if assessed else None,
                one_to_one_count=len(ones),
            ))


def _meeting(ctx: DemoContext, person, holder, day, pot, all_issues, *, last: bool) -> OneToOne:
    rng = ctx.rng
    today = local_today()
    assessment = max(1, min(5, round(rng.gauss(pot, 0.8)))) if rng.random() < 0.8 else None
    one = OneToOne(
        person_id=person.id, held_by_id=holder.id, held_on=day, created_by_id=holder.id,
        duration_minutes=rng.choice([25, 30, 35, 40, 45, 45, 60]),
        mode=rng.choices(list(MeetingMode), weights=[70, 22, 8])[0],
        place=rng.choice(PLACES), self_interest=rng.choice(SELF_INTERESTS),
        story=rng.choice(STORIES) if rng.random() < 0.6 else None, assessment=assessment,
        next_step=rng.choice(NEXT_STEPS),
        created_at=datetime.combine(day, time(20), tzinfo=UTC),
    )
    one.issues = rng.sample(all_issues, k=rng.choice([1, 1, 2, 3]))
    if rng.random() < 0.5:
        for _ in range(rng.choice([1, 1, 2])):
            kind = rng.choice(list(CommitmentKind))
            status = CommitmentStatus.OPEN
            if (today - day).days > 30:
                status = CommitmentStatus.KEPT if rng.random() < pot / 5.5 else CommitmentStatus.NOT_KEPT
            one.commitments.append(Commitment(
                kind=kind, status=status,
                quantity=rng.choice([3, 5, 10]) if kind is CommitmentKind.HOLD_ONE_TO_ONES else None,
                marked_at=None if status is CommitmentStatus.OPEN else datetime.combine(
                    day + timedelta(days=21), time(18), tzinfo=UTC),
                marked_by_id=None if status is CommitmentStatus.OPEN else holder.id,
            ))
    if rng.random() < 0.85:
        one.follow_up_on = day + timedelta(days=rng.randint(5, 30))
        # Earlier meetings' follow-ups happened; the latest one may be overdue, due or upcoming.
        if not last or (one.follow_up_on < today and rng.random() < 0.6):
            one.follow_up_done_at = datetime.combine(min(one.follow_up_on, today), time(18), tzinfo=UTC)
    return one
