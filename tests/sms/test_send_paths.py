"""Texts go only to whom they are meant for: a test only to the sender's own numbers (their
person record's phone, or one an admin verified), a few a day; every other text only to
people the sender may see, whatever ids a leader puts in the request."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.sms.models import Mobilization, OutboxMessage, VerifiedNumber
from tests.sms.conftest import signed_post

pytestmark = pytest.mark.usefixtures("twilio_app", "org")

MINE = "+13125550401"
STRANGER = "+13125550499"


def _draft(app, auth, body: str = "Hi {first_name}, hearing Tuesday") -> int:
    auth.post("/sms/new", {"title": "Hearing", "body": body})
    with app.app_context():
        return db.session.scalar(select(Mobilization.id).order_by(Mobilization.id.desc()))


def _outbox_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(OutboxMessage.id)))


def test_a_leaders_test_goes_to_their_own_phone_on_file_and_nowhere_else(app, fake, make_user, make_person,
                                                                          login_as):
    me = make_person(first_name="Lena", phone=MINE)
    leader_user = make_user("leader", person_id=me.id)
    make_person(owner=leader_user, phone="+13125550402")
    leader = login_as(leader_user)
    draft = _draft(app, leader)

    page = leader.client.get(f"/sms/{draft}").get_data(as_text=True)
    assert '<select class="form-select" id="test_phone" name="test_phone" required>' \
           '<option value="+13125550401">(312) 555-0401</option></select>' in page
    assert 'name="test_phone" type="text"' not in page  # no box to type a number in

    refused = leader.post(f"/sms/{draft}/test", {"test_phone": STRANGER}, follow_redirects=True)
    assert "A test goes only to your own phone on file or to a number an admin verified for you." in refused.get_data(
        as_text=True)
    assert fake.messages == [] and _outbox_count(app) == 0

    leader.post(f"/sms/{draft}/test", {"test_phone": MINE})
    assert [(m.to, m.body) for m in fake.messages] == [(MINE, "Hi Lena, hearing Tuesday")]


def test_a_test_may_go_to_a_number_an_admin_verified_until_it_is_removed(app, fake, make_user, login_as):
    leader_user = make_user("leader", name="Lena Leader")
    admin = login_as(make_user("admin"))
    leader = login_as(leader_user)
    draft = _draft(app, leader)
    assert 'data-testid="no-test-number"' in leader.client.get(f"/sms/{draft}").get_data(as_text=True)

    bad = admin.post("/sms/test-numbers", {"user_id": str(leader_user.id), "phone": "555"})
    assert "This is not a valid phone number." in bad.get_data(as_text=True)
    admin.post("/sms/test-numbers", {"user_id": str(leader_user.id), "phone": "(312) 555-0401"})
    assert "Lena Leader" in admin.client.get("/sms/test-numbers").get_data(as_text=True)
    again = admin.post("/sms/test-numbers", {"user_id": str(leader_user.id), "phone": "312-555-0401"},
                       follow_redirects=True)
    assert "This number is verified for Lena Leader already." in again.get_data(as_text=True)

    leader.post(f"/sms/{draft}/test", {"test_phone": MINE})
    assert [m.to for m in fake.messages] == [MINE]

    with app.app_context():
        number_id = db.session.scalar(select(VerifiedNumber.id))
    admin.post(f"/sms/test-numbers/{number_id}/remove")
    leader.post(f"/sms/{draft}/test", {"test_phone": MINE})
    assert [m.to for m in fake.messages] == [MINE]
    assert leader.client.get("/sms/test-numbers").status_code == 403


def test_test_texts_are_capped_per_user_per_day(app, fake, make_user, make_person, login_as):
    app.config["SMS_TEST_SENDS_PER_DAY"] = 2
    me = make_person(phone=MINE)
    colleague_person = make_person(phone="+13125550403")
    organizer = login_as(make_user("organizer", person_id=me.id))
    colleague = login_as(make_user("organizer", person_id=colleague_person.id))
    draft = _draft(app, organizer)

    for _ in range(3):
        response = organizer.post(f"/sms/{draft}/test", {"test_phone": MINE}, follow_redirects=True)
    assert "You have sent the most test texts allowed in 24 hours (2)." in response.get_data(as_text=True)
    assert [m.to for m in fake.messages] == [MINE, MINE]
    # Someone else's allowance is their own.
    colleague.post(f"/sms/{draft}/test", {"test_phone": "+13125550403"})
    assert [m.to for m in fake.messages] == [MINE, MINE, "+13125550403"]


def test_another_leaders_people_cannot_be_texted_through_any_path(app, client, fake, make_user, make_person,
                                                                   login_as, make_institution):
    from organizer.institutions.models import Membership

    me, other = make_user("leader"), make_user("leader")
    mine = make_person(owner=me, first_name="Mine", phone="+13125550411")
    theirs = make_person(owner=other, first_name="Theirs", phone="+13125550412")
    institution = make_institution()
    with app.app_context():
        db.session.add_all([Membership(person_id=mine.id, institution_id=institution.id),
                            Membership(person_id=theirs.id, institution_id=institution.id)])
        db.session.commit()
    signed_post(client, "/sms/inbound", {"MessageSid": "SMp1", "From": theirs.phone, "Body": "hello?"})
    with app.app_context():
        from organizer.sms.models import Conversation, InboundMessage

        their_thread = db.session.scalar(select(Conversation.id).where(Conversation.person_id == theirs.id))
        their_message = db.session.scalar(select(InboundMessage.id))
    owner, leader = login_as(other), login_as(me)

    # Compose: another leader's list or a shared institution still means my own people only.
    query = {"body": "Hi", "owner_id": other.id, "institution_id": institution.id}
    assert leader.client.get("/sms/preview", query_string=query).get_json()["recipients"] == 1
    leader.post("/sms/new", {"title": "Everyone", "body": "Hi {first_name}", "owner_id": str(other.id),
                             "institution_id": str(institution.id)})
    with app.app_context():
        mobilization = db.session.scalars(select(Mobilization)).one()
        assert mobilization.audience["owner_id"] == me.id
    leader.post(f"/sms/{mobilization.id}/launch", {})
    p2p_page = leader.client.get(f"/sms/{mobilization.id}/p2p").get_data(as_text=True)
    assert "Mine" in p2p_page and "Theirs" not in p2p_page

    # One at a time: their person's id, or not an id at all, sends nothing.
    for person_id in (str(theirs.id), "not-a-number"):
        assert leader.post(f"/sms/{mobilization.id}/p2p", {"person_id": person_id}).status_code == 302
    # Their mobilization, their thread, their person's reply: not found.
    their_draft = _draft(app, owner)
    assert leader.post(f"/sms/{their_draft}/launch", {}).status_code == 404
    assert leader.post(f"/sms/{their_draft}/test", {"test_phone": theirs.phone}).status_code == 404
    assert leader.client.get(f"/sms/{their_draft}/p2p").status_code == 404
    assert leader.post(f"/sms/inbox/{their_thread}/reply", {"body": "hi from me"}).status_code == 404
    assert leader.post(f"/sms/inbox/review/{their_message}/confirm").status_code == 404
    # Nor can a test reach their number.
    assert leader.post(f"/sms/{mobilization.id}/test", {"test_phone": theirs.phone}).status_code == 302

    assert fake.messages == []
    with app.app_context():
        texted = set(db.session.scalars(select(OutboxMessage.phone)))
        assert theirs.phone not in texted
        assert db.session.get(Mobilization, their_draft).status.value == "draft"
