"""Texting pages: compose with a live preview, launch, progress, bad input, the inbox and
who sees which thread, replies from a thread, and a leader's one-at-a-time sending."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from organizer.extensions import db
from organizer.sms.models import (
    Conversation,
    Mobilization,
    MobilizationKind,
    MobilizationStatus,
    OutboxMessage,
    VerifiedNumber,
)
from tests.sms.conftest import signed_post

pytestmark = pytest.mark.usefixtures("twilio_app", "org")


def _compose(auth, **overrides):
    data = {"title": "Hearing turnout", "body": "Hi {first_name}, the hearing is Tuesday at 6pm."}
    data.update(overrides)
    return auth.post("/sms/new", data)


def _only_mobilization(app):
    with app.app_context():
        m = db.session.scalars(select(Mobilization)).one()
        db.session.expunge(m)
        return m


def test_organizer_composes_previews_tests_and_launches(app, fake, make_user, make_person, login_as, phone_for,
                                                          bulk_people):
    user = make_user("organizer")
    bulk_people(3)
    make_person(phone=None)
    with app.app_context():  # an admin verified the organizer's own mobile for tests
        db.session.add(VerifiedNumber(user_id=user.id, phone="+13125557777"))
        db.session.commit()
    organizer = login_as(user)

    preview = organizer.client.get("/sms/preview", query_string={"body": "Hola {first_name} — ¿vienes?"}).get_json()
    assert preview["encoding"] == "UCS-2" and preview["recipients"] == 3
    assert preview["excluded"]["no_phone"] == 1 and preview["segments"] == 1 and preview["error"] is None
    assert preview["sample"] == "Hola Pat0 — ¿vienes?" and preview["non_gsm"] == ["—"]

    response = _compose(organizer)
    assert response.status_code == 302
    m = _only_mobilization(app)
    page = organizer.client.get(f"/sms/{m.id}").get_data(as_text=True)
    assert 'data-testid="recipient-count">3<' in page and "Hi Pat0, the hearing is Tuesday at 6pm." in page

    assert organizer.post(f"/sms/{m.id}/test", {"test_phone": "+13125557777"}).status_code == 302
    assert [msg.to for msg in fake.messages] == ["+13125557777"]

    assert organizer.post(f"/sms/{m.id}/launch", {}).status_code == 302
    assert len(fake.messages) == 4
    progress = organizer.client.get(f"/sms/{m.id}/progress.json").get_json()
    assert progress["total"] == 3 and progress["sent"] == 3 and progress["percent"] == 100
    assert progress["status"] == "done"
    listing = organizer.client.get("/sms/").get_data(as_text=True)
    assert "Hearing turnout" in listing and "100%" in listing


def test_the_compose_form_asks_what_language_the_text_is_in(app, make_user, login_as, make_action, bulk_people):
    action = make_action()
    bulk_people(1)
    organizer = login_as(make_user("organizer"))
    assert "The text is in" in organizer.client.get("/sms/new").get_data(as_text=True)

    preview = organizer.client.get("/sms/preview", query_string={
        "body": "Hola {first_name}", "action_id": action.id, "rsvp_prompt": "y", "text_language": "es"}).get_json()
    assert preview["sample"] == "Hola Pat0 Responde SI para confirmar."

    _compose(organizer, body="Hola {first_name}", action_id=str(action.id), rsvp_prompt="y", text_language="es")
    assert _only_mobilization(app).text_language == "es"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x" * 1601, "1600"),
        ("Hi {last_name}", "Unknown merge field: {last_name}"),
        ("See you at {action_title}", "can only be used in a text for an action"),
    ],
)
def test_bad_bodies_are_refused_with_a_clear_error(app, make_user, login_as, body, message):
    organizer = login_as(make_user("organizer"))
    response = _compose(organizer, body=body)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Mobilization.id)) is None


def test_empty_audience_and_past_schedule_queue_nothing(app, fake, make_user, login_as, bulk_people):
    organizer = login_as(make_user("organizer"))
    _compose(organizer, tag_id="")
    m = _only_mobilization(app)
    response = organizer.post(f"/sms/{m.id}/launch", {}, follow_redirects=True)
    assert "Nobody in this audience can be texted." in response.get_data(as_text=True)
    bulk_people(2)
    response = organizer.post(f"/sms/{m.id}/launch", {"schedule_at": "2020-01-01T09:00"}, follow_redirects=True)
    assert "The scheduled time has passed" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.id)) is None
        assert db.session.get(Mobilization, m.id).status is MobilizationStatus.DRAFT
    assert fake.messages == []


def test_schedule_for_later_writes_rows_and_sends_nothing_yet(app, fake, make_user, login_as, bulk_people):
    organizer = login_as(make_user("organizer"))
    bulk_people(2)
    _compose(organizer)
    m = _only_mobilization(app)
    organizer.post(f"/sms/{m.id}/launch", {"schedule_at": "2099-01-05T10:00"})
    with app.app_context():
        mobilization = db.session.get(Mobilization, m.id)
        assert mobilization.status is MobilizationStatus.SCHEDULED
        assert mobilization.scheduled_at.isoformat() == "2099-01-05T16:00:00+00:00"  # 10:00 in Chicago
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert len(rows) == 2 and {r.not_before for r in rows} == {mobilization.scheduled_at}
    assert fake.messages == []


def test_leader_texts_only_their_own_people_one_at_a_time(app, fake, make_user, login_as, make_person, phone_for):
    leader_user, other = make_user("leader"), make_user("leader")
    mine = [make_person(owner=leader_user, phone=phone_for(i), first_name=f"Mine{i}") for i in range(2)]
    make_person(owner=other, phone=phone_for(9), first_name="Theirs")
    leader = login_as(leader_user)

    _compose(leader, owner_id=str(other.id))  # ignored: a leader's audience is their own list
    m = _only_mobilization(app)
    assert m.kind is MobilizationKind.P2P
    leader.post(f"/sms/{m.id}/launch", {})
    assert fake.messages == []  # nothing goes out until the leader presses Send
    page = leader.client.get(f"/sms/{m.id}/p2p").get_data(as_text=True)
    assert "Mine0" in page and "Theirs" not in page

    leader.post(f"/sms/{m.id}/p2p", {"person_id": str(mine[0].id)})
    leader.post(f"/sms/{m.id}/p2p", {"person_id": str(mine[0].id)})  # a double click
    leader.post(f"/sms/{m.id}/p2p", {"person_id": str(mine[1].id), "skip": "y"})
    assert [msg.to for msg in fake.messages] == [phone_for(0)]
    assert "Everyone on your list has been texted." in leader.client.get(f"/sms/{m.id}/p2p").get_data(as_text=True)

    # A reply to that text lands in the leader's inbox.
    signed_post(leader.client, "/sms/inbound", {"MessageSid": "SMr1", "From": phone_for(0), "Body": "I'll be there"})
    inbox = leader.client.get("/sms/inbox").get_data(as_text=True)
    assert "Mine0" in inbox
    with app.app_context():
        assert db.session.scalars(select(Conversation)).one().assigned_to_id == leader_user.id


def test_staff_editing_a_leaders_draft_keeps_it_a_text_to_the_leaders_own_list(
        app, fake, make_user, login_as, make_person, phone_for):
    leader_user, organizer = make_user("leader"), make_user("organizer")
    make_person(owner=leader_user, phone=phone_for(1), first_name="Mine")
    make_person(phone=phone_for(2), first_name="Federation")
    _compose(login_as(leader_user))
    m = _only_mobilization(app)

    staff = login_as(organizer)
    staff.post(f"/sms/{m.id}/edit", {"title": "Fixed typo", "body": "Hi {first_name}, see you Tuesday."})
    edited = _only_mobilization(app)
    assert edited.title == "Fixed typo"
    assert edited.kind is MobilizationKind.P2P and edited.audience["owner_id"] == leader_user.id
    page = login_as(leader_user).client.get(f"/sms/{m.id}/p2p")
    assert page.status_code == 200


def test_leader_cannot_send_to_someone_elses_person(app, fake, make_user, login_as, make_person, phone_for):
    leader_user, other = make_user("leader"), make_user("leader")
    make_person(owner=leader_user, phone=phone_for(1))
    theirs = make_person(owner=other, phone=phone_for(2))
    leader = login_as(leader_user)
    _compose(leader)
    m = _only_mobilization(app)
    leader.post(f"/sms/{m.id}/launch", {})
    leader.post(f"/sms/{m.id}/p2p", {"person_id": str(theirs.id)})
    assert fake.messages == []


def test_inbox_visibility_staff_all_leaders_their_people_unknown_numbers_staff_only(
        app, client, make_user, login_as, make_person, phone_for):
    leader_user, other = make_user("leader"), make_user("leader")
    make_person(owner=leader_user, phone=phone_for(1), first_name="Mine")
    make_person(owner=other, phone=phone_for(2), first_name="Theirs")
    for n, phone in enumerate([phone_for(1), phone_for(2), phone_for(3)]):
        signed_post(client, "/sms/inbound", {"MessageSid": f"SMv{n}", "From": phone, "Body": "hello"})
    with app.app_context():
        ids = {c.phone: c.id for c in db.session.scalars(select(Conversation))}

    leader = login_as(leader_user)
    page = leader.client.get("/sms/inbox").get_data(as_text=True)
    assert "Mine" in page and "Theirs" not in page and "Unknown contact" not in page
    assert leader.client.get(f"/sms/inbox/{ids[phone_for(2)]}").status_code == 404
    assert leader.client.get(f"/sms/inbox/{ids[phone_for(3)]}").status_code == 404

    staff = login_as(make_user("organizer"))
    page = staff.client.get("/sms/inbox").get_data(as_text=True)
    assert "Mine" in page and "Theirs" in page and "Unknown contact" in page
    assert staff.client.get("/sms/inbox?show=unread").get_data(as_text=True).count("rounded-pill") == 3


def test_reply_from_a_thread_sends_a_text_without_a_mobilization(app, client, fake, make_user, login_as,
                                                                   make_person, phone_for):
    make_person(phone=phone_for(4), first_name="Rosa")
    signed_post(client, "/sms/inbound", {"MessageSid": "SMq1", "From": phone_for(4), "Body": "What time?"})
    with app.app_context():
        conversation_id = db.session.scalar(select(Conversation.id))
    staff_user = make_user("organizer")
    staff = login_as(staff_user)
    page = staff.client.get(f"/sms/inbox/{conversation_id}").get_data(as_text=True)
    assert "What time?" in page
    staff.post(f"/sms/inbox/{conversation_id}/reply", {"body": "6pm at City Hall"})
    assert [(m.to, m.body) for m in fake.messages] == [(phone_for(4), "6pm at City Hall")]
    with app.app_context():
        row = db.session.scalars(select(OutboxMessage)).one()
        assert row.mobilization_id is None and row.sent_by_id == staff_user.id
        conversation = db.session.get(Conversation, conversation_id)
        assert conversation.unread == 0 and conversation.assigned_to_id == staff_user.id
    assert "6pm at City Hall" in staff.client.get(f"/sms/inbox/{conversation_id}").get_data(as_text=True)


def test_unknown_number_can_be_matched_to_a_person(app, client, make_user, login_as, make_person, phone_for):
    person = make_person(phone=None, first_name="Lupe", last_name="Reyes")
    signed_post(client, "/sms/inbound", {"MessageSid": "SMm1", "From": phone_for(5), "Body": "Who is this?"})
    with app.app_context():
        conversation_id = db.session.scalar(select(Conversation.id))
    staff = login_as(make_user("organizer"))
    assert "Lupe Reyes" in staff.client.get(f"/sms/inbox/{conversation_id}?q=Lupe").get_data(as_text=True)
    staff.post(f"/sms/inbox/{conversation_id}/match", {"person_id": str(person.id)})
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        assert conversation.person_id == person.id and conversation.person.phone == phone_for(5)


def test_cancel_and_resume_from_the_page(app, make_user, login_as, bulk_people):
    user = make_user("organizer")
    bulk_people(2)
    organizer = login_as(user)
    _compose(organizer)
    m = _only_mobilization(app)
    with app.app_context():
        mobilization = db.session.get(Mobilization, m.id)
        mobilization.status = MobilizationStatus.PAUSED
        mobilization.paused_reason = "20|30007"
        db.session.commit()
    page = organizer.client.get(f"/sms/{m.id}").get_data(as_text=True)
    assert "Sending paused automatically." in page
    assert "20 texts in ten minutes were filtered by carriers or rate-limited (Twilio codes 30007)." in page
    assert "Texting paused:" in organizer.client.get("/").get_data(as_text=True)
    organizer.post(f"/sms/{m.id}/cancel")
    assert _only_mobilization(app).status is MobilizationStatus.CANCELED


def test_leaders_cannot_open_staff_mobilizations_or_decide_unknown_texts(app, make_user, login_as, bulk_people):
    staff = login_as(make_user("organizer"))
    bulk_people(1)
    _compose(staff)
    m = _only_mobilization(app)
    leader = login_as(make_user("leader"))
    assert leader.client.get(f"/sms/{m.id}").status_code == 404
    assert leader.client.get(f"/sms/{m.id}/progress.json").status_code == 404
    assert leader.post(f"/sms/{m.id}/launch", {}).status_code == 404
    assert leader.post("/sms/outbox/1/resend").status_code == 403


def test_audience_by_pipeline_stage(app, make_user, login_as, bulk_people):
    from organizer.auth.models import User
    from organizer.people.models import Person
    from organizer.relational.models import Stage
    from organizer.relational.services import move_person

    organizer = make_user("organizer")
    ids = bulk_people(5)
    with app.app_context():
        leader_stage = db.session.scalar(select(Stage).where(Stage.name == "Leader"))
        first_stage = db.session.scalar(select(Stage).order_by(Stage.position))
        actor = db.session.get(User, organizer.id)
        for person_id in ids[:2]:
            move_person(db.session.get(Person, person_id), leader_stage, actor, "Chairs the housing team")
        db.session.commit()
        leader_stage_id, first_stage_id = leader_stage.id, first_stage.id
    client = login_as(organizer).client
    body = {"body": "Leaders' meeting Thursday"}
    assert client.get("/sms/preview", query_string={**body, "stage_id": leader_stage_id}).get_json()["recipients"] == 2
    # People never moved are at the first stage.
    assert client.get("/sms/preview", query_string={**body, "stage_id": first_stage_id}).get_json()["recipients"] == 3
    assert 'name="stage_id"' in client.get("/sms/new").get_data(as_text=True)


def test_one_mobilization_per_language_reaches_everyone_once(app, make_user, login_as, make_person, phone_for):
    make_person(phone=phone_for(1), preferred_language="es")
    make_person(phone=phone_for(2), preferred_language="en")
    make_person(phone=phone_for(3), preferred_language=None)  # never noted: texted in English
    make_person(phone=phone_for(4), preferred_language="vi")
    client = login_as(make_user("organizer")).client
    body = {"body": "Hearing Tuesday"}

    def recipients(language):
        return client.get("/sms/preview", query_string={**body, "language": language}).get_json()["recipients"]

    assert (recipients("es"), recipients("en"), recipients("vi"), recipients("")) == (1, 2, 1, 4)
    assert "English, or not noted" in client.get("/sms/new").get_data(as_text=True)
