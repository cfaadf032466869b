"""Who reads a thread: a leader only while they own its person, whoever it was assigned to."""

from __future__ import annotations

from sqlalchemy import select

from organizer.extensions import db


def test_leader_loses_a_thread_when_the_person_is_given_to_someone_else(app, make_user, make_person, login_as,
                                                                           phone_for):
    from organizer.people.models import Person
    from organizer.sms.models import Conversation
    from organizer.sms.services import receive

    first, second = make_user("leader"), make_user("leader")
    person = make_person(owner=first, phone=phone_for(1), first_name="Rosa")
    with app.app_context():
        receive("SMa1", phone_for(1), "", "Rosa here, my landlord raised the rent again")
        conversation = db.session.scalars(select(Conversation)).one()
        conversation.assigned_to_id = first.id  # routed to the leader who texted her (P2P)
        db.session.get(Person, person.id).owner_id = second.id  # an organizer reassigns Rosa
        db.session.commit()
        conversation_id = conversation.id

    before = login_as(first)
    assert before.client.get(f"/sms/inbox/{conversation_id}").status_code == 404
    assert "landlord" not in before.client.get("/sms/inbox").get_data(as_text=True)
    after = login_as(second)
    assert "landlord" in after.client.get(f"/sms/inbox/{conversation_id}").get_data(as_text=True)


def test_a_thread_assigned_to_a_leader_who_does_not_own_the_person_stays_hidden_from_them(
        app, make_user, make_person, login_as, phone_for):
    from organizer.sms.models import Conversation
    from organizer.sms.services import receive

    owner, outsider = make_user("leader"), make_user("leader")
    make_person(owner=owner, phone=phone_for(2))
    with app.app_context():
        receive("SMa2", phone_for(2), "", "please remove me from this list")
        conversation = db.session.scalars(select(Conversation)).one()
        conversation.assigned_to_id = outsider.id
        db.session.commit()
        conversation_id = conversation.id

    leader = login_as(outsider)
    assert leader.client.get(f"/sms/inbox/{conversation_id}").status_code == 404
    assert leader.client.get("/sms/inbox?show=mine").get_data(as_text=True).count(f"/sms/inbox/{conversation_id}") == 0


def test_a_thread_can_be_given_to_staff_or_to_the_leader_who_owns_the_person_only(
        app, make_user, make_person, login_as, phone_for):
    from organizer.sms.models import Conversation
    from organizer.sms.services import receive

    owner = make_user("leader", name="Owner Leader")
    outsider = make_user("leader", name="Outsider Leader")
    make_user("organizer", name="Colleague Organizer")
    make_person(owner=owner, phone=phone_for(3))
    with app.app_context():
        receive("SMa3", phone_for(3), "", "what time tomorrow?")
        db.session.commit()
        conversation_id = db.session.scalar(select(Conversation.id))

    staff = login_as(make_user("organizer"))
    page = staff.client.get(f"/sms/inbox/{conversation_id}").get_data(as_text=True)
    assert "Owner Leader" in page and "Colleague Organizer" in page and "Outsider Leader" not in page

    staff.post(f"/sms/inbox/{conversation_id}/assign", {"assigned_to_id": str(outsider.id)})
    with app.app_context():
        assert db.session.get(Conversation, conversation_id).assigned_to_id is None
    staff.post(f"/sms/inbox/{conversation_id}/assign", {"assigned_to_id": str(owner.id)})
    with app.app_context():
        assert db.session.get(Conversation, conversation_id).assigned_to_id == owner.id
    assert login_as(owner).client.get(f"/sms/inbox/{conversation_id}").status_code == 200
