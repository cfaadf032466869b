"""Threads belong to people: a number shared by two records (a household phone, or a number a
leader typed that belongs to someone outside their list) opens nobody's texts to anybody else.

A leader who gives a record a phone held by someone they may not see makes a phone conflict:
the record is kept, but texts to it are held and the number's replies stay with the first
holder until staff decide on the shared-numbers page.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from organizer.extensions import db
from organizer.people.models import Person, PhoneConflict, PhoneConflictStatus
from organizer.sms.models import Conversation, InboundMessage, Mobilization, OutboxMessage, OutboxStatus
from tests.sms.conftest import signed_post

pytestmark = pytest.mark.usefixtures("twilio_app", "org")

ROSA = "+13125550301"


def _reply(client, sid: str, body: str, phone: str = ROSA):
    assert signed_post(client, "/sms/inbound", {"MessageSid": sid, "From": phone, "Body": body}).status_code == 200


def _thread_id(app, person_id: int | None, phone: str = ROSA) -> int:
    with app.app_context():
        who = Conversation.person_id == person_id if person_id else Conversation.person_id.is_(None)
        return db.session.scalar(select(Conversation.id).where(Conversation.phone == phone, who))


def _text_my_people(app, leader, body: str) -> int:
    """A leader composes and starts a one-at-a-time text to their own list; returns its id."""
    leader.post("/sms/new", {"title": body[:20], "body": body})
    with app.app_context():
        mobilization_id = db.session.scalar(select(Mobilization.id).order_by(Mobilization.id.desc()))
    leader.post(f"/sms/{mobilization_id}/launch", {})
    return mobilization_id


def _add_person_as(app, user, first_name: str, phone: str) -> Person:
    from organizer.auth.models import User
    from organizer.people.services import PersonData, create_person

    with app.app_context():
        person = create_person(PersonData(first_name=first_name, phone=phone), db.session.get(User, user.id),
                               region="US")
        db.session.commit()
        db.session.refresh(person)
        db.session.expunge(person)
        return person


def test_a_leader_who_types_another_leaders_persons_number_reads_none_of_their_texts(
        app, client, fake, make_user, make_person, login_as):
    leader_a, leader_b = make_user("leader", name="Ana Leader"), make_user("leader", name="Bo Leader")
    rosa = make_person(owner=leader_a, first_name="Rosa", last_name="Marquez", phone=ROSA)
    staff = login_as(make_user("organizer"))

    # The federation texts Rosa; she answers with her new address, which reaches Ana.
    staff.post("/sms/new", {"title": "Hearing", "body": "Federation: hearing Tuesday, Rosa"})
    with app.app_context():
        broadcast_id = db.session.scalar(select(Mobilization.id))
    staff.post(f"/sms/{broadcast_id}/launch", {})
    _reply(client, "SMs1", "I moved to 12 Elm St")
    rosas_thread = _thread_id(app, rosa.id)
    ana = login_as(leader_a)
    assert "12 Elm St" in ana.client.get(f"/sms/inbox/{rosas_thread}").get_data(as_text=True)

    # Bo adds "his" person with Rosa's number ("Save anyway") and texts them one at a time.
    bo = login_as(leader_b)
    response = bo.post("/people/new", {"first_name": "Rosie", "phone": "(312) 555-0301", "sms_consent": "unknown",
                                        "confirm_duplicate": "y"})
    assert response.status_code == 302
    with app.app_context():
        copy = db.session.scalar(select(Person).where(Person.first_name == "Rosie"))
        assert copy.owner_id == leader_b.id and copy.phone == ROSA
    sent_before = len(fake.messages)
    mobilization_id = _text_my_people(app, bo, "Hi {first_name}, Bo here: what is your address?")
    page = bo.post(f"/sms/{mobilization_id}/p2p", {"person_id": str(copy.id)}, follow_redirects=True)
    assert "Held: this number also belongs to someone outside your list." in page.get_data(as_text=True)
    assert len(fake.messages) == sent_before  # nothing went to Rosa's phone from Bo's list

    # Bo reads neither Ana's thread nor the federation's text nor Rosa's replies.
    assert bo.client.get(f"/sms/inbox/{rosas_thread}").status_code == 404
    inbox = bo.client.get("/sms/inbox").get_data(as_text=True)
    assert f"/sms/inbox/{rosas_thread}" not in inbox and "Marquez" not in inbox
    bos_thread = _thread_id(app, copy.id)
    own = bo.client.get(f"/sms/inbox/{bos_thread}").get_data(as_text=True)
    assert "what is your address?" in own and "held for staff" in own
    assert "12 Elm St" not in own and "Federation: hearing" not in own

    # Rosa writes again: her answer still reaches Ana only.
    _reply(client, "SMs2", "Actually it's 34 Oak Ave, apt 2")
    assert "34 Oak Ave" in ana.client.get(f"/sms/inbox/{rosas_thread}").get_data(as_text=True)
    assert "34 Oak Ave" not in bo.client.get(f"/sms/inbox/{bos_thread}").get_data(as_text=True)
    assert "34 Oak Ave" not in bo.client.get("/sms/inbox").get_data(as_text=True)
    with app.app_context():
        assert {m.conversation_id for m in db.session.scalars(select(InboundMessage))} == {rosas_thread}

    # Staff see the conflict and release Bo's text.
    shared = staff.client.get("/sms/shared-numbers").get_data(as_text=True)
    assert "Rosie" in shared and "Rosa Marquez" in shared and "Bo Leader" in shared and "1 text waiting" in shared
    with app.app_context():
        conflict = db.session.scalars(select(PhoneConflict)).one()
        assert (conflict.person_id, conflict.phone, conflict.status) == (copy.id, ROSA, PhoneConflictStatus.OPEN)
    staff.post(f"/sms/shared-numbers/{conflict.id}/allow")
    assert [(m.to, m.body) for m in fake.messages[sent_before:]] == [
        (ROSA, "Hi Rosie, Bo here: what is your address?")]
    with app.app_context():
        assert db.session.get(PhoneConflict, conflict.id).status is PhoneConflictStatus.ALLOWED
    assert "No shared numbers to check." in staff.client.get("/sms/shared-numbers").get_data(as_text=True)


def test_a_household_phone_gives_each_person_a_thread_that_only_their_holders_read(
        app, client, fake, make_user, make_person, login_as):
    leader_a, leader_b = make_user("leader"), make_user("leader")
    maria = make_person(owner=leader_a, first_name="Maria", phone=ROSA)
    juan = _add_person_as(app, leader_b, "Juan", ROSA)  # the same kitchen phone
    staff = login_as(make_user("organizer"))
    with app.app_context():
        conflict_id = db.session.scalar(select(PhoneConflict.id))
    staff.post(f"/sms/shared-numbers/{conflict_id}/allow")  # same household

    ana, bo = login_as(leader_a), login_as(leader_b)
    maria_texts = _text_my_people(app, ana, "Hi {first_name}, from Ana")
    ana.post(f"/sms/{maria_texts}/p2p", {"person_id": str(maria.id)})
    _reply(client, "SMh1", "Maria here: yes I'll come")
    juan_texts = _text_my_people(app, bo, "Hi {first_name}, from Bo")
    bo.post(f"/sms/{juan_texts}/p2p", {"person_id": str(juan.id)})
    _reply(client, "SMh2", "Juan here: count me in")
    assert [m.body for m in fake.messages] == ["Hi Maria, from Ana", "Hi Juan, from Bo"]

    # Each reply is threaded with the person texted last from that number.
    maria_thread, juan_thread = _thread_id(app, maria.id), _thread_id(app, juan.id)
    ana_reads = ana.client.get(f"/sms/inbox/{maria_thread}").get_data(as_text=True)
    assert "Hi Maria, from Ana" in ana_reads and "Maria here" in ana_reads
    assert "from Bo" not in ana_reads and "Juan here" not in ana_reads
    bo_reads = bo.client.get(f"/sms/inbox/{juan_thread}").get_data(as_text=True)
    assert "Hi Juan, from Bo" in bo_reads and "Juan here" in bo_reads
    assert "from Ana" not in bo_reads and "Maria here" not in bo_reads
    assert ana.client.get(f"/sms/inbox/{juan_thread}").status_code == 404
    assert bo.client.get(f"/sms/inbox/{maria_thread}").status_code == 404
    # Staff read both, each on its own.
    inbox = staff.client.get("/sms/inbox").get_data(as_text=True)
    assert f"/sms/inbox/{maria_thread}" in inbox and f"/sms/inbox/{juan_thread}" in inbox


def test_a_federation_text_reaches_a_shared_number_once_and_its_first_holder(app, fake, make_user, make_person,
                                                                              login_as):
    leader_a, leader_b = make_user("leader"), make_user("leader")
    make_person(owner=leader_a, first_name="Maria", phone=ROSA)
    _add_person_as(app, leader_b, "Copy", ROSA)
    staff = login_as(make_user("organizer"))
    preview = staff.client.get("/sms/preview", query_string={"body": "Hi {first_name}"}).get_json()
    assert preview["recipients"] == 1 and preview["excluded"]["duplicate"] == 1
    staff.post("/sms/new", {"title": "All", "body": "Hi {first_name}"})
    with app.app_context():
        mobilization_id = db.session.scalar(select(Mobilization.id))
    staff.post(f"/sms/{mobilization_id}/launch", {})
    assert [(m.to, m.body) for m in fake.messages] == [(ROSA, "Hi Maria")]


def test_a_broadcast_to_a_held_record_waits_and_a_duplicate_decision_cancels_it(app, fake, make_user, make_person,
                                                                                 login_as):
    leader_a, leader_b = make_user("leader"), make_user("leader")
    make_person(owner=leader_a, phone=ROSA)
    copy = _add_person_as(app, leader_b, "Copy", ROSA)
    staff = login_as(make_user("organizer"))
    # An organizer texts Bo's list: the only person on it shares Rosa's number, unresolved.
    staff.post("/sms/new", {"title": "Bo's list", "body": "Hi {first_name}", "owner_id": str(leader_b.id)})
    with app.app_context():
        mobilization_id = db.session.scalar(select(Mobilization.id))
    page = staff.client.get(f"/sms/{mobilization_id}").get_data(as_text=True)
    assert 'data-testid="held-count">1<' in page
    staff.post(f"/sms/{mobilization_id}/launch", {})
    assert fake.messages == []
    with app.app_context():
        row = db.session.scalars(select(OutboxMessage)).one()
        assert (row.person_id, row.status) == (copy.id, OutboxStatus.HELD)
        assert db.session.get(Mobilization, mobilization_id).status.value == "done"
        conflict_id = db.session.scalar(select(PhoneConflict.id))

    staff.post(f"/sms/shared-numbers/{conflict_id}/archive")
    with app.app_context():
        assert db.session.get(OutboxMessage, row.id).status is OutboxStatus.CANCELED
        assert db.session.get(Person, copy.id).archived_at is not None
        assert db.session.get(PhoneConflict, conflict_id).status is PhoneConflictStatus.DUPLICATE
    assert fake.messages == []
    # Decided once: a second decision changes nothing.
    response = staff.post(f"/sms/shared-numbers/{conflict_id}/allow", follow_redirects=True)
    assert "Someone decided about this number already." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PhoneConflict, conflict_id).status is PhoneConflictStatus.DUPLICATE


def test_a_record_marked_duplicate_is_never_texted_at_that_number_but_may_be_at_another(
        app, fake, make_user, make_person, login_as):
    leader_a, leader_b = make_user("leader"), make_user("leader")
    make_person(owner=leader_a, phone=ROSA)
    copy = _add_person_as(app, leader_b, "Copy", ROSA)
    staff = login_as(make_user("organizer"))
    with app.app_context():
        conflict_id = db.session.scalar(select(PhoneConflict.id))
    staff.post(f"/sms/shared-numbers/{conflict_id}/duplicate")
    bo = login_as(leader_b)
    assert "Texts to this number wait for staff" in bo.client.get(f"/people/{copy.id}").get_data(as_text=True)
    preview = bo.client.get("/sms/preview", query_string={"body": "Hi"}).get_json()
    assert preview["recipients"] == 1  # written, but held: the detail page says so

    bo.post(f"/people/{copy.id}/edit", {"first_name": "Copy", "phone": "(312) 555-0302", "sms_consent": "unknown"})
    with app.app_context():
        assert db.session.get(Person, copy.id).phone == "+13125550302"
    assert "Texts to this number wait" not in bo.client.get(f"/people/{copy.id}").get_data(as_text=True)
    mobilization_id = _text_my_people(app, bo, "Hi {first_name}")
    bo.post(f"/sms/{mobilization_id}/p2p", {"person_id": str(copy.id)})
    assert [m.to for m in fake.messages] == ["+13125550302"]


def test_only_a_number_held_outside_ones_list_is_a_conflict(app, make_user, make_person):
    leader, other = make_user("leader"), make_user("leader")
    organizer = make_user("organizer")
    make_person(owner=leader, phone="+13125550311")
    make_person(owner=other, phone="+13125550312")
    make_person(owner=None, phone="+13125550313")  # nobody's yet: outside every leader's list

    _add_person_as(app, leader, "Same list", "+13125550311")  # a household within the leader's own list
    _add_person_as(app, organizer, "Staff copy", "+13125550312")  # staff see everyone
    _add_person_as(app, leader, "New number", "+13125550399")
    taken = _add_person_as(app, leader, "Federation's", "+13125550313")
    edited = _add_person_as(app, leader, "Edited", None)
    from organizer.auth.models import User
    from organizer.people.services import PersonData, update_person

    with app.app_context():
        update_person(db.session.get(Person, edited.id), PersonData(first_name="Edited", phone="+13125550312"),
                      db.session.get(User, leader.id), region="US")
        db.session.commit()
        noted = db.session.execute(select(PhoneConflict.person_id, PhoneConflict.phone, PhoneConflict.created_by_id)
                                   .order_by(PhoneConflict.id)).all()
    assert noted == [(taken.id, "+13125550313", leader.id), (edited.id, "+13125550312", leader.id)]


def test_an_unknown_number_matched_to_a_person_joins_their_thread(app, client, make_user, make_person, login_as):
    staff_user = make_user("organizer")
    _reply(client, "SMu1", "who is this?")
    unknown = _thread_id(app, None)
    lupe = make_person(first_name="Lupe", phone=ROSA)  # added later, with that number
    _reply(client, "SMu2", "it's Lupe, from church")
    lupes = _thread_id(app, lupe.id)
    assert unknown != lupes

    staff = login_as(staff_user)
    response = staff.post(f"/sms/inbox/{unknown}/match", {"person_id": str(lupe.id)})
    assert response.headers["Location"].endswith(f"/sms/inbox/{lupes}")
    page = staff.client.get(f"/sms/inbox/{lupes}").get_data(as_text=True)
    assert "who is this?" in page and "from church" in page
    with app.app_context():
        assert db.session.get(Conversation, unknown) is None
        assert db.session.get(Conversation, lupes).unread == 0
        assert set(db.session.scalars(select(InboundMessage.person_id))) == {lupe.id}
