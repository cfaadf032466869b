"""The demo federation: a realistic metro federation to try Organizer with.

``seed_demo`` runs each area's step in order inside one transaction. Later areas add
their own step to ``STEPS`` (one-to-ones, campaigns, actions, texts), building on the
people and accounts made here. Fixed random seed: the same federation every time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from organizer.auth.models import Role, User
from organizer.auth.services import create_user
from organizer.db import utcnow
from organizer.extensions import db
from organizer.institutions.models import (
    Institution,
    InstitutionStatus,
    InstitutionType,
    Membership,
    MembershipRole,
)
from organizer.people.models import Person, PersonRaceEthnicity, RaceEthnicity, SmsConsent
from organizer.settings.models import Neighborhood, Organization, Tag

DEMO_PASSWORD = "demo-password"  # noqa: S105 - demo only, printed on the console by make run

NEIGHBORHOODS = ["Pilsen", "Little Village", "Bronzeville", "Albany Park", "Uptown", "South Shore"]
TAGS = ["Housing team", "Transit team", "Youth", "Spanish speaker", "Translator", "Driver",
        "Childcare volunteer", "Research team", "Core team prospect", "Parent"]
INSTITUTIONS = [
    ("St. Mark's Catholic Church", InstitutionType.CONGREGATION, "Catholic", "Pilsen", 1200),
    ("Greater Mt. Zion AME", InstitutionType.CONGREGATION, "AME", "Bronzeville", 450),
    ("First Lutheran Church", InstitutionType.CONGREGATION, "Lutheran (ELCA)", "Albany Park", 220),
    ("Masjid Al-Noor", InstitutionType.CONGREGATION, "Muslim", "Albany Park", 600),
    ("Temple Beth Shalom", InstitutionType.CONGREGATION, "Reform Jewish", "Uptown", 380),
    ("Iglesia Nueva Vida", InstitutionType.CONGREGATION, "Pentecostal", "Little Village", 300),
    ("Our Lady of Guadalupe", InstitutionType.CONGREGATION, "Catholic", "Little Village", 1500),
    ("Trinity United Church", InstitutionType.CONGREGATION, "UCC", "South Shore", 700),
    ("Uptown Baptist Church", InstitutionType.CONGREGATION, "Baptist", "Uptown", 260),
    ("Benito Juárez High School PTA", InstitutionType.SCHOOL, None, "Pilsen", 150),
    ("SEIU Local 73 South Side", InstitutionType.UNION, None, "South Shore", 900),
    ("Lawrence Avenue Tenants Union", InstitutionType.TENANT_ASSOCIATION, None, "Albany Park", 120),
]
FIRST_NAMES = ["Maria", "José", "Guadalupe", "Luis", "Ana", "Carlos", "Rosa", "Miguel", "Keisha", "Darnell",
               "Tamika", "Andre", "Latoya", "Marcus", "Denise", "Jamal", "Linh", "Minh", "Mei", "Wei",
               "Fatima", "Omar", "Aisha", "Yusuf", "Sarah", "David", "Rachel", "Daniel", "Mary", "John",
               "Patricia", "Robert", "Jennifer", "Michael", "Elena", "Ricardo", "Sofia", "Diego", "Grace",
               "Samuel", "Esther", "Isaac", "Nadia", "Tomasz", "Agnieszka", "Kwame", "Abena", "Priya", "Ravi"]
LAST_NAMES = ["García", "Hernández", "López", "Martínez", "Rodríguez", "González", "Pérez", "Sánchez",
              "Johnson", "Williams", "Brown", "Jones", "Davis", "Jackson", "Washington", "Thompson",
              "Nguyen", "Tran", "Chen", "Wang", "Ali", "Hassan", "Khan", "Ahmed", "Cohen", "Levy",
              "Goldberg", "Smith", "Miller", "Anderson", "Kowalski", "Nowak", "Mensah", "Owusu", "Patel",
              "Reyes", "Flores", "Rivera", "Morales", "Carter", "Robinson", "Lewis", "Walker", "Young"]
STREETS = ["W 18th St", "S Ashland Ave", "W 26th St", "S Pulaski Rd", "E 47th St", "S King Dr",
           "W Lawrence Ave", "N Kedzie Ave", "W Argyle St", "N Broadway", "E 71st St", "S Jeffery Blvd"]


@dataclass
class DemoContext:
    """What earlier steps made, for later steps to build on."""

    rng: random.Random
    admin: User | None = None
    organizers: list[User] = field(default_factory=list)
    leaders: list[User] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    institutions: list[Institution] = field(default_factory=list)
    neighborhoods: list[Neighborhood] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)


DemoStep = Callable[[DemoContext], None]
STEPS: list[DemoStep] = []


def step(fn: DemoStep) -> DemoStep:
    STEPS.append(fn)
    return fn


def seed_demo(progress: Callable[[str], None] = lambda _msg: None) -> list[tuple[str, str]] | None:
    """Load the demo federation and commit; returns the logins, or ``None`` if users already exist."""
    if db.session.scalar(select(User.id).limit(1)) is not None:
        return None
    _load_area_steps()
    ctx = DemoContext(rng=random.Random(2026))  # noqa: S311 - demo data, not security
    for fn in STEPS:
        progress(fn.__doc__.splitlines()[0] if fn.__doc__ else fn.__name__)
        fn(ctx)
        db.session.flush()
    db.session.commit()
    return [(u.email, u.role.value) for u in [ctx.admin, *ctx.organizers, *ctx.leaders] if u is not None]


def _load_area_steps() -> None:
    """Import the areas whose ``demo`` modules add steps (kept here so the order is explicit)."""
    import importlib

    for module in ("organizer.relational.demo", "organizer.campaigns.demo", "organizer.actions.demo",
                   "organizer.sms.demo", "organizer.reports.demo"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as missing:
            if not (missing.name and module.startswith(missing.name)):
                raise  # the area exists but something it imports is missing


@step
def organization(ctx: DemoContext) -> None:
    """Organization settings, neighborhoods and tags."""
    db.session.add(Organization(
        id=1, name="Metro Organizing Federation", timezone="America/Chicago", default_phone_region="US",
        sms_help_text="Metro Organizing Federation: texts about our actions. Reply STOP to opt out.",
        going_cold_days=90,
    ))
    ctx.neighborhoods = [Neighborhood(name=n) for n in NEIGHBORHOODS]
    ctx.tags = [Tag(name=t) for t in TAGS]
    db.session.add_all(ctx.neighborhoods + ctx.tags)


@step
def institutions(ctx: DemoContext) -> None:
    """Twelve member institutions, mostly congregations."""
    by_name = {n.name: n for n in ctx.neighborhoods}
    statuses = [InstitutionStatus.DUES_PAYING] * 6 + [InstitutionStatus.MEMBER] * 4 + [
        InstitutionStatus.PROSPECT, InstitutionStatus.INACTIVE]
    for (name, kind, tradition, hood, size), status in zip(INSTITUTIONS, statuses, strict=True):
        ctx.institutions.append(Institution(
            name=name, type=kind, faith_tradition=tradition, neighborhood=by_name[hood],
            address=f"{ctx.rng.randint(100, 4999)} {ctx.rng.choice(STREETS)}, Chicago, IL",
            membership_size=size, status=status,
        ))
    db.session.add_all(ctx.institutions)


@step
def accounts(ctx: DemoContext) -> None:
    """One admin, three organizers and eight leaders."""
    ctx.admin = create_user(email="admin@demo.local", name="Alex Admin", password=DEMO_PASSWORD, role=Role.ADMIN)
    organizer_names = ["Teresa Organizer", "Marcus Organizer", "Linh Organizer"]
    for i, name in enumerate(organizer_names, start=1):
        user = create_user(email=f"organizer{i}@demo.local", name=name, password=DEMO_PASSWORD, role=Role.ORGANIZER)
        user.monthly_one_to_one_goal = 30
        ctx.organizers.append(user)
    for i in range(1, 9):
        first, last = ctx.rng.choice(FIRST_NAMES), ctx.rng.choice(LAST_NAMES)
        user = create_user(email=f"leader{i}@demo.local", name=f"{first} {last}", password=DEMO_PASSWORD,
                           role=Role.LEADER)
        user.monthly_one_to_one_goal = 6
        ctx.leaders.append(user)


@step
def residents(ctx: DemoContext) -> None:
    """About 300 residents across six neighborhoods, with memberships, owners and leaders' own lists."""
    rng = ctx.rng
    area_codes = ["312", "773", "872", "708"]
    numbers = [f"+1{a}5550{n:03d}"[:12] for a in area_codes for n in range(100, 200)]
    rng.shuffle(numbers)
    now = utcnow()
    for i in range(300):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        institution = rng.choice(ctx.institutions)
        neighborhood = institution.neighborhood if rng.random() < 0.8 else rng.choice(ctx.neighborhoods)
        spanish = last in LAST_NAMES[:8] or last in ("Reyes", "Flores", "Rivera", "Morales")
        person = Person(
            first_name=first, last_name=last,
            phone=numbers[i] if rng.random() < 0.92 else None,
            email=f"{first}.{last}.{i}@example.org".lower().replace("é", "e").replace("á", "a")
            .replace("í", "i").replace("ó", "o").replace("ú", "u") if rng.random() < 0.6 else None,
            address=f"{rng.randint(100, 4999)} {rng.choice(STREETS)}, Chicago, IL",
            neighborhood=neighborhood,
            preferred_language="es" if spanish and rng.random() < 0.6 else "en",
            sms_consent=rng.choices(list(SmsConsent), weights=[30, 65, 5])[0],
            created_at=now - timedelta(days=rng.randint(1, 700)),
        )
        if person.sms_consent is not SmsConsent.UNKNOWN:
            person.sms_consent_at = person.created_at
            person.sms_consent_source = "demo data"
        person.race_ethnicities = [PersonRaceEthnicity(value=v) for v in _race_for(last, rng)]
        person.tags = rng.sample(ctx.tags, k=rng.choice([0, 0, 1, 1, 2]))
        role = rng.choices(list(MembershipRole), weights=[80, 2, 15, 3])[0]
        person.memberships = [Membership(institution=institution, role=role)]
        ctx.people.append(person)
    db.session.add_all(ctx.people)
    # Leaders' own lists: 12 to 25 people each; organizers hold most of the rest.
    pool = ctx.people[:]
    rng.shuffle(pool)
    cursor = 0
    for leader in ctx.leaders:
        size = rng.randint(12, 25)
        for person in pool[cursor:cursor + size]:
            person.owner = leader
        cursor += size
    for person in pool[cursor:]:
        if rng.random() < 0.85:
            person.owner = rng.choice(ctx.organizers)
    # Each leader's account is linked to a person record of their own, held by an organizer.
    for leader in ctx.leaders:
        first, last = leader.name.split(" ", 1)
        own = Person(first_name=first, last_name=last, owner=rng.choice(ctx.organizers),
                     neighborhood=rng.choice(ctx.neighborhoods), preferred_language="en",
                     memberships=[Membership(institution=rng.choice(ctx.institutions),
                                             role=MembershipRole.CORE_TEAM)])
        db.session.add(own)
        db.session.flush()
        leader.person_id = own.id
        ctx.people.append(own)


def _race_for(last_name: str, rng: random.Random) -> list[RaceEthnicity]:
    if rng.random() < 0.12:
        return [] if rng.random() < 0.5 else [RaceEthnicity.PREFER_NOT_TO_SAY]
    index = LAST_NAMES.index(last_name)
    if index < 8 or last_name in ("Reyes", "Flores", "Rivera", "Morales"):
        base = [RaceEthnicity.HISPANIC]
    elif index < 16 or last_name in ("Carter", "Robinson", "Mensah", "Owusu"):
        base = [RaceEthnicity.BLACK]
    elif index < 20 or last_name == "Patel":
        base = [RaceEthnicity.ASIAN]
    elif index < 24:
        base = [RaceEthnicity.MIDDLE_EASTERN]
    else:
        base = [RaceEthnicity.WHITE]
    if rng.random() < 0.08:
        base.append(rng.choice([RaceEthnicity.WHITE, RaceEthnicity.AMERICAN_INDIAN, RaceEthnicity.OTHER]))
    return sorted(set(base))
