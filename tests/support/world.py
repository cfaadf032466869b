"""A small federation with every field of every row filled, for tests that sweep every page or form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from organizer.extensions import db

@dataclass
class World:
    admin: object
    organizer: object
    leader: object
    person: int
    institution: int
    membership: int
    one_to_one: int
    stage: int
    campaign: int
    target: int
    link: int
    action: int
    mobilization: int
    leader_draft: int
    conversation: int
    signup_token: str


_hashes: dict[str, str] = {}


def _password_hash(password: str) -> str:
    """Hashed once per run, cheaply as the test config does: every case builds a world."""
    if password not in _hashes:
        from werkzeug.security import generate_password_hash

        _hashes[password] = generate_password_hash(password, method="pbkdf2:sha256:1000")
    return _hashes[password]


def build_world(app) -> World:
    from organizer.actions.models import Action, ActionType, Rsvp, RsvpSource, RsvpStatus, TurnoutCommitment
    from organizer.auth.models import Role, User
    from organizer.campaigns.models import (
        Campaign,
        CampaignStatus,
        CampaignTarget,
        Position,
        PositionChange,
        RelationshipKind,
        Target,
        TargetRelationship,
    )
    from organizer.institutions.models import (
        Institution,
        InstitutionStatus,
        InstitutionType,
        Membership,
        MembershipRole,
    )
    from organizer.people.models import Person, PersonRaceEthnicity, RaceEthnicity, SmsConsent
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
    from organizer.settings.models import Neighborhood, Organization, Tag
    from organizer.sms.models import Conversation, InboundMessage, Mobilization, MobilizationKind
    from tests.conftest import PASSWORD

    then = datetime(2026, 3, 4, 15, 30, 7, 123000, tzinfo=timezone.utc)
    with app.app_context():
        s = db.session
        s.add(Organization(id=1, name="Metro Federation", timezone="America/Chicago", default_phone_region="US",
                           sms_help_text="Metro Federation: reply STOP to stop.", going_cold_days=60))
        pilsen, uptown = Neighborhood(name="Pilsen"), Neighborhood(name="Uptown")
        housing, youth = Tag(name="Housing team"), Tag(name="Youth")
        s.add_all([pilsen, uptown, housing, youth])
        users = {}
        for role in ("admin", "organizer", "leader"):
            user = User(email=f"{role}@example.org", name=f"{role.title()} Example", role=Role(role), active=True,
                        locale="es", monthly_one_to_one_goal=7, created_at=then)
            user.password_hash = _password_hash(PASSWORD)
            s.add(user)
            users[role] = user
        s.flush()
        person = Person(
            first_name="María", last_name="García", preferred_name="Mari", phone="+13125550142",
            email="maria@example.org", address="1800 W 18th St", neighborhood=pilsen, preferred_language="es",
            notes="Lost her job in May; do not call before noon.", sms_consent=SmsConsent.OPTED_IN,
            sms_consent_at=then, sms_consent_source="sign-up form", owner_id=users["leader"].id,
            created_at=then, created_by_id=users["organizer"].id, updated_at=then,
            updated_by_id=users["organizer"].id, tags=[housing, youth],
            race_ethnicities=[PersonRaceEthnicity(value=RaceEthnicity.HISPANIC),
                              PersonRaceEthnicity(value=RaceEthnicity.OTHER)],
        )
        s.add(person)
        institution = Institution(
            name="St. Mark's", type=InstitutionType.CONGREGATION, faith_tradition="Catholic",
            address="1 Church St", neighborhood=pilsen, membership_size=1200, status=InstitutionStatus.MEMBER,
            notes="Pastor is new.", created_at=then, updated_at=then,
        )
        other_institution = Institution(name="Trinity UCC", type=InstitutionType.CONGREGATION, created_at=then,
                                        updated_at=then)
        s.add_all([institution, other_institution])
        s.flush()
        membership = Membership(person=person, institution=institution, role=MembershipRole.CORE_TEAM)
        s.add(membership)
        users["leader"].person_id = person.id

        stage = s.query(Stage).order_by(Stage.position).all()[1]
        stage.description = "Has said yes to a first ask."
        issue = s.query(Issue).order_by(Issue.name).first()
        one = OneToOne(
            person=person, held_by=users["leader"], held_on=date(2026, 3, 2), duration_minutes=45,
            mode=MeetingMode.PHONE, place="Kitchen table", self_interest="Rent keeps going up.",
            story="Grew up in Pilsen; her mother organized the school.", assessment=4,
            next_step="Invite to the housing team.", follow_up_on=date(2026, 3, 20), created_at=then,
            created_by_id=users["leader"].id, issues=[issue],
        )
        s.add(one)
        s.flush()
        s.add(Commitment(one_to_one_id=one.id, kind=CommitmentKind.ATTEND_ACTION, quantity=3,
                         note="Brings her sisters", status=CommitmentStatus.KEPT, marked_at=then,
                         marked_by_id=users["leader"].id))
        s.add(PersonPipeline(person_id=person.id, stage_id=stage.id, entered_at=then,
                             last_one_to_one_on=one.held_on, last_assessment=4, one_to_one_count=1))
        s.add(StageMove(person_id=person.id, from_stage_id=None, to_stage_id=stage.id, moved_at=then,
                        moved_by_id=users["leader"].id, reason="First ask"))

        campaign = Campaign(
            name="Fair rents", issue="Housing", goal="A rent board by June.", status=CampaignStatus.ACTIVE,
            starts_on=date(2026, 1, 10), ends_on=date(2026, 6, 30), lead_organizer_id=users["organizer"].id,
            notes="Alderman is soft.", created_at=then, updated_at=then, institutions=[institution],
        )
        target = Target(name="Ald. Ruiz", title="Alderman", body="City Council, Ward 25", contact="312-555-0100",
                        notes="Answers texts.", created_at=then)
        s.add_all([campaign, target])
        s.flush()
        link = CampaignTarget(campaign=campaign, target=target, position=Position.ALLY, influence=4,
                              updated_at=then)
        s.add(link)
        s.flush()
        s.add(PositionChange(campaign_target_id=link.id, previous=None, position=link.position,
                             note="Met at the hearing", changed_at=then, changed_by_id=users["organizer"].id))
        s.add(TargetRelationship(target=target, person=person, kind=list(RelationshipKind)[0], note="Neighbors",
                                 created_at=then, created_by_id=users["organizer"].id))

        starts = datetime(2026, 12, 15, 0, 30, tzinfo=timezone.utc)
        action = Action(
            title="Hearing on rents", type=ActionType.HEARING, campaign=campaign, starts_at=starts,
            ends_at=starts + timedelta(hours=2), timezone="America/Chicago", location="City Hall, room 201",
            turnout_goal=120, description="Wear red.", created_by_id=users["organizer"].id, created_at=then,
            updated_at=then,
        )
        s.add(action)
        s.flush()
        s.add(TurnoutCommitment(action_id=action.id, institution_id=institution.id, committed_by_name="Pastor Lee",
                                number=40, note="Two buses", recorded_by_id=users["organizer"].id,
                                created_at=then, updated_at=then))
        s.add(TurnoutCommitment(action_id=action.id, leader_id=users["leader"].id, number=12, note="My block",
                                recorded_by_id=users["leader"].id, created_at=then, updated_at=then))
        s.add(Rsvp(action_id=action.id, person_id=person.id, status=RsvpStatus.MAYBE, source=RsvpSource.SMS,
                   recruited_by_id=users["leader"].id, created_at=then, updated_at=then))
        mobilization = Mobilization(
            title="Hearing reminder", kind=MobilizationKind.BROADCAST, body="Hi {first_name}, see you Tuesday!",
            text_language="es", audience={"neighborhood_id": pilsen.id, "tag_id": housing.id,
                                          "owner_id": users["leader"].id, "language": "es"},
            rsvp_prompt=False, action_id=action.id, campaign_id=campaign.id,
            created_by_id=users["organizer"].id, created_at=then,
        )
        leader_draft = Mobilization(
            title="My block", kind=MobilizationKind.P2P, body="Hi {first_name}, it's me from the block club.",
            text_language="en", audience={"owner_id": users["leader"].id, "tag_id": youth.id},
            created_by_id=users["leader"].id, created_at=then,
        )
        s.add_all([mobilization, leader_draft])
        conversation = Conversation(phone=person.phone, person_id=person.id, assigned_to_id=users["leader"].id,
                                    unread=1, last_message_at=then, last_inbound_at=then, created_at=then)
        s.add(conversation)
        s.flush()
        s.add(InboundMessage(message_sid="SM" + "1" * 32, conversation_id=conversation.id, person_id=person.id,
                             from_phone=person.phone, to_phone="+13125550100", body="Can I bring my kids?",
                             keyword="", received_at=then))
        s.commit()
        world = World(
            admin=users["admin"], organizer=users["organizer"], leader=users["leader"], person=person.id,
            institution=institution.id, membership=membership.id, one_to_one=one.id, stage=stage.id,
            campaign=campaign.id, target=target.id, link=link.id, action=action.id, mobilization=mobilization.id, leader_draft=leader_draft.id,
            conversation=conversation.id, signup_token=action.signup_token,
        )
        for user in users.values():
            s.refresh(user)
            s.expunge(user)
    return world


