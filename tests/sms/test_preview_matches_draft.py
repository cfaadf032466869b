"""The live compose preview and the saved draft count the same people and the same cost, for
every audience filter and every value it takes (every RSVP answer included), and both agree
with who the filters should pick out of the people set up here."""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import product

import pytest
from sqlalchemy import select

from organizer.extensions import db

pytestmark = pytest.mark.usefixtures("twilio_app", "org")

PRICE = Decimal("0.0083")
BODY = "Hi {first_name}, the hearing is Tuesday."

# One row per person: (neighborhood, institution, tag, leader stage?, owner, language, RSVP, phone?, opted out?)
PEOPLE = [
    ("north", "st_mark", "tenant", True, "leader", "en", "yes", True, False),
    ("north", "st_mark", None, False, "leader", "es", "maybe", True, False),
    ("north", None, "tenant", False, "organizer", None, "no", True, False),
    ("south", "union", None, True, "organizer", "vi", None, True, False),
    ("south", "union", "tenant", False, None, "en", "yes", True, True),
    ("south", None, None, False, None, "es", None, False, False),
    (None, "st_mark", "tenant", True, "leader", None, "maybe", True, False),
    (None, None, None, False, None, "en", "no", True, False),
    ("north", "union", None, False, "organizer", "es", "yes", True, False),
    (None, None, "tenant", False, "leader", "vi", None, True, False),
    ("south", "st_mark", None, True, None, "en", None, True, False),
]
COLUMNS = ("neighborhood_id", "institution_id", "tag_id", "stage_id", "owner_id", "language", "rsvp_status")
CHOICES = {
    "neighborhood_id": ["north", "south"],
    "institution_id": ["st_mark", "union"],
    "tag_id": ["tenant"],
    "stage_id": ["leader"],
    "owner_id": ["leader", "organizer"],
    "language": ["en", "es", "vi"],
}
RSVP_ANSWERS = ["", "yes", "maybe", "no", "none"]
OTHER_FILTERS = [("", "")] + [(name, value) for name, values in CHOICES.items() for value in values]


def _expected_recipients(filters: dict[str, str]) -> int:
    """Who should get the text, worked out from ``PEOPLE`` without any of the app's queries."""
    count = 0
    for hood, inst, tag, leader_stage, owner, lang, rsvp, has_phone, opted_out in PEOPLE:
        checks = {
            "neighborhood_id": hood, "institution_id": inst, "tag_id": tag,
            "stage_id": "leader" if leader_stage else None, "owner_id": owner,
        }
        if any(filters.get(k) and filters[k] != v for k, v in checks.items()):
            continue
        wanted_language = filters.get("language")
        if wanted_language == "en" and lang not in ("en", None):
            continue
        if wanted_language and wanted_language != "en" and lang != wanted_language:
            continue
        answer = filters.get("rsvp_status")
        if answer == "none" and rsvp is not None:
            continue
        if answer and answer != "none" and rsvp != answer:
            continue
        if has_phone and not opted_out:
            count += 1
    return count


@pytest.fixture
def world(app, make_user, make_action, phone_for):
    """The people above, and the ids each symbolic value stands for."""
    from organizer.actions.models import Rsvp, RsvpSource, RsvpStatus
    from organizer.auth.models import User
    from organizer.institutions.models import Institution, InstitutionType, Membership, MembershipRole
    from organizer.people.models import Person, SmsConsent
    from organizer.relational.models import Stage
    from organizer.relational.services import move_person
    from organizer.settings.models import Neighborhood, Tag

    organizer = make_user("organizer")
    leader = make_user("leader")
    action = make_action(title="Route 9 hearing")
    with app.app_context():
        ids = {"north": Neighborhood(name="North"), "south": Neighborhood(name="South"),
               "st_mark": Institution(name="St. Mark", type=InstitutionType.CONGREGATION),
               "union": Institution(name="Local 1", type=InstitutionType.UNION), "tenant": Tag(name="Tenant")}
        db.session.add_all(ids.values())
        db.session.flush()
        stage = db.session.scalar(select(Stage).where(Stage.name == "Leader"))
        actor = db.session.get(User, organizer.id)
        owners = {"leader": leader.id, "organizer": organizer.id, None: None}
        for n, (hood, inst, tag, leader_stage, owner, lang, rsvp, has_phone, opted_out) in enumerate(PEOPLE):
            person = Person(first_name=f"Pat{n}", last_name="Resident", phone=phone_for(n) if has_phone else None,
                            neighborhood_id=ids[hood].id if hood else None, preferred_language=lang,
                            owner_id=owners[owner],
                            sms_consent=SmsConsent.OPTED_OUT if opted_out else SmsConsent.UNKNOWN)
            if tag:
                person.tags = [ids[tag]]
            if inst:
                person.memberships = [Membership(institution_id=ids[inst].id, role=MembershipRole.MEMBER)]
            db.session.add(person)
            db.session.flush()
            if leader_stage:
                move_person(person, stage, actor)
            if rsvp in ("yes", "maybe", "no"):
                db.session.add(Rsvp(action_id=action.id, person_id=person.id, status=RsvpStatus(rsvp),
                                    source=RsvpSource.ORGANIZER))
        db.session.commit()
        values = {name: ids[name].id for name in ("north", "south", "st_mark", "union", "tenant")}
        values.update(leader=leader.id, organizer=organizer.id, stage=stage.id)
    return {"organizer": organizer, "action": action, "values": values}


def _form_value(world, name: str, value: str) -> str:
    if name in ("language", "rsvp_status") or not value:
        return value
    key = "stage" if name == "stage_id" else value
    return str(world["values"][key])


@pytest.mark.parametrize("answer", RSVP_ANSWERS, ids=lambda v: v or "any-answer")
def test_the_live_preview_and_the_saved_draft_agree(app, login_as, world, answer):
    """For one RSVP answer, alone and with each value of every other filter."""
    app.config["SMS_PRICE_PER_SEGMENT"] = str(PRICE)
    client = login_as(world["organizer"])
    for name, value in OTHER_FILTERS:
        fields = {"title": "Turnout", "body": BODY, "action_id": str(world["action"].id), "rsvp_status": answer}
        if name:
            fields[name] = _form_value(world, name, value)
        expected = _expected_recipients({name: value, "rsvp_status": answer} if name else {"rsvp_status": answer})

        live = client.client.get("/sms/preview", query_string=fields).get_json()
        saved = client.post("/sms/new", fields)
        assert saved.status_code == 302
        page = client.client.get(saved.headers["Location"]).get_data(as_text=True)
        saved_count = int(re.search(r'data-testid="recipient-count">(\d+)<', page).group(1))
        saved_cost = re.search(r"Estimated cost</th><td>\$([0-9.]+)<", page).group(1)

        assert (name, value, live["recipients"], saved_count) == (name, value, expected, expected)
        assert live["cost"] == saved_cost == f"{PRICE * expected:.2f}"


def test_the_filters_above_pick_different_people():
    """The set-up is worth something only if the filters tell people apart."""
    counts = {_expected_recipients({n: v, "rsvp_status": a}) for (n, v), a in product(OTHER_FILTERS, RSVP_ANSWERS)}
    assert len(counts) >= 4
