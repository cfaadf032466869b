"""A household's shared phone gets one text per mobilization, addressed to everyone of the
audience there ("Hi María & José"); replies land in the number's thread, which names the others
at that number for whoever may see them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from organizer.extensions import db
from organizer.sms.models import Conversation, Mobilization, OutboxMessage
from tests.sms.conftest import signed_post

pytestmark = pytest.mark.usefixtures("twilio_app", "org")

HOME = "+13125550777"


def _launch(app, staff, body: str) -> int:
    staff.post("/sms/new", {"title": "Hearing", "body": body})
    with app.app_context():
        mobilization_id = db.session.scalar(select(Mobilization.id).order_by(Mobilization.id.desc()))
    staff.post(f"/sms/{mobilization_id}/launch", {})
    return mobilization_id


def test_two_people_sharing_a_phone_get_one_text_addressed_to_both(app, client, fake, make_user, make_person,
                                                                   login_as):
    leader = make_user("leader")
    maria = make_person(owner=leader, first_name="María", last_name="López", phone=HOME)
    make_person(owner=leader, first_name="José", last_name="López", phone=HOME)
    make_person(owner=leader, first_name="Ana", phone="+13125550778")
    staff = login_as(make_user("organizer"))
    preview = staff.client.get("/sms/preview", query_string={"body": "Hi {first_name}"}).get_json()
    assert (preview["recipients"], preview["shared"], preview["excluded"]["duplicate"]) == (2, 1, 0)

    mobilization_id = _launch(app, staff, "Hi {first_name}, hearing Tuesday!")
    assert sorted((m.to, m.body) for m in fake.messages) == [
        (HOME, "Hi María & José, hearing Tuesday!"), ("+13125550778", "Hi Ana, hearing Tuesday!")]
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.phone == HOME)).all()
        assert [(r.person_id, r.mobilization_id) for r in rows] == [(maria.id, mobilization_id)]
        m = db.session.get(Mobilization, mobilization_id)
        assert (m.recipients, m.excluded_duplicate) == (2, 0)

    # José answers from the shared phone: the reply is in the number's thread, which names him.
    assert signed_post(client, "/sms/inbound", {"MessageSid": "SMh1", "From": HOME,
                                                "Body": "José here, we'll both come"}).status_code == 200
    with app.app_context():
        thread_id = db.session.scalar(select(Conversation.id).where(Conversation.phone == HOME))
    page = login_as(leader).client.get(f"/sms/inbox/{thread_id}").get_data(as_text=True)
    assert "we&#39;ll both come" in page or "we'll both come" in page
    assert 'data-testid="also-at-number"' in page and "José López" in page


def test_a_second_launch_does_not_text_the_household_again(app, fake, make_user, make_person, login_as):
    make_person(first_name="María", phone=HOME)
    make_person(first_name="José", phone=HOME)
    staff = login_as(make_user("organizer"))
    mobilization_id = _launch(app, staff, "Hi {first_name}")
    with app.app_context():
        from organizer.auth.models import User
        from organizer.sms import services

        mobilization = db.session.get(Mobilization, mobilization_id)
        actor = db.session.scalar(select(User).where(User.role == "organizer"))
        again = services.resolve_audience(actor, services.AudienceFilter.from_json(mobilization.audience),
                                          mobilization_id)
        assert (again.count, again.shared, again.duplicate) == (0, 0, 2)
    assert [m.body for m in fake.messages] == ["Hi María & José"]


def test_people_of_the_same_name_at_one_number_are_greeted_once(app, fake, make_user, make_person, login_as):
    make_person(first_name="Rosa", phone=HOME)
    make_person(first_name="ROSA", phone=HOME)
    _launch(app, login_as(make_user("organizer")), "Hi {first_name}")
    assert [m.body for m in fake.messages] == ["Hi Rosa"]
